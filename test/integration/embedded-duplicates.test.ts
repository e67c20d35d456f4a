/**
 * At-least-once delivery: every message delivered twice (one after the other, and both at once) must leave the
 * same documents as a single delivery and publish no duplicate outbound events.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jpegImage, musicLikeAudio } from '../../scripts/sample-media/sample-media.ts';
import { uploadAssetId } from '../../shared/domain/asset-id.ts';
import type { DeliveryHandler } from '../../shared/ports/bus.ts';
import { normalizeDoc, startTestRuntime, type TestRuntime } from '../support/embedded.ts';

let fixtures: string;
let files: string[];

beforeAll(async () => {
  fixtures = await mkdtemp(path.join(os.tmpdir(), 'mediaflow-fixtures-'));
  files = [
    await jpegImage('ffmpeg', path.join(fixtures, 'photo.jpg'), { width: 320, height: 240 }),
    await musicLikeAudio('ffmpeg', path.join(fixtures, 'song.m4a'), { durationSeconds: 2 }),
  ];
});
afterAll(async () => {
  await rm(fixtures, { recursive: true, force: true });
});

type Delivering = (handler: DeliveryHandler) => DeliveryHandler;
const once: Delivering = (handler) => handler;
// The same message twice, as Pub/Sub does when an ack is lost or a publisher retries.
const twiceInSequence: Delivering = (handler) => async (delivery) => {
  await handler(delivery);
  await handler(delivery);
};
const twiceAtOnce: Delivering = (handler) => async (delivery) => {
  await Promise.all([handler(delivery), handler(delivery)]);
};

interface RunResult {
  readonly docs: unknown[];
  readonly assetEventIds: string[];
  readonly stores: Record<string, number>;
}

async function run(delivering: Delivering): Promise<RunResult> {
  const runtime: TestRuntime = await startTestRuntime({ wrapHandler: (_subscription, handler) => delivering(handler) });
  try {
    const ids: string[] = [];
    for (const file of files) {
      const meta = await runtime.blobs.upload(file, { bucket: runtime.deps.config.buckets.ingest, name: path.basename(file) });
      ids.push(uploadAssetId(meta.bucket, meta.name, meta.generation));
    }
    await runtime.idle();
    const docs = await Promise.all(ids.map(async (id) => runtime.asset(id)));
    const stores: Record<string, number> = {};
    for (const collection of ['assets', 'objects', 'rejections', 'deadLetters']) stores[collection] = await runtime.store.count(collection);
    return {
      docs: docs.map((doc) => normalizeDoc({ ...doc, revision: doc?.revision })),
      assetEventIds: runtime.assetEvents.map((event) => event.attributes['ce-id']!),
      stores,
    };
  } finally {
    await runtime.dispose();
  }
}

describe('every event delivered twice', () => {
  let baseline: RunResult;
  beforeAll(async () => {
    baseline = await run(once);
  });

  it('the single-delivery baseline settles every asset READY with one outbound event each', () => {
    expect(baseline.docs.map((doc) => (doc as { status: string }).status)).toEqual(['READY', 'READY']);
    expect(baseline.assetEventIds).toHaveLength(2);
  });

  it.each([
    ['one after the other', twiceInSequence],
    ['both at once', twiceAtOnce],
  ])('%s: the final documents are the same and no outbound event is duplicated', async (_name, delivering) => {
    const duplicated = await run(delivering);
    expect(duplicated.docs).toEqual(baseline.docs);
    expect(duplicated.stores).toEqual(baseline.stores);
    expect(duplicated.assetEventIds).toHaveLength(baseline.assetEventIds.length);
    expect(new Set(duplicated.assetEventIds).size).toBe(duplicated.assetEventIds.length);
  });
});
