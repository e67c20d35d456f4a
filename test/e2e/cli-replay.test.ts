/**
 * `mediaflow dead-letters replay` as a user runs it, on the embedded runtime: the state is made in-process (a work
 * order dead-lettered by a fault injected for every attempt), then the CLI, its own process with no fault, lists,
 * dry-runs and replays it, and the asset ends READY before the command returns. A second replay changes nothing.
 */
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uploadAssetId } from '../../shared/domain/asset-id.ts';
import { ASSET_EVENTS_FILE } from '../../shared/runtime/embedded.ts';
import { mediaflow } from '../support/cli.ts';
import { startTestRuntime } from '../support/embedded.ts';
import { useImageFixture } from '../support/fixtures.ts';

const image = useImageFixture();
let out: string;
let assetId: string;

type ReplayLine = { id: string; assetId: string | null; action: string; asset: string; assetStatus: string | null; reason: string | null };

const lines = <T>(stdout: string): T[] =>
  stdout
    .trim()
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as T);

beforeAll(async () => {
  let failures = 0;
  const runtime = await startTestRuntime({
    wrapHandler: (subscription, handler) => async (delivery) => {
      if (subscription.function === 'checksum' && failures < 5) {
        failures += 1;
        throw new Error(`object store unreachable (${failures})`);
      }
      await handler(delivery);
    },
  });
  out = runtime.dataDir;
  const meta = await runtime.blobs.upload(image.path, { bucket: runtime.deps.config.buckets.ingest, name: 'photo.jpg' });
  await runtime.idle();
  assetId = uploadAssetId(meta.bucket, meta.name, meta.generation);
  expect(await runtime.asset(assetId)).toMatchObject({ status: 'FAILED', error: { step: 'checksum', code: 'RETRIES_EXHAUSTED' } });
  await runtime.close();
});
afterAll(async () => {
  await rm(out, { recursive: true, force: true });
});

const assetStatus = async (): Promise<string> => lines<{ status: string }>((await mediaflow(['status', '--json', '--out', out, assetId])).stdout)[0]!.status;

describe('mediaflow dead-letters replay', () => {
  it('needs a selection', async () => {
    const result = await mediaflow(['dead-letters', 'replay', '--out', out]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--id ID, --function F or --since T');
  });

  it('a dry run says what it would replay and changes nothing', async () => {
    const result = await mediaflow(['dead-letters', 'replay', '--function', 'checksum', '--dry-run', '--out', out]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('would replay');
    expect(result.stdout).toContain('nothing was changed');
    expect(await assetStatus()).toBe('FAILED');
  });

  it('replays the record by id, and the asset is READY when the command returns', async () => {
    const [record] = lines<{ id: string; status: string }>((await mediaflow(['dead-letters', '--json', '--out', out])).stdout);
    expect(record?.status).toBe('OPEN');
    const result = await mediaflow(['dead-letters', 'replay', '--id', record!.id, '--json', '--out', out]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(lines<ReplayLine>(result.stdout)).toEqual([
      expect.objectContaining({ id: record!.id, assetId, action: 'replayed', asset: 'reopened', assetStatus: 'READY' }),
    ]);
    expect(await assetStatus()).toBe('READY');
    const listed = await mediaflow(['dead-letters', '--out', out]);
    expect(listed.stdout).toContain('REPLAYED ×1');
    // What partners received: failed, then ready, for the same asset with distinct event ids.
    const events = lines<{ type: string; id: string; subject: string }>(await readFile(path.join(out, ASSET_EVENTS_FILE), 'utf8')).filter(
      (event) => event.subject === assetId,
    );
    expect(events.map((event) => `${event.type} ${event.id}`)).toEqual([
      `com.mediaflow.asset.failed.v1 ${assetId}/failed`,
      `com.mediaflow.asset.ready.v1 ${assetId}/ready`,
    ]);
  });

  it('a second replay is refused without --force and changes nothing', async () => {
    const result = await mediaflow(['dead-letters', 'replay', '--function', 'checksum', '--json', '--out', out]);
    expect(result.code).toBe(0);
    expect(lines<ReplayLine>(result.stdout)).toEqual([
      expect.objectContaining({ action: 'skipped', reason: expect.stringContaining('already replayed') as string }),
    ]);
    expect(await assetStatus()).toBe('READY');
  });
});
