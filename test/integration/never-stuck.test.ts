/**
 * No stuck assets by construction: whatever fails in the coordinator or in ingest, and however often, every asset
 * ends READY, FAILED or REJECTED. The dead-letter handler fails the asset of any message that ran out of attempts,
 * with the last error read from the right record, and creates the asset a dead upload notification never got.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { EventType } from '../../events/catalog.ts';
import { partnerAssetId, uploadAssetId } from '../../shared/domain/asset-id.ts';
import type { AssetDoc } from '../../shared/domain/asset.ts';
import { isTerminal } from '../../shared/domain/state-machine.ts';
import type { DeliveryHandler } from '../../shared/ports/bus.ts';
import type { Deps } from '../../shared/runtime/deps.ts';
import { faultyDeps, seededRandom, type FaultPlan } from '../support/faults.ts';
import { startTestRuntime, testStep, withSteps, type TestRuntime } from '../support/embedded.ts';
import { useImageFixture } from '../support/fixtures.ts';

const image = useImageFixture();
let runtime: TestRuntime | undefined;

afterEach(async () => {
  await runtime?.dispose();
  runtime = undefined;
});

type DeadLetter = { sourceSubscription: string; eventId: string; lastError: string | null };

function terminalEvents(rt: TestRuntime, assetId: string): string[] {
  return rt.assetEvents.filter((event) => event.attributes['ce-subject'] === assetId).map((event) => event.attributes['ce-type']!);
}

/** Distinct terminal events: a publish whose outbox delete failed is sent again with the same ce-id, which consumers dedupe on. */
function distinctTerminalEvents(rt: TestRuntime, assetId: string): string[] {
  return [
    ...new Set(
      rt.assetEvents
        .filter((event) => event.attributes['ce-subject'] === assetId)
        .map((event) => `${event.attributes['ce-type']} ${event.attributes['ce-id']}`),
    ),
  ];
}

/** A store whose transactions always fail, for one function: that function can never register or decide anything. */
function brokenStore(deps: Deps): Deps {
  const store = deps.store;
  return {
    ...deps,
    store: {
      get: (path) => store.get(path),
      create: (path, data) => store.create(path, data),
      set: (path, data) => store.set(path, data),
      delete: (path) => store.delete(path),
      list: (collection, query) => store.list(collection, query),
      count: (collection, query) => store.count(collection, query),
      runTransaction: () => Promise.reject(new Error('Firestore: 14 UNAVAILABLE (injected)')),
      close: () => store.close(),
    },
  };
}

describe('a dead-lettered upload notification', () => {
  it('creates the asset ingest never made, FAILED with the last error, and emits asset.failed once', async () => {
    runtime = await startTestRuntime({ wrapDeps: (fn, deps) => (fn === 'ingest' ? brokenStore(deps) : deps) });
    const meta = await runtime.blobs.upload(image.path, { bucket: runtime.deps.config.buckets.ingest, name: 'photo.jpg' });
    await runtime.idle();
    const id = uploadAssetId(meta.bucket, meta.name, meta.generation);
    const asset = await runtime.asset(id);
    expect(asset).toMatchObject({ status: 'FAILED', error: { step: 'probe', code: 'RETRIES_EXHAUSTED' } });
    expect(asset?.error?.message).toContain('14 UNAVAILABLE (injected)');
    expect(terminalEvents(runtime, id)).toEqual([EventType.assetFailed]);
    const dead = await runtime.store.list<DeadLetter>('deadLetters');
    expect(dead.map((record) => record.data)).toEqual([expect.objectContaining({ eventId: id, lastError: expect.stringContaining('injected') as string })]);
  });
});

