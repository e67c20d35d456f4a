/**
 * Dead-letter replay on the embedded runtime: a message dead-lettered by a fault injected for every delivery attempt
 * is replayed once the fault is healed, and its asset goes from FAILED (RETRIES_EXHAUSTED) back to READY through the
 * state machine, with the replay in its history. Replaying twice changes nothing more; a dry run changes nothing.
 * One case per kind of dead message: a work order, a step result, an upload notification.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { EventType } from '../../events/catalog.ts';
import type { DeadLetterRecord } from '../../functions/deadletter/record.ts';
import { replayDeadLetters, type ReplayOptions, type ReplaySelection } from '../../functions/deadletter/replay.ts';
import { partnerAssetId, uploadAssetId } from '../../shared/domain/asset-id.ts';
import { PermanentError } from '../../shared/errors.ts';
import type { DeliveryHandler, SubscriptionSpec } from '../../shared/ports/bus.ts';
import type { Deps } from '../../shared/runtime/deps.ts';
import { startTestRuntime, testStep, withSteps, type TestRuntime } from '../support/embedded.ts';
import { useImageFixture } from '../support/fixtures.ts';

const image = useImageFixture();
let runtime: TestRuntime | undefined;

afterEach(async () => {
  await runtime?.dispose();
  runtime = undefined;
});

const replay: ReplayOptions = { dryRun: false, force: false, by: 'ops@test' };

async function upload(rt: TestRuntime, name = 'photo.jpg'): Promise<string> {
  const meta = await rt.blobs.upload(image.path, { bucket: rt.deps.config.buckets.ingest, name });
  await rt.idle();
  return uploadAssetId(meta.bucket, meta.name, meta.generation);
}

async function replayAndSettle(rt: TestRuntime, selection: ReplaySelection, options: Partial<ReplayOptions> = {}) {
  const results = await replayDeadLetters({ store: rt.store, bus: rt.bus, clock: rt.deps.clock }, selection, { ...replay, ...options });
  await rt.idle();
  return results;
}

async function deadLetters(rt: TestRuntime): Promise<{ id: string; data: DeadLetterRecord }[]> {
  return rt.store.list<DeadLetterRecord>('deadLetters');
}

/** Terminal events of the asset, as `type id` strings, in the order they were published. */
function terminalEvents(rt: TestRuntime, assetId: string): string[] {
  return rt.assetEvents
    .filter((event) => event.attributes['ce-subject'] === assetId)
    .map((event) => `${event.attributes['ce-type']} ${event.attributes['ce-id']}`);
}

/** A fault in one function for its first `times` deliveries of a matching message, then healed. */
function faultFor(
  fn: string,
  times: number,
  matches: (delivery: Parameters<DeliveryHandler>[0]) => boolean = () => true,
): (subscription: SubscriptionSpec & { function: string }, handler: DeliveryHandler) => DeliveryHandler {
  let failures = 0;
  return (subscription, handler) => async (delivery) => {
    if (subscription.function === fn && matches(delivery) && failures < times) {
      failures += 1;
      throw new Error(`injected fault ${failures} in ${fn}`);
    }
    await handler(delivery);
  };
}

