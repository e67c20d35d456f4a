/**
 * A reprocess's outputs go to a new folder: the thumbnail step run on a small picture with an outputVersion writes
 * every object under `<asset>/thumbnail/<version>/`, reports every URI there and tags the objects with the version,
 * and leaves the first run's objects in `<asset>/thumbnail/` untouched.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WorkOrder } from '../../events/catalog.ts';
import { thumbnailStep } from '../../functions/thumbnail/step.ts';
import { jpegImage } from '../../scripts/sample-media/sample-media.ts';
import { LocalBlobStore } from '../../shared/adapters/local/blob-store.ts';
import { loadConfig, type Config } from '../../shared/config/config.ts';
import { documentId } from '../../shared/domain/asset-id.ts';
import { DERIVATIVE_MARKER } from '../../shared/domain/ingest-request.ts';
import type { StepRunContext } from '../../shared/domain/step.ts';
import { resolveMediaTools } from '../../shared/media/tools.ts';
import { createLogger } from '../../shared/observability/log.ts';
import type { BlobMetadata } from '../../shared/ports/blob-store.ts';
import { systemClock } from '../../shared/ports/clock.ts';

const ASSET_ID = 'mediaflow-ingest/photos/small.jpg#1';
const VERSION = 'r1.20261206-3fa2c1';

let dir: string;
let config: Config;
let blobs: LocalBlobStore;
let source: WorkOrder['source'];

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'mediaflow-versioned-'));
  config = loadConfig({ MEDIAFLOW_LOG_LEVEL: 'silent' }, { dataDir: dir });
  blobs = new LocalBlobStore({ root: path.join(dir, 'buckets'), buckets: [config.buckets.ingest, config.buckets.derivatives] });
  const picture = await jpegImage('ffmpeg', path.join(dir, 'small.jpg'), { width: 320, height: 240 });
  const stored = await blobs.write({ bucket: config.buckets.ingest, name: 'photos/small.jpg' }, await readFile(picture), { contentType: 'image/jpeg' });
  source = { bucket: stored.bucket, name: stored.name, generation: stored.generation };
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function order(outputVersion?: string): WorkOrder {
  return {
    orderId: `${ASSET_ID}|thumbnail|0`,
    assetId: ASSET_ID,
    step: 'thumbnail',
    shard: { index: 0, count: 1 },
    source,
    kind: 'image',
    profile: 'default',
    params: { mode: 'image' },
    issuedAt: new Date().toISOString(),
    ...(outputVersion ? { outputVersion } : {}),
  };
}

async function run(work: WorkOrder) {
  const scratchDir = await mkdtemp(path.join(dir, 'scratch-'));
  const context: StepRunContext = {
    blobs,
    config,
    clock: systemClock,
    log: createLogger('silent'),
    mediaTools: () => resolveMediaTools({ PATH: process.env.PATH }),
    scratchDir,
    signal: AbortSignal.timeout(60_000),
    deliveryAttempt: 1,
  };
  return (await thumbnailStep.run(work, context)).outputs as { derivatives: { uri: string }[] };
}

const snapshot = (objects: readonly BlobMetadata[]) => objects.map((object) => `${object.name}@${object.generation}:${object.md5Hash}`).sort();

describe('the thumbnail step with an outputVersion', () => {
  it('writes and reports every output in the version folder and leaves the live outputs as they were', async () => {
    const stepFolder = `${documentId(ASSET_ID)}/thumbnail/`;
    const versionFolder = `${stepFolder}${VERSION}/`;

    const first = await run(order());
    const live = await blobs.list(config.buckets.derivatives);
    expect(live.length).toBeGreaterThan(0);
    expect(live.every((object) => object.name.startsWith(stepFolder) && !object.name.startsWith(versionFolder))).toBe(true);
    expect(live.every((object) => object.metadata['mediaflow-output-version'] === undefined)).toBe(true);
    expect(first.derivatives.map((derivative) => derivative.uri).every((uri) => uri.startsWith(`gs://${config.buckets.derivatives}/${stepFolder}v`))).toBe(
      true,
    );

    const again = await run(order(VERSION));
    const all = await blobs.list(config.buckets.derivatives);
    const written = all.filter((object) => !live.some((before) => before.name === object.name));
    // The same set of files, each once in the version folder.
    expect(written.map((object) => object.name).sort()).toEqual(live.map((object) => object.name.replace(stepFolder, versionFolder)).sort());
    for (const object of written) {
      expect(object.metadata).toMatchObject({ [DERIVATIVE_MARKER]: 'thumbnail', 'mediaflow-asset-id': ASSET_ID, 'mediaflow-output-version': VERSION });
    }
    expect(again.derivatives.length).toBe(first.derivatives.length);
    for (const { uri } of again.derivatives) {
      expect(uri.startsWith(`gs://${config.buckets.derivatives}/${versionFolder}`), uri).toBe(true);
      expect(
        written.some((object) => `gs://${object.bucket}/${object.name}` === uri),
        uri,
      ).toBe(true);
    }
    // Not a byte of the live outputs was rewritten.
    expect(snapshot(all.filter((object) => !object.name.startsWith(versionFolder)))).toEqual(snapshot(live));
  });
});
