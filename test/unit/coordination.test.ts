/** The coordinator's decisions as pure functions: no store, no bus, just (asset, result) → (asset, emissions). */
import { describe, expect, it } from 'vitest';
import type { StepFailed } from '../../events/catalog.ts';
import { HISTORY_LIMIT, appendHistory, newAssetDoc, type AssetDoc } from '../../shared/domain/asset.ts';
import {
  PLAN_FAILED,
  applyForcedFailure,
  applyProbeCompleted,
  applyReplay,
  applyStepCompleted,
  applyStepFailed,
  stepFailure,
  type StepOutcome,
} from '../../shared/domain/coordination.ts';
import { DEFAULT_LIMITS, LimitCode, type Limits } from '../../shared/domain/limits.ts';
import { PermanentError } from '../../shared/errors.ts';
import { createStepRegistry } from '../../shared/domain/step.ts';
import type { ProbeSummary } from '../../shared/media/classify.ts';
import { testStep } from '../support/embedded.ts';
import { uploadSource } from '../support/asset-source.ts';

const now = new Date('2026-11-22T12:00:00Z');
const noop = async () => ({ outputs: {} });
const source = uploadSource('a.mp4');
const probe = (kind: ProbeSummary['kind']): ProbeSummary => ({
  kind,
  formatName: 'mov,mp4',
  durationSeconds: 1,
  sizeBytes: 10,
  bitRate: null,
  streams: [],
  tags: {},
  warnings: [],
});
const outcome = (step: string, attempt = 1): StepOutcome => ({
  step,
  attempt,
  startedAt: now,
  finishedAt: new Date(now.getTime() + 50),
  outputs: { ok: true },
  provenance: { recipeVersion: '1', tools: {} },
});
const failure = (step: string, code: string): StepFailed => ({
  orderId: `a|${step}|0`,
  assetId: 'a',
  step,
  shard: { index: 0, count: 1 },
  attempt: 1,
  failedAt: now.toISOString(),
  error: { code, message: 'nope' },
  deadLettered: false,
});
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
    const decision = applyProbeCompleted(
      fresh(),
      outcome('probe'),
      probe('image'),
      createStepRegistry([testStep('video', noop, { appliesTo: () => false })]),
      now,
    );
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
    const broken = createStepRegistry([
      testStep('segments', noop, {
        shardCount: () => {
          throw new Error('no frame rate');
        },
      }),
    ]);
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

describe('stepFailure', () => {
  it('builds the StepFailed a worker would have reported, for shard 0', () => {
    expect(stepFailure('a', 'video', 12, { code: 'RETRIES_EXHAUSTED', message: 'gave up' }, now, { attempt: 5, deadLettered: true })).toEqual({
      orderId: 'a|video|0',
      assetId: 'a',
      step: 'video',
      shard: { index: 0, count: 12 },
      attempt: 5,
      failedAt: now.toISOString(),
      error: { code: 'RETRIES_EXHAUSTED', message: 'gave up' },
      deadLettered: true,
    });
  });

  it.each([
    [0, undefined, 1, 1],
    [-3, 0, 1, 1],
    [1, -2, 1, 1],
    [7, 3, 7, 3],
  ])('shards %d and attempt %s become count %d and attempt %d', (shards, attempt, count, expectedAttempt) => {
    const failed = stepFailure('a', 's', shards, { code: 'X', message: 'm' }, now, attempt === undefined ? {} : { attempt });
    expect(failed.shard).toEqual({ index: 0, count });
    expect(failed.attempt).toBe(expectedAttempt);
    expect(failed.deadLettered).toBe(false);
  });

  it('cleans the message and bounds it to 4000 bytes, however many characters that is', () => {
    const failed = stepFailure('a', 's', 1, { code: 'X', message: `bad\u0000\u202E${'日'.repeat(5000)}` }, now);
    expect(failed.error.message.startsWith('bad日')).toBe(true);
    expect(Buffer.byteLength(failed.error.message, 'utf8')).toBeLessThanOrEqual(4000);
    expect(failed.error.message.length).toBeLessThanOrEqual(4000);
    expect(failed.error.message.endsWith('…')).toBe(true);
  });
});

