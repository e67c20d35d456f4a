/**
 * Fan-out and fan-in: a step split into many work orders records each shard in the results subcollection and
 * writes the asset document once, when the last shard lands, however the shards and their duplicates interleave.
 */
import { collections } from '../../shared/domain/collections.ts';
import { afterEach, describe, expect, it } from 'vitest';
import { assetPath, uploadAssetId } from '../../shared/domain/asset-id.ts';
import type { DocData } from '../../shared/ports/document-store.ts';
import { startTestRuntime, testStep, withSteps, type TestRuntime } from '../support/embedded.ts';
import { useImageFixture } from '../support/fixtures.ts';

const SHARDS = 24;
const image = useImageFixture();
let runtime: TestRuntime;

afterEach(async () => {
  await runtime.dispose();
});

const segments = testStep('segments', async (order) => ({ outputs: { index: order.shard.index, of: order.shard.count } }), {
  shardCount: () => SHARDS,
  params: (_context, index) => ({ startSeconds: index * 6 }),
  combine: (outputs: readonly DocData[]) => ({ count: outputs.length, order: outputs.map((output) => output.index ?? -1) }),
});
const packaging = testStep('package', async () => ({ outputs: { playlist: 'master.m3u8' } }), { dependsOn: ['segments'] });

describe('a step fanned out to many work orders', () => {
  it.each([
    ['once', false],
    ['with every message delivered twice, concurrently', true],
  ])('fans in %s: one asset write for the step, every shard recorded, the next step queued once', async (_name, duplicate) => {
    runtime = await startTestRuntime({
      steps: withSteps(segments, packaging),
      env: { MEDIAFLOW_EMBEDDED_CONCURRENCY: '4' },
      wrapHandler: duplicate ? (_subscription, handler) => async (delivery) => void (await Promise.all([handler(delivery), handler(delivery)])) : undefined,
    });
    const meta = await runtime.blobs.upload(image.path, { bucket: runtime.deps.config.buckets.ingest, name: 'photo.jpg' });
    await runtime.idle();
    const asset = await runtime.asset(uploadAssetId(meta.bucket, meta.name, meta.generation));
    expect(asset?.status).toBe('READY');
    expect(asset?.steps.segments).toMatchObject({ status: 'SUCCEEDED', shards: SHARDS, outputs: { count: SHARDS, order: [...Array(SHARDS).keys()] } });
    expect(asset?.steps.package?.status).toBe('SUCCEEDED');
    // created (1), probe + plan (2), checksum, segments and package each settle with one write: 5 in all.
    expect(asset?.revision).toBe(5);
    expect(await runtime.store.count(`${assetPath(asset!.id)}/results`)).toBe(SHARDS);
    expect(await runtime.store.count(collections.outbox.path(), collections.outbox.queries.ofAssetOldestFirst.query({ assetId: asset!.id }))).toBe(0);
    expect(runtime.deliveries.get('package')).toBe(duplicate ? 2 : 1);
    expect(runtime.assetEvents).toHaveLength(1);
  });
});