describe('a dead work order, replayed once the fault is healed', () => {
  it('brings the asset from FAILED back to READY, with the replay in its history and on the record', async () => {
    let runs = 0;
    // Fails every attempt Pub/Sub makes (5 by default), then works: the fault is healed before the replay.
    const flaky = testStep('flaky', async () => {
      runs += 1;
      if (runs <= 5) throw new Error(`disk full (run ${runs})`);
      return { outputs: { runs } };
    });
    const after = testStep('after-flaky', async () => ({ outputs: { done: true } }), { dependsOn: ['flaky'] });
    runtime = await startTestRuntime({ steps: withSteps(flaky, after) });
    const maxAttempts = runtime.deps.config.retry.maxDeliveryAttempts;
    expect(maxAttempts).toBe(5);
    const id = await upload(runtime);

    const failed = await runtime.asset(id);
    expect(failed).toMatchObject({ status: 'FAILED', error: { step: 'flaky', code: 'RETRIES_EXHAUSTED' } });
    expect(failed?.steps['after-flaky']?.status).toBe('CANCELLED');
    const [record] = await deadLetters(runtime);
    expect(record?.data).toMatchObject({
      status: 'OPEN',
      assetId: id,
      step: 'flaky',
      topic: 'mediaflow-work-flaky',
      payloadComplete: true,
      payloadEncoding: 'utf8',
      notReplayable: null,
      replayCount: 0,
    });
    expect(JSON.parse(record!.data.originalAttributes!)).toMatchObject({ 'ce-type': 'com.mediaflow.work.flaky.requested.v1', 'ce-subject': id });
    expect(JSON.parse(record!.data.originalAttributes!)).not.toHaveProperty('CloudPubSubDeadLetterSourceSubscription');

    // A dry run says what it would do and changes nothing.
    const dry = await replayAndSettle(runtime, { function: 'flaky' }, { dryRun: true });
    expect(dry).toEqual([expect.objectContaining({ id: record!.id, action: 'would replay', asset: 'reopened', messageId: null })]);
    expect(await runtime.asset(id)).toEqual(failed);
    expect((await deadLetters(runtime))[0]!.data).toEqual(record!.data);
    expect(runtime.deliveries.get('flaky')).toBe(maxAttempts);

    const results = await replayAndSettle(runtime, { function: 'flaky' });
    expect(results).toEqual([expect.objectContaining({ id: record!.id, assetId: id, step: 'flaky', action: 'replayed', asset: 'reopened' })]);
    const ready = await runtime.asset(id);
    expect(ready).toMatchObject({ status: 'READY', error: null });
    expect(ready?.steps.flaky).toMatchObject({ status: 'SUCCEEDED', outputs: { runs: 6 } });
    expect(ready?.steps['after-flaky']).toMatchObject({ status: 'SUCCEEDED' });
    const replayed = ready!.history.find((entry) => entry.event === 'REPLAYED');
    expect(replayed).toMatchObject({ step: 'flaky' });
    expect(replayed?.detail).toContain(record!.id);
    expect(replayed?.detail).toContain('ops@test');
    expect(replayed?.detail).toContain('RETRIES_EXHAUSTED');
    // The history tells it in order: failed, re-opened by the replay, then ready.
    const events = ready!.history.map((entry) => entry.event);
    expect(events.lastIndexOf('FAILED')).toBeLessThan(events.indexOf('REPLAYED'));
    expect(events.indexOf('REPLAYED')).toBeLessThan(events.lastIndexOf('READY'));
    // Partners saw failed, then ready, with distinct ids.
    expect(terminalEvents(runtime, id)).toEqual([`${EventType.assetFailed} ${id}/failed`, `${EventType.assetReady} ${id}/ready`]);
    const [after1] = await deadLetters(runtime);
    expect(after1!.data).toMatchObject({
      status: 'REPLAYED',
      replayCount: 1,
      replays: [{ by: 'ops@test', messageId: results[0]!.messageId, reopened: true, forced: false }],
    });

    // Replaying twice changes nothing more: refused without --force; with it, republished and ignored by the READY asset.
    const again = await replayAndSettle(runtime, { id: record!.id });
    expect(again).toEqual([expect.objectContaining({ action: 'skipped', reason: expect.stringContaining('already replayed') as string })]);
    const forced = await replayAndSettle(runtime, { id: record!.id }, { force: true });
    expect(forced).toEqual([expect.objectContaining({ action: 'replayed', asset: 'ready' })]);
    expect(await runtime.asset(id)).toEqual(ready);
    expect(terminalEvents(runtime, id)).toHaveLength(2);
    expect((await deadLetters(runtime))[0]!.data).toMatchObject({ status: 'REPLAYED', replayCount: 2 });
  });

  it('a replay that dies too fails the asset again, with the same failed event id, and opens its record for another replay', async () => {
    let runs = 0;
    const flaky = testStep('flaky', async () => {
      runs += 1;
      if (runs <= 10) throw new Error(`still broken (run ${runs})`);
      return { outputs: { runs } };
    });
    runtime = await startTestRuntime({ steps: withSteps(flaky) });
    const id = await upload(runtime);
    expect(await runtime.asset(id)).toMatchObject({ status: 'FAILED', error: { code: 'RETRIES_EXHAUSTED' } });

    await replayAndSettle(runtime, { function: 'flaky' });
    expect(await runtime.asset(id)).toMatchObject({ status: 'FAILED', error: { step: 'flaky', code: 'RETRIES_EXHAUSTED' } });
    const records = await deadLetters(runtime);
    expect(records).toHaveLength(1);
    expect(records[0]!.data).toMatchObject({ status: 'OPEN', replayCount: 1, lastError: 'still broken (run 10)' });
    expect(new Set(terminalEvents(runtime, id))).toEqual(new Set([`${EventType.assetFailed} ${id}/failed`]));

    await replayAndSettle(runtime, { function: 'flaky' });
    expect(await runtime.asset(id)).toMatchObject({ status: 'READY', steps: { flaky: { status: 'SUCCEEDED', outputs: { runs: 11 } } } });
    expect((await runtime.asset(id))!.history.filter((entry) => entry.event === 'REPLAYED')).toHaveLength(2);
    expect(terminalEvents(runtime, id).at(-1)).toBe(`${EventType.assetReady} ${id}/ready`);
  });
});