describe('applyForcedFailure', () => {
  const planned = (): AssetDoc => applyProbeCompleted(fresh(), outcome('probe'), probe('video'), registry, now).asset;
  const later = new Date(now.getTime() + 1000);

  it('fails a RECEIVED asset (a probe result nobody could record) with one asset-failed event', () => {
    const asset = fresh();
    const decision = applyForcedFailure(asset, failure('probe', 'RETRIES_EXHAUSTED'), later);
    expect(decision.note).toBe('applied');
    expect(decision.asset).toMatchObject({
      status: 'FAILED',
      error: { step: 'probe', code: 'RETRIES_EXHAUSTED', message: 'nope', at: later },
      completedAt: later,
      revision: asset.revision + 1,
    });
    expect(decision.asset.steps.probe).toMatchObject({ status: 'FAILED', error: { code: 'RETRIES_EXHAUSTED', message: 'nope' } });
    expect(decision.emissions).toHaveLength(1);
    const emission = decision.emissions[0]!;
    expect(emission.kind).toBe('asset-failed');
    expect(emission.kind === 'asset-failed' && emission.event).toMatchObject({
      assetId: 'a',
      status: 'FAILED',
      error: { step: 'probe', code: 'RETRIES_EXHAUSTED' },
      failedAt: later.toISOString(),
    });
    // Not probed yet: the event carries no kind.
    expect(emission.kind === 'asset-failed' && 'kind' in emission.event).toBe(false);
  });

  it('fails a PROCESSING asset: the step FAILED, every unsettled step CANCELLED, settled ones kept', () => {
    const afterAudio = applyStepCompleted(planned(), outcome('audio'), now).asset;
    const decision = applyForcedFailure(afterAudio, failure('video', 'RETRIES_EXHAUSTED'), later);
    expect(decision.asset.status).toBe('FAILED');
    expect(decision.asset.steps.video).toMatchObject({ status: 'FAILED', attempts: 1, finishedAt: now, error: { code: 'RETRIES_EXHAUSTED' } });
    expect(decision.asset.steps.package).toMatchObject({ status: 'CANCELLED', finishedAt: later });
    expect(decision.asset.steps.audio).toEqual(afterAudio.steps.audio);
    expect(decision.asset.steps.probe).toEqual(afterAudio.steps.probe);
    expect(decision.emissions.map((emission) => emission.kind)).toEqual(['asset-failed']);
    const event = decision.emissions[0];
    expect(event?.kind === 'asset-failed' && event.event.kind).toBe('video');
    expect(decision.asset.history.slice(-2).map((entry) => entry.event)).toEqual(['FAILED', 'FAILED']);
  });

  it('keeps the higher attempt count of the step and the failure', () => {
    const asset = planned();
    const withAttempts: AssetDoc = { ...asset, steps: { ...asset.steps, video: { ...asset.steps.video!, attempts: 4 } } };
    expect(applyForcedFailure(withAttempts, { ...failure('video', 'X'), attempt: 2 }, now).asset.steps.video?.attempts).toBe(4);
    expect(applyForcedFailure(withAttempts, { ...failure('video', 'X'), attempt: 9 }, now).asset.steps.video?.attempts).toBe(9);
  });

  it("a step missing from the plan is added as FAILED with the failure's shard count, and the asset still fails", () => {
    const asset = planned();
    const ghost = { ...failure('ghost', 'STEP_FAILED'), shard: { index: 3, count: 7 } };
    expect(() => applyStepFailed(asset, ghost, now)).toThrow(/no step 'ghost'/);
    const decision = applyForcedFailure(asset, ghost, now);
    expect(decision.asset.status).toBe('FAILED');
    expect(decision.asset.steps.ghost).toMatchObject({ status: 'FAILED', shards: 7, dependsOn: [], error: { code: 'STEP_FAILED' } });
    expect(decision.asset.plan).toEqual(asset.plan);
    expect(decision.asset.steps.video?.status).toBe('CANCELLED');
    expect(decision.asset.steps.audio?.status).toBe('CANCELLED');
    expect(decision.asset.error).toMatchObject({ step: 'ghost', code: 'STEP_FAILED' });
  });

  it('a result for a step already SUCCEEDED leaves that step as it was, but still fails the asset', () => {
    const afterVideo = applyStepCompleted(planned(), outcome('video'), now).asset;
    const decision = applyForcedFailure(afterVideo, failure('video', 'STEP_FAILED'), now);
    expect(decision.asset.steps.video).toEqual(afterVideo.steps.video);
    expect(decision.asset.status).toBe('FAILED');
    expect(decision.emissions).toHaveLength(1);
  });

  it.each(['FAILED', 'REJECTED', 'READY'] as const)('a %s asset is "late": unchanged, nothing emitted', (status) => {
    const settled: AssetDoc = { ...planned(), status };
    const decision = applyForcedFailure(settled, failure('video', 'X'), now);
    expect(decision).toEqual({ asset: settled, emissions: [], note: 'late' });
  });

  it('a second forced failure after the first is late', () => {
    const once = applyForcedFailure(planned(), failure('video', 'X'), now).asset;
    expect(applyForcedFailure(once, failure('audio', 'Y'), now)).toMatchObject({ note: 'late', emissions: [], asset: once });
  });
});

