/** The coordinator's decisions as pure functions: no store, no bus, just (asset, result) → (asset, emissions). */
import { describe, expect, it } from 'vitest';
import type { StepFailed } from '../../events/catalog.ts';
import { HISTORY_LIMIT, appendHistory, newAssetDoc, type AssetDoc, type AssetSource } from '../../shared/domain/asset.ts';
import { applyProbeCompleted, applyStepCompleted, applyStepFailed, type StepOutcome } from '../../shared/domain/coordination.ts';
import { createStepRegistry } from '../../shared/domain/step.ts';
import type { ProbeSummary } from '../../shared/media/classify.ts';
import { testStep } from '../support/embedded.ts';

const now = new Date('2026-11-22T12:00:00Z');
const noop = async () => ({ outputs: {} });
const source: AssetSource = {
  uri: 'gs://ingest/a.mp4', bucket: 'ingest', name: 'a.mp4', generation: '1', size: 10, contentType: null, md5Hash: null,
  via: 'pubsub-notification', partner: null, idempotencyKey: null, correlationId: null, metadata: {},
};
const probe = (kind: ProbeSummary['kind']): ProbeSummary => ({ kind, formatName: 'mov,mp4', durationSeconds: 1, sizeBytes: 10, bitRate: null, streams: [], tags: {}, warnings: [] });
const outcome = (step: string, attempt = 1): StepOutcome => ({ step, attempt, startedAt: now, finishedAt: new Date(now.getTime() + 50), outputs: { ok: true }, provenance: { recipeVersion: '1', tools: {} } });
const failure = (step: string, code: string): StepFailed => ({ orderId: `a|${step}|0`, assetId: 'a', step, shard: { index: 0, count: 1 }, attempt: 1, failedAt: now.toISOString(), error: { code, message: 'nope' }, deadLettered: false });
const fresh = (): AssetDoc => newAssetDoc({ id: 'a', source, profile: 'default', previousVersion: null, now });

const registry = createStepRegistry([
  testStep('audio', noop, { appliesTo: (context) => context.kind !== 'image' }),
  testStep('video', noop, { appliesTo: (context) => context.kind === 'video' }),
  testStep('package', noop, { dependsOn: ['video', 'audio'] }),
]);

describe('planning on probe', () => {
  it('plans the applicable steps, drops dependencies that do not apply, and queues what is ready', () => {
    const decision = applyProbeCompleted(fresh(), outcome('probe'), probe('audio'), registry, now);
    expect(decision.asset.status).toBe('PROCESSING');
    expect(decision.asset.plan).toEqual(['audio', 'package']);
    expect(decision.asset.steps.package).toMatchObject({ status: 'PENDING', dependsOn: ['audio'] });
    expect(decision.emissions).toEqual([{ kind: 'queue-step', step: 'audio' }]);
  });

  it('an asset no step applies to is READY at once, with its ready event', () => {
    const decision = applyProbeCompleted(fresh(), outcome('probe'), probe('image'), createStepRegistry([testStep('video', noop, { appliesTo: () => false })]), now);
    expect(decision.asset.status).toBe('READY');
    expect(decision.emissions.map((emission) => emission.kind)).toEqual(['asset-ready']);
  });

  it('a second probe result is a duplicate and changes nothing', () => {
    const planned = applyProbeCompleted(fresh(), outcome('probe'), probe('video'), registry, now).asset;
    expect(applyProbeCompleted(planned, outcome('probe'), probe('video'), registry, now)).toMatchObject({ note: 'duplicate', emissions: [], asset: planned });
  });
});