describe('a dead step result, replayed once the coordinator is healed', () => {
  it('re-opens the asset and the coordinator takes the result it could not take before', async () => {
    const isChecksumResult = (delivery: Parameters<DeliveryHandler>[0]): boolean =>
      delivery.attributes['ce-type'] === EventType.stepCompleted && (JSON.parse(delivery.data.toString('utf8')) as { step?: string }).step === 'checksum';
    runtime = await startTestRuntime({ wrapHandler: faultFor('coordinator', 5, isChecksumResult) });
    const id = await upload(runtime);
    expect(await runtime.asset(id)).toMatchObject({ status: 'FAILED', error: { step: 'checksum', code: 'RETRIES_EXHAUSTED' } });
    const records = await deadLetters(runtime);
    expect(records.map((record) => record.data)).toEqual([expect.objectContaining({ topic: 'mediaflow-step-results', assetId: id, step: 'checksum' })]);

    const results = await replayAndSettle(runtime, { function: 'coordinator' });
    expect(results).toEqual([expect.objectContaining({ action: 'replayed', asset: 'reopened' })]);
    const asset = await runtime.asset(id);
    expect(asset).toMatchObject({ status: 'READY', steps: { checksum: { status: 'SUCCEEDED' } } });
    expect(asset!.history.some((entry) => entry.event === 'REPLAYED' && entry.step === 'checksum')).toBe(true);
    expect(terminalEvents(runtime, id)).toEqual([`${EventType.assetFailed} ${id}/failed`, `${EventType.assetReady} ${id}/ready`]);
  });
});

/** Ingest's transactions fail while `state.broken`: it can never register an asset, and its messages die. */
function ingestBrokenWhile(state: { broken: boolean }): (fn: string, deps: Deps) => Deps {
  return (fn, deps) =>
    fn !== 'ingest'
      ? deps
      : {
          ...deps,
          store: {
            get: (path) => deps.store.get(path),
            create: (path, data) => deps.store.create(path, data),
            set: (path, data) => deps.store.set(path, data),
            delete: (path) => deps.store.delete(path),
            list: (collection, query) => deps.store.list(collection, query),
            count: (collection, query) => deps.store.count(collection, query),
            close: () => deps.store.close(),
            runTransaction: (work) => (state.broken ? Promise.reject(new Error('Firestore: 14 UNAVAILABLE (injected)')) : deps.store.runTransaction(work)),
          },
        };
}

describe('a dead upload notification, replayed once ingest is healed', () => {
  it('takes the asset the dead-letter handler created FAILED back to RECEIVED, and ingest probes it to READY', async () => {
    const ingest = { broken: true };
    runtime = await startTestRuntime({ wrapDeps: ingestBrokenWhile(ingest) });
    const id = await upload(runtime);
    const failed = await runtime.asset(id);
    expect(failed).toMatchObject({ status: 'FAILED', error: { step: 'probe', code: 'RETRIES_EXHAUSTED' } });
    const [record] = await deadLetters(runtime);
    expect(record?.data).toMatchObject({ topic: 'mediaflow-uploads', assetId: id, step: 'probe', notReplayable: null });

    ingest.broken = false;
    const results = await replayAndSettle(runtime, { since: new Date(0) });
    expect(results).toEqual([expect.objectContaining({ action: 'replayed', asset: 'reopened' })]);
    const asset = await runtime.asset(id);
    expect(asset).toMatchObject({ status: 'READY', kind: 'image', error: null, steps: { probe: { status: 'SUCCEEDED' }, checksum: { status: 'SUCCEEDED' } } });
    const events = asset!.history.map((entry) => entry.event);
    expect(events.slice(0, 1)).toEqual(['RECEIVED']);
    expect(events.indexOf('REPLAYED')).toBeGreaterThan(events.indexOf('FAILED'));
    expect(terminalEvents(runtime, id)).toEqual([`${EventType.assetFailed} ${id}/failed`, `${EventType.assetReady} ${id}/ready`]);
  });
});