describe('planning against the work-order limit', () => {
  const sharded = (counts: Record<string, number>) =>
    createStepRegistry(Object.entries(counts).map(([name, count]) => testStep(name, noop, { shardCount: () => count })));
  const limits = (maxWorkOrdersPerAsset: number): Limits => ({ ...DEFAULT_LIMITS, maxWorkOrdersPerAsset });

  it('plans a fan-out of exactly the limit', () => {
    const decision = applyProbeCompleted(fresh(), outcome('probe'), probe('video'), sharded({ thumbs: 2, segments: 8 }), now, limits(10));
    expect(decision.asset.status).toBe('PROCESSING');
    expect(decision.asset.steps.segments?.shards).toBe(8);
    expect(decision.emissions).toEqual([
      { kind: 'queue-step', step: 'thumbs' },
      { kind: 'queue-step', step: 'segments' },
    ]);
  });

  it('refuses one order past it: TOO_MANY_WORK_ORDERS on the widest step, nothing queued', () => {
    const decision = applyProbeCompleted(fresh(), outcome('probe'), probe('video'), sharded({ thumbs: 3, segments: 8 }), now, limits(10));
    expect(decision.asset).toMatchObject({ status: 'FAILED', kind: 'video', error: { step: 'segments', code: LimitCode.TOO_MANY_WORK_ORDERS } });
    expect(decision.asset.error?.message).toBe('could not plan this step: the plan needs 11 work orders (8 for segments); the limit is 10 per asset');
    expect(decision.emissions.map((emission) => emission.kind)).toEqual(['asset-failed']);
    expect(decision.asset.steps.probe?.status).toBe('SUCCEEDED');
    expect(decision.asset.steps.segments?.status).toBe('FAILED');
    // No other step was created, so none could be queued by a later decision.
    expect(Object.keys(decision.asset.steps).sort()).toEqual(['probe', 'segments']);
  });

  it('uses DEFAULT_LIMITS when no limits are given', () => {
    expect(applyProbeCompleted(fresh(), outcome('probe'), probe('video'), sharded({ segments: 2000 }), now).asset.status).toBe('PROCESSING');
    expect(applyProbeCompleted(fresh(), outcome('probe'), probe('video'), sharded({ segments: 2001 }), now).asset.error?.code).toBe(
      LimitCode.TOO_MANY_WORK_ORDERS,
    );
  });

  it('counts only the steps that apply', () => {
    const registryWithSkipped = createStepRegistry([
      testStep('huge', noop, { appliesTo: () => false, shardCount: () => 1_000_000 }),
      testStep('small', noop, { shardCount: () => 5 }),
    ]);
    expect(applyProbeCompleted(fresh(), outcome('probe'), probe('audio'), registryWithSkipped, now, limits(5)).asset.status).toBe('PROCESSING');
  });

  it.each([
    [2.9, 2],
    [0, 1],
    [-4, 1],
  ])('a shard count of %d is planned as %d', (count, shards) => {
    expect(applyProbeCompleted(fresh(), outcome('probe'), probe('video'), sharded({ s: count }), now).asset.steps.s?.shards).toBe(shards);
  });

  it.each([Number.NaN, Number.POSITIVE_INFINITY])('a shard count of %d is a planning failure, not a work-order count', (count) => {
    const decision = applyProbeCompleted(fresh(), outcome('probe'), probe('video'), sharded({ ok: 1, s: count }), now);
    expect(decision.asset).toMatchObject({ status: 'FAILED', error: { step: 's', code: PLAN_FAILED } });
    expect(decision.asset.error?.message).not.toContain('work orders (');
    expect(decision.asset.error?.message).toContain(String(count));
  });

  it('a step whose shardCount throws a PermanentError keeps its code', () => {
    const broken = createStepRegistry([
      testStep('ok', noop),
      testStep('segments', noop, {
        shardCount: () => {
          throw new PermanentError('UNSUPPORTED_MEDIA', 'no frame rate');
        },
      }),
    ]);
    const decision = applyProbeCompleted(fresh(), outcome('probe'), probe('video'), broken, now);
    expect(decision.asset).toMatchObject({
      status: 'FAILED',
      error: { step: 'segments', code: 'UNSUPPORTED_MEDIA', message: 'could not plan this step: no frame rate' },
    });
    expect(decision.asset.steps.ok).toBeUndefined();
  });

  it('a step whose appliesTo throws a plain Error gives PLAN_FAILED; a thrown non-Error is stringified', () => {
    const byError = createStepRegistry([
      testStep('tag', noop, {
        appliesTo: () => {
          throw new TypeError('x is undefined');
        },
      }),
    ]);
    expect(applyProbeCompleted(fresh(), outcome('probe'), probe('image'), byError, now).asset.error).toMatchObject({
      step: 'tag',
      code: PLAN_FAILED,
      message: 'could not plan this step: x is undefined',
    });
    const byString = createStepRegistry([
      testStep('tag', noop, {
        shardCount: () => {
          // eslint-disable-next-line @typescript-eslint/only-throw-error -- a step that throws a non-Error is the case under test
          throw 'plain string';
        },
      }),
    ]);
    expect(applyProbeCompleted(fresh(), outcome('probe'), probe('image'), byString, now).asset.error).toMatchObject({
      code: PLAN_FAILED,
      message: 'could not plan this step: plain string',
    });
  });

  it('the first step in registry order whose planning throws is the one named', () => {
    const twoBroken = createStepRegistry([
      testStep('first', noop, {
        shardCount: () => {
          throw new Error('one');
        },
      }),
      testStep('second', noop, {
        shardCount: () => {
          throw new PermanentError('X', 'two');
        },
      }),
    ]);
    expect(applyProbeCompleted(fresh(), outcome('probe'), probe('video'), twoBroken, now).asset.error).toMatchObject({ step: 'first', code: PLAN_FAILED });
  });

  it('a planning failure on an asset that is not RECEIVED is not re-applied', () => {
    const failed = applyProbeCompleted(fresh(), outcome('probe'), probe('video'), sharded({ segments: 11 }), now, limits(10)).asset;
    expect(applyProbeCompleted(failed, outcome('probe'), probe('video'), sharded({ segments: 11 }), now, limits(10))).toMatchObject({
      note: 'late',
      emissions: [],
    });
  });
});