describe('a dead-lettered bare partner payload', () => {
  it('finds its last error by the payload, though the dead-letter copy has a new message id', async () => {
    runtime = await startTestRuntime({ wrapDeps: (fn, deps) => (fn === 'ingest' ? brokenStore(deps) : deps) });
    await runtime.blobs.upload(image.path, { bucket: 'partner-drop', name: 'p.jpg' });
    const request = { partner: 'acme', idempotencyKey: 'bare-1', source: { uri: 'gs://partner-drop/p.jpg' } };
    const firstId = await runtime.bus.publish(runtime.deps.config.topics.ingestRequests, { data: Buffer.from(JSON.stringify(request)), attributes: {} });
    await runtime.idle();
    const dead = await runtime.store.list<DeadLetter>('deadLetters');
    expect(dead).toHaveLength(1);
    expect(dead[0]!.data).toMatchObject({ eventId: firstId, lastError: expect.stringContaining('14 UNAVAILABLE (injected)') as string });
    const asset = await runtime.asset(partnerAssetId('acme', 'bare-1'));
    expect(asset).toMatchObject({ status: 'FAILED', error: { code: 'RETRIES_EXHAUSTED' } });
    expect(asset?.error?.message).toContain('injected');
  });
});

describe('a step result the coordinator can never take', () => {
  /** A coordinator bug that shows on one kind of result only: every delivery of it throws. */
  function failOn(step: string, type: string): (subscription: { function: string }, handler: DeliveryHandler) => DeliveryHandler {
    return (subscription, handler) => async (delivery) => {
      const data = JSON.parse(delivery.data.toString('utf8')) as { step?: string };
      if (subscription.function === 'coordinator' && delivery.attributes['ce-type'] === type && data.step === step) throw new Error('coordinator bug');
      await handler(delivery);
    };
  }

  it.each([
    ['the probe result', 'probe', 'RECEIVED'],
    ['a step’s result', 'checksum', 'PROCESSING'],
  ])('%s: the dead-letter handler fails the asset (from %s) and asset.failed is published once', async (_case, step) => {
    runtime = await startTestRuntime({ wrapHandler: failOn(step, EventType.stepCompleted) });
    const meta = await runtime.blobs.upload(image.path, { bucket: runtime.deps.config.buckets.ingest, name: 'photo.jpg' });
    await runtime.idle();
    const id = uploadAssetId(meta.bucket, meta.name, meta.generation);
    const asset = await runtime.asset(id);
    expect(asset).toMatchObject({ status: 'FAILED', error: { step, code: 'RETRIES_EXHAUSTED' } });
    expect(asset?.steps[step]).toMatchObject({ status: 'FAILED' });
    expect(terminalEvents(runtime, id)).toEqual([EventType.assetFailed]);
  });
});

describe('random faults in every coordinator path', () => {
  const ASSETS = 8;
  const FAULT_PROBABILITY = 0.15;

  it.each([1, 2, 3])('seed %i: every asset ends terminal, with at most one distinct terminal event', async (seed) => {
    const plan: FaultPlan = { random: seededRandom(seed), probability: FAULT_PROBABILITY, injected: new Map() };
    // Three shards exercise the fan-in's records; checksum a plain single order.
    const sharded = testStep('sharded', async (order) => ({ outputs: { shard: order.shard.index } }), { shardCount: () => 3 });
    runtime = await startTestRuntime({ steps: withSteps(sharded), wrapDeps: (fn, deps) => (fn === 'coordinator' ? faultyDeps(deps, plan) : deps) });
    const ids: string[] = [];
    for (let index = 0; index < ASSETS; index += 1) {
      const meta = await runtime.blobs.upload(image.path, { bucket: runtime.deps.config.buckets.ingest, name: `photo-${index}.jpg` });
      ids.push(uploadAssetId(meta.bucket, meta.name, meta.generation));
    }
    await runtime.idle();
    const assets = await Promise.all(ids.map((id) => runtime!.asset(id)));
    expect(assets.map((asset) => (asset ? isTerminal(asset.status) : false))).toEqual(ids.map(() => true));
    for (const id of ids) expect(distinctTerminalEvents(runtime, id).length).toBeLessThanOrEqual(1);
    // The faults really were in play, on the paths this is about.
    expect([...plan.injected.values()].reduce((sum, count) => sum + count, 0)).toBeGreaterThan(10);
    expect(plan.injected.get('store.runTransaction') ?? 0).toBeGreaterThan(0);
    expect(plan.injected.get('bus.publish') ?? 0).toBeGreaterThan(0);
    const settled = assets.filter((asset): asset is AssetDoc => asset !== undefined);
    expect(settled.filter((asset) => asset.status === 'READY').length + settled.filter((asset) => asset.status === 'FAILED').length).toBe(ASSETS);
  });
});