describe('a dead partner ingest event (bare JSON), replayed once ingest is healed', () => {
  it('pins the source generation the dead-letter handler could not read, and the asset ends READY', async () => {
    const ingest = { broken: true };
    runtime = await startTestRuntime({ wrapDeps: ingestBrokenWhile(ingest) });
    const meta = await runtime.blobs.upload(image.path, { bucket: 'partner-drop', name: 'p.jpg' });
    const request = { partner: 'acme', idempotencyKey: 'bare-1', source: { uri: 'gs://partner-drop/p.jpg' } };
    await runtime.bus.publish(runtime.deps.config.topics.ingestRequests, { data: Buffer.from(JSON.stringify(request)), attributes: {} });
    await runtime.idle();
    const id = partnerAssetId('acme', 'bare-1');
    expect(await runtime.asset(id)).toMatchObject({ status: 'FAILED', error: { step: 'probe', code: 'RETRIES_EXHAUSTED' }, source: { generation: '0' } });

    ingest.broken = false;
    expect(await replayAndSettle(runtime, { function: 'ingest' })).toEqual([expect.objectContaining({ assetId: id, action: 'replayed', asset: 'reopened' })]);
    const asset = await runtime.asset(id);
    expect(asset).toMatchObject({ status: 'READY', source: { generation: meta.generation } });
    expect(asset!.history.some((entry) => entry.event === 'NOTE' && entry.detail === `source pinned at generation ${meta.generation}`)).toBe(true);
  });
});

describe('what a replay refuses', () => {
  it('a dead step failure is recorded as not replayable, and skipped with that reason', async () => {
    const refuses = testStep('refuses', async () => {
      throw new PermanentError('UNSUPPORTED_CODEC', 'no');
    });
    const isFailure = (delivery: Parameters<DeliveryHandler>[0]): boolean => delivery.attributes['ce-type'] === EventType.stepFailed;
    runtime = await startTestRuntime({ steps: withSteps(refuses), wrapHandler: faultFor('coordinator', 5, isFailure) });
    const id = await upload(runtime);
    const failed = await runtime.asset(id);
    expect(failed).toMatchObject({ status: 'FAILED', error: { step: 'refuses', code: 'RETRIES_EXHAUSTED' } });
    const [record] = await deadLetters(runtime);
    expect(record?.data.notReplayable).toContain('a step failure');
    const results = await replayAndSettle(runtime, { function: 'coordinator' });
    expect(results).toEqual([expect.objectContaining({ action: 'skipped', reason: expect.stringContaining('a step failure') as string })]);
    expect(await runtime.asset(id)).toEqual(failed);
  });

  it('a record naming another step than the one that failed the asset, or without its whole message, is skipped with why', async () => {
    const refuses = testStep('refuses', async () => {
      throw new Error('transient at first');
    });
    runtime = await startTestRuntime({ steps: withSteps(refuses) });
    const id = await upload(runtime);
    expect(await runtime.asset(id)).toMatchObject({ status: 'FAILED', error: { code: 'RETRIES_EXHAUSTED' } });
    // An operator-visible refusal: a record that names another step of the asset is refused with the step to replay.
    const [record] = await deadLetters(runtime);
    await runtime.store.set(`deadLetters/${record!.id}`, { ...record!.data, step: 'checksum' });
    const results = await replayAndSettle(runtime, { id: record!.id });
    expect(results).toEqual([expect.objectContaining({ action: 'skipped', reason: expect.stringContaining('replay the dead letter of refuses') as string })]);
    expect(await runtime.asset(id)).toMatchObject({ status: 'FAILED' });
    // A record that does not hold its message whole says so.
    await runtime.store.set(`deadLetters/${record!.id}`, { ...record!.data, payloadComplete: false, payloadBytes: 300_000 });
    expect(await replayAndSettle(runtime, { id: record!.id })).toEqual([
      expect.objectContaining({ action: 'skipped', reason: expect.stringContaining('300000 bytes') as string }),
    ]);
  });
});