describe('applyReplay: an operator replays the dead message that failed the asset', () => {
  const planned = (): AssetDoc => applyProbeCompleted(fresh(), outcome('probe'), probe('video'), registry, now).asset;
  const later = new Date(now.getTime() + 60_000);
  const replay = (step: string) => ({ step, deadLetterId: 'video--mediaflow-work-video:a%2Fvideo%2F0', by: 'ops@host' });

  it('re-opens an asset FAILED with RETRIES_EXHAUSTED at a step: the step QUEUED again, the cancelled steps PENDING and queued when ready', () => {
    // video dead-lettered while audio was running: audio and package were cancelled.
    const failed = applyForcedFailure(planned(), failure('video', 'RETRIES_EXHAUSTED'), now).asset;
    expect(failed.steps.audio?.status).toBe('CANCELLED');
    const decision = applyReplay(failed, replay('video'), later);
    if (decision.note === 'refused') throw new Error(decision.reason);
    expect(decision.note).toBe('applied');
    expect(decision.asset).toMatchObject({ status: 'PROCESSING', error: null, completedAt: null, revision: failed.revision + 1 });
    // The replayed message is video's work: queued again without a new emission. audio has no dependencies: queued now.
    expect(decision.asset.steps.video).toMatchObject({ status: 'QUEUED', queuedAt: later, finishedAt: null, error: null });
    expect(decision.asset.steps.audio).toMatchObject({ status: 'QUEUED', queuedAt: later, finishedAt: null });
    expect(decision.asset.steps.package).toMatchObject({ status: 'PENDING', queuedAt: null });
    expect(decision.emissions).toEqual([{ kind: 'queue-step', step: 'audio' }]);
    const entry = decision.asset.history.find((item) => item.event === 'REPLAYED');
    expect(entry).toMatchObject({ step: 'video', at: later });
    expect(entry?.detail).toContain('ops@host');
    expect(entry?.detail).toContain('RETRIES_EXHAUSTED');
    // From there the normal flow: the replayed result, then the rest, and READY.
    const video = applyStepCompleted(decision.asset, outcome('video'), later);
    const audio = applyStepCompleted(video.asset, outcome('audio'), later);
    const done = applyStepCompleted(audio.asset, outcome('package'), later);
    expect(done.asset.status).toBe('READY');
    expect(done.emissions.map((emission) => emission.kind)).toEqual(['asset-ready']);
  });

  it('keeps the steps that had succeeded as they were', () => {
    const afterAudio = applyStepCompleted(planned(), outcome('audio'), now).asset;
    const failed = applyForcedFailure(afterAudio, failure('video', 'RETRIES_EXHAUSTED'), now).asset;
    const decision = applyReplay(failed, replay('video'), later);
    expect(decision.note).toBe('applied');
    if (decision.note === 'refused') return;
    expect(decision.asset.steps.audio).toEqual(afterAudio.steps.audio);
    expect(decision.emissions).toEqual([]);
  });

  it('takes an asset whose probe never succeeded back to RECEIVED, with no steps, for the replayed ingest event or probe result', () => {
    const failed = applyForcedFailure(fresh(), failure('probe', 'RETRIES_EXHAUSTED'), now).asset;
    const decision = applyReplay(failed, replay('probe'), later);
    expect(decision.note).toBe('applied');
    if (decision.note === 'refused') return;
    expect(decision.asset).toMatchObject({ status: 'RECEIVED', steps: {}, plan: [], error: null, completedAt: null });
    expect(decision.emissions).toEqual([]);
    // ...where the probe result is taken as the first one would have been.
    expect(applyProbeCompleted(decision.asset, outcome('probe'), probe('video'), registry, later).asset.status).toBe('PROCESSING');
  });

  it('refuses any other failure, and a step that is not the one that failed', () => {
    const permanent = applyStepFailed(planned(), failure('video', 'UNSUPPORTED_CODEC'), now).asset;
    expect(applyReplay(permanent, replay('video'), later)).toMatchObject({ note: 'refused', reason: expect.stringContaining('UNSUPPORTED_CODEC') as string });
    const exhausted = applyForcedFailure(planned(), failure('video', 'RETRIES_EXHAUSTED'), now).asset;
    expect(applyReplay(exhausted, replay('audio'), later)).toMatchObject({
      note: 'refused',
      reason: expect.stringContaining('failed at step video') as string,
    });
    const rejected = applyStepFailed(fresh(), failure('probe', 'CORRUPT_MEDIA'), now).asset;
    expect(rejected.status).toBe('REJECTED');
    expect(applyReplay(rejected, replay('probe'), later)).toMatchObject({ note: 'refused' });
  });

  it('leaves an open asset as it is (duplicate) and a READY one too (late)', () => {
    const open = planned();
    expect(applyReplay(open, replay('video'), later)).toMatchObject({ note: 'duplicate', asset: open, emissions: [] });
    const ready = applyProbeCompleted(fresh(), outcome('probe'), probe('image'), createStepRegistry([]), now).asset;
    expect(ready.status).toBe('READY');
    expect(applyReplay(ready, replay('probe'), later)).toMatchObject({ note: 'late', asset: ready, emissions: [] });
  });
});