describe('step results', () => {
  const planned = (): AssetDoc => applyProbeCompleted(fresh(), outcome('probe'), probe('video'), registry, now).asset;

  it('queues a step once all its dependencies succeeded, then settles READY with the outputs', () => {
    const afterVideo = applyStepCompleted(planned(), outcome('video'), now);
    expect(afterVideo.emissions).toEqual([]);
    const afterAudio = applyStepCompleted(afterVideo.asset, outcome('audio', 3), now);
    expect(afterAudio.emissions).toEqual([{ kind: 'queue-step', step: 'package' }]);
    expect(afterAudio.asset.steps.audio).toMatchObject({ status: 'SUCCEEDED', attempts: 3, durationMs: 50 });
    const done = applyStepCompleted(afterAudio.asset, outcome('package'), now);
    expect(done.asset.status).toBe('READY');
    const ready = done.emissions[0];
    expect(ready?.kind === 'asset-ready' && ready.event.outputs).toEqual({ video: { ok: true }, audio: { ok: true }, package: { ok: true } });
  });

  it('a duplicate completion is recognised and emits nothing', () => {
    const once = applyStepCompleted(planned(), outcome('video'), now).asset;
    expect(applyStepCompleted(once, outcome('video'), now)).toMatchObject({ note: 'duplicate', emissions: [] });
  });

  it('a failure fails the asset, cancels the rest, and a late result afterwards changes nothing', () => {
    const failed = applyStepFailed(planned(), failure('video', 'UNSUPPORTED_CODEC'), now);
    expect(failed.asset).toMatchObject({ status: 'FAILED', error: { step: 'video', code: 'UNSUPPORTED_CODEC', message: 'nope' } });
    expect(failed.asset.steps.audio?.status).toBe('CANCELLED');
    expect(failed.asset.steps.package?.status).toBe('CANCELLED');
    expect(failed.emissions.map((emission) => emission.kind)).toEqual(['asset-failed']);
    expect(applyStepCompleted(failed.asset, outcome('audio'), now)).toMatchObject({ note: 'late', emissions: [] });
    expect(applyStepFailed(failed.asset, failure('audio', 'X'), now)).toMatchObject({ note: 'late', emissions: [] });
  });
});

describe('a step whose planning throws', () => {
  it('fails the asset with PLAN_FAILED naming the step, instead of failing the message forever', () => {
    const broken = createStepRegistry([testStep('segments', noop, { shardCount: () => { throw new Error('no frame rate'); } })]);
    const decision = applyProbeCompleted(fresh(), outcome('probe'), probe('video'), broken, now);
    expect(decision.asset).toMatchObject({ status: 'FAILED', error: { step: 'segments', code: 'PLAN_FAILED' } });
    expect(decision.asset.error?.message).toContain('no frame rate');
    expect(decision.emissions.map((emission) => emission.kind)).toEqual(['asset-failed']);
  });
});

describe('probe failures', () => {
  it.each([
    ['EMPTY_OBJECT', 'REJECTED'],
    ['UNSUPPORTED_MEDIA', 'REJECTED'],
    ['CORRUPT_MEDIA', 'REJECTED'],
    ['INTEGRITY_MISMATCH', 'REJECTED'],
    ['SOURCE_NOT_FOUND', 'FAILED'],
    ['RETRIES_EXHAUSTED', 'FAILED'],
  ])('%s makes the asset %s', (code, status) => {
    const decision = applyStepFailed(fresh(), failure('probe', code), now);
    expect(decision.asset.status).toBe(status);
    expect(decision.asset.steps.probe).toMatchObject({ status: 'FAILED', error: { code } });
    const event = decision.emissions[0];
    expect(event?.kind === 'asset-failed' && event.event.status).toBe(status);
  });
});

describe('history', () => {
  it(`keeps the newest ${HISTORY_LIMIT} entries`, () => {
    let history = fresh().history;
    for (let index = 0; index < HISTORY_LIMIT + 20; index += 1) history = appendHistory(history, { at: now, event: `e${index}`, step: null, detail: null });
    expect(history).toHaveLength(HISTORY_LIMIT);
    expect(history.at(-1)?.event).toBe(`e${HISTORY_LIMIT + 19}`);
  });
});
