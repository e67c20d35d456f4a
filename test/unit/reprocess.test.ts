/** Reprocessing a READY asset as pure decisions: which steps re-run, how the run is recorded beside the live outputs, and the switch. */
import { describe, expect, it } from 'vitest';
import { EventType, EventValidator, type StepFailed } from '../../events/catalog.ts';
import { collectOutputs, newAssetDoc, type AssetDoc } from '../../shared/domain/asset.ts';
import { applyProbeCompleted, applyStepCompleted, applyStepFailed, type Decision, type StepOutcome } from '../../shared/domain/coordination.ts';
import { ZERO_FIGURES, type CostFigures } from '../../shared/domain/cost.ts';
import { DEFAULT_LIMITS } from '../../shared/domain/limits.ts';
import {
  REPROCESS_UNPLANNABLE,
  applyReprocessCompleted,
  applyReprocessFailed,
  inputVersionsOf,
  outputVersionOf,
  recordedRecipe,
  reprocessContextOf,
  rerunSteps,
  startReprocess,
  type ReprocessStart,
} from '../../shared/domain/reprocess.ts';
import { createStepRegistry, reject, type StepRegistry } from '../../shared/domain/step.ts';
import type { DocData } from '../../shared/ports/document-store.ts';
import type { ProbeSummary } from '../../shared/media/classify.ts';
import { testStep, type TestStepOptions } from '../support/embedded.ts';
import { uploadSource } from '../support/asset-source.ts';

const ASSET_ID = 'ingest/a.mp4#1';
const now = new Date('2026-11-22T12:00:00Z');
const later = new Date('2026-11-23T08:00:00Z');
const noop = async () => ({ outputs: {} });
const source = uploadSource('a.mp4');
const probe: ProbeSummary = {
  kind: 'video',
  formatName: 'mov,mp4',
  durationSeconds: 1,
  sizeBytes: 10,
  bitRate: null,
  streams: [],
  tags: {},
  warnings: [],
};
const validator = new EventValidator(new Map());

/** A diamond a → b, a → c, b + c → d, and e on its own; every step at the given recipe version. */
function registryAt(recipe: string, options: Partial<Record<string, TestStepOptions>> = {}, leaveOut: readonly string[] = []): StepRegistry {
  const step = (name: string, dependsOn: string[] = []) => testStep(name, noop, { dependsOn, recipeVersion: recipe, ...options[name] });
  return createStepRegistry([step('a'), step('b', ['a']), step('c', ['a']), step('d', ['b', 'c']), step('e')].filter((s) => !leaveOut.includes(s.name)));
}

function outcome(step: string, made: string, provenance: DocData, cost?: CostFigures): StepOutcome {
  return {
    step,
    attempt: 1,
    startedAt: now,
    finishedAt: new Date(now.getTime() + 50),
    outputs: { step, made },
    provenance,
    ...(cost ? { cost } : {}),
  };
}
const firstRun = (step: string) => outcome(step, 'first', { recipeVersion: '1', tools: {} });
const rerun = (step: string, recipe = '2', cost?: CostFigures) => outcome(step, `again at ${recipe}`, { recipeVersion: recipe, tools: {} }, cost);

function failure(step: string, outputVersion: string, code = 'FFMPEG_FAILED'): StepFailed {
  return {
    orderId: `${ASSET_ID}|${step}|0`,
    outputVersion,
    assetId: ASSET_ID,
    step,
    shard: { index: 0, count: 1 },
    attempt: 1,
    failedAt: later.toISOString(),
    error: { code, message: 'encoder crashed' },
    deadLettered: false,
  };
}

const fresh = (): AssetDoc => newAssetDoc({ id: ASSET_ID, source, profile: 'default', previousVersion: null, now });
const planned = (): AssetDoc => applyProbeCompleted(fresh(), firstRun('probe'), probe, registryAt('1'), now).asset;

/** The diamond run to READY at recipe 1, each step in plan order; `outcomes` replaces a step's first result. */
function readyAsset(outcomes: Partial<Record<string, StepOutcome>> = {}): AssetDoc {
  let asset = planned();
  for (const step of asset.plan) asset = applyStepCompleted(asset, outcomes[step] ?? firstRun(step), now).asset;
  expect(asset.status).toBe('READY');
  return asset;
}

/** A start that was not refused: its decision. */
function started(decision: ReprocessStart): Decision {
  if (decision.note === 'refused') throw new Error(`refused: ${decision.refusal}: ${decision.reason}`);
  return decision;
}

const request = (step: string, job = 'job-1') => ({ job, step, by: 'ops@example.com' });
const start = (asset: AssetDoc, step: string, job = 'job-1', recipe = '2', registry = registryAt(recipe)): Decision =>
  started(startReprocess(asset, request(step, job), registry, later));

/** Completes the run's re-run steps, in plan order, with results at `recipe`; the decisions made, last one last. */
function completeAll(asset: AssetDoc, recipe = '2'): Decision[] {
  const decisions: Decision[] = [];
  let current = asset;
  for (const [step, version] of Object.entries(asset.reprocess!.versions)) {
    const decision = applyReprocessCompleted(current, rerun(step, recipe), version, later);
    decisions.push(decision);
    current = decision.asset;
  }
  return decisions;
}

const lastEntry = (asset: AssetDoc) => asset.history[asset.history.length - 1]!;
const events = (asset: AssetDoc) => asset.history.map((entry) => entry.event);

describe('rerunSteps', () => {
  const asset = readyAsset();

  it('plans the diamond in registry order', () => {
    expect(asset.plan).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it.each([
    { step: 'a', expected: ['a', 'b', 'c', 'd'] },
    { step: 'b', expected: ['b', 'd'] },
    { step: 'c', expected: ['c', 'd'] },
    { step: 'd', expected: ['d'] },
    { step: 'e', expected: ['e'] },
    { step: 'zz', expected: undefined },
    { step: 'probe', expected: undefined },
  ])('$step → $expected', ({ step, expected }) => {
    expect(rerunSteps(asset, step)).toEqual(expected);
  });

  it('finds every dependent when the registry lists a step before its dependencies', () => {
    const step = (name: string, dependsOn: string[] = []) => testStep(name, noop, { dependsOn, recipeVersion: '1' });
    const reversed = createStepRegistry([step('d', ['b', 'c']), step('c', ['a']), step('b', ['a']), step('a')]);
    const upsideDown = applyProbeCompleted(fresh(), firstRun('probe'), probe, reversed, now).asset;
    expect(upsideDown.plan).toEqual(['d', 'c', 'b', 'a']);
    expect(rerunSteps(upsideDown, 'a')).toEqual(['d', 'c', 'b', 'a']);
    expect(rerunSteps(upsideDown, 'b')).toEqual(['d', 'b']);
  });
});

describe('recordedRecipe and outputVersionOf', () => {
  it('reads the recipe the live outputs recorded, null when none or unknown', () => {
    const asset = readyAsset({ e: outcome('e', 'first', { tools: {} }) });
    expect(recordedRecipe(asset, 'a')).toBe('1');
    expect(recordedRecipe(asset, 'e')).toBeNull();
    expect(recordedRecipe(asset, 'zz')).toBeNull();
  });

  it('names the version after the recipe and the job', () => {
    expect(outputVersionOf('2', 'job-1')).toBe('r2.job-1');
  });
});

describe('startReprocess', () => {
  const ready = readyAsset();

  describe('refusals', () => {
    const processing = planned();
    const failed = applyStepFailed(processing, failure('a', 'unused'), now).asset;
    const busy = start(ready, 'a', 'job-1');
    it.each([
      { name: 'PROCESSING asset', asset: processing, step: 'a', refusal: 'NOT_READY', reason: /PROCESSING/ },
      { name: 'FAILED asset', asset: failed, step: 'a', refusal: 'NOT_READY', reason: /FAILED/ },
      { name: 'step not in the plan', asset: ready, step: 'zz', refusal: 'NOT_IN_PLAN', reason: /zz.*a, b, c, d, e/ },
      { name: 'the probe', asset: ready, step: 'probe', refusal: 'NOT_IN_PLAN', reason: /probe/ },
      { name: "another job's run in flight", asset: busy.asset, step: 'b', refusal: 'BUSY', reason: /job-1.*step a/ },
    ])('$name → $refusal', ({ asset, step, refusal, reason }) => {
      const decision = startReprocess(asset, request(step, 'job-2'), registryAt('2'), later);
      expect(decision).toMatchObject({ note: 'refused', refusal });
      expect(decision.note === 'refused' && decision.reason).toMatch(reason);
    });
  });

  it('the same job asking again is a duplicate, while its run is in flight and after it ended', () => {
    const inFlight = start(ready, 'a').asset;
    expect(startReprocess(inFlight, request('a'), registryAt('2'), later)).toEqual({ asset: inFlight, emissions: [], note: 'duplicate' });
    // Even asked for another step: the job already has its run on this asset.
    expect(startReprocess(inFlight, request('e'), registryAt('2'), later)).toMatchObject({ note: 'duplicate', emissions: [] });
    const switched = completeAll(inFlight).at(-1)!.asset;
    expect(switched.reprocess).toBeUndefined();
    expect(startReprocess(switched, request('a'), registryAt('2'), later)).toEqual({ asset: switched, emissions: [], note: 'duplicate' });
    const failedRun = applyReprocessFailed(inFlight, failure('a', 'r2.job-1'), 'r2.job-1', later).asset;
    expect(startReprocess(failedRun, request('a'), registryAt('2'), later)).toEqual({ asset: failedRun, emissions: [], note: 'duplicate' });
  });

  it.each([
    { step: 'a', queued: ['a'], pending: ['b', 'c', 'd'] },
    { step: 'b', queued: ['b'], pending: ['d'] },
    { step: 'c', queued: ['c'], pending: ['d'] },
    { step: 'd', queued: ['d'], pending: [] },
    { step: 'e', queued: ['e'], pending: [] },
  ])('reprocessing $step queues $queued (dependencies met), the rest wait', ({ step, queued, pending }) => {
    const decision = start(ready, step);
    expect(decision.note).toBe('applied');
    expect(decision.emissions).toEqual(queued.map((name) => ({ kind: 'queue-step', step: name, outputVersion: 'r2.job-1' })));
    const run = decision.asset.reprocess!;
    expect(run).toMatchObject({ job: 'job-1', step, by: 'ops@example.com', startedAt: later });
    expect(run.versions).toEqual(Object.fromEntries(rerunSteps(ready, step)!.map((name) => [name, 'r2.job-1'])));
    expect(Object.keys(run.versions)).toEqual(rerunSteps(ready, step));
    for (const name of queued)
      expect(run.steps[name]).toMatchObject({ status: 'QUEUED', queuedAt: later, outputs: null, dependsOn: ready.steps[name]!.dependsOn });
    for (const name of pending) expect(run.steps[name]).toMatchObject({ status: 'PENDING', queuedAt: null, outputs: null });
    expect(Object.keys(run.steps).sort()).toEqual([...queued, ...pending].sort());
  });

  it('records REPROCESS_STARTED, leaves the steps and the status alone, and bumps the revision', () => {
    const decision = start(ready, 'b');
    const asset = decision.asset;
    expect(asset.status).toBe('READY');
    expect(asset.steps).toEqual(ready.steps);
    expect(collectOutputs(asset)).toEqual(collectOutputs(ready));
    expect(asset.completedAt).toEqual(ready.completedAt);
    expect(asset.revision).toBe(ready.revision + 1);
    expect(asset.updatedAt).toEqual(later);
    const added = asset.history.slice(ready.history.length);
    expect(added.map((entry) => [entry.event, entry.step])).toEqual([
      ['REPROCESS_STARTED', 'b'],
      ['QUEUED', 'b'],
    ]);
    expect(added[0]).toMatchObject({ at: later });
    expect(added[0]!.detail).toContain('job-1');
    expect(added[0]!.detail).toContain('ops@example.com');
    expect(added[0]!.detail).toContain('b 1 → 2');
    expect(added[0]!.detail).toContain('d 1 → 2');
  });

  it('re-plans the shard counts under the current recipes', () => {
    const decision = start(ready, 'a', 'job-1', '2', registryAt('2', { c: { shardCount: () => 4 } }));
    expect(ready.steps.c!.shards).toBe(1);
    expect(decision.asset.reprocess!.steps.c!.shards).toBe(4);
    expect(decision.asset.reprocess!.steps.b!.shards).toBe(1);
  });

  describe('a re-run step that no longer plans ends the run at once, the asset untouched', () => {
    it.each([
      { name: 'skips', registry: registryAt('2', { d: { appliesTo: () => false } }), message: /d no longer applies.*recipe 2/ },
      { name: 'rejects', registry: registryAt('2', { b: { plan: () => reject('TOO_SMALL', 'too small') } }), message: /b rejects.*TOO_SMALL: too small/ },
      {
        name: 'throws',
        registry: registryAt('2', {
          c: {
            plan: () => {
              throw new Error('no frame rate');
            },
          },
        }),
        message: /could not plan c: no frame rate/,
      },
      { name: 'is not registered', registry: registryAt('2', {}, ['d']), message: /step d is not registered/ },
      {
        name: 'needs too many work orders',
        registry: registryAt('2', { c: { shardCount: () => DEFAULT_LIMITS.maxWorkOrdersPerAsset } }),
        message: /work orders/,
      },
    ])('$name', ({ registry, message }) => {
      const decision = startReprocess(ready, request('a'), registry, later);
      expect(decision.note).toBe('applied');
      const { asset, emissions } = started(decision);
      expect(emissions).toEqual([]);
      expect(asset.reprocess).toBeUndefined();
      expect(asset.status).toBe('READY');
      expect(asset.steps).toEqual(ready.steps);
      expect(asset.lastReprocess).toMatchObject({
        job: 'job-1',
        step: 'a',
        status: 'FAILED',
        at: later,
        versions: {},
        error: { step: 'a', code: REPROCESS_UNPLANNABLE, at: later },
      });
      expect(asset.lastReprocess!.error!.message).toMatch(message);
      expect(asset.lastReprocess!.error!.message).toContain('(re-run: a, b, c, d)');
      expect(lastEntry(asset)).toMatchObject({ event: 'REPROCESS_FAILED', step: 'a' });
      expect(events(asset)).not.toContain('REPROCESS_STARTED');
    });
  });
});

describe('applyReprocessCompleted', () => {
  const ready = readyAsset();
  const inFlight = start(ready, 'a').asset;

  it('records the result on the run only and queues the dependents with their version', () => {
    const decision = applyReprocessCompleted(inFlight, rerun('a'), 'r2.job-1', later);
    expect(decision.note).toBe('applied');
    expect(decision.emissions).toEqual([
      { kind: 'queue-step', step: 'b', outputVersion: 'r2.job-1' },
      { kind: 'queue-step', step: 'c', outputVersion: 'r2.job-1' },
    ]);
    const asset = decision.asset;
    expect(asset.steps).toEqual(ready.steps);
    expect(asset.status).toBe('READY');
    expect(asset.reprocess!.steps.a).toMatchObject({
      status: 'SUCCEEDED',
      outputs: { step: 'a', made: 'again at 2' },
      provenance: { recipeVersion: '2' },
      outputVersion: 'r2.job-1',
      durationMs: 50,
    });
    expect(asset.reprocess!.steps.b).toMatchObject({ status: 'QUEUED', queuedAt: later });
    expect(asset.reprocess!.steps.d).toMatchObject({ status: 'PENDING' });
    expect(asset.revision).toBe(inFlight.revision + 1);
    expect(asset.cost).toBeUndefined();
  });

  it('a repeated result is a duplicate', () => {
    const once = applyReprocessCompleted(inFlight, rerun('a'), 'r2.job-1', later).asset;
    expect(applyReprocessCompleted(once, rerun('a'), 'r2.job-1', later)).toEqual({ asset: once, emissions: [], note: 'duplicate' });
  });

  it.each([
    { name: 'another version of a re-run step', step: 'a', version: 'r2.job-0' },
    { name: 'no version (a first-run result)', step: 'a', version: '' },
    { name: 'a step the run does not re-run', step: 'e', version: 'r2.job-1' },
  ])('a result with $name is ignored', ({ step, version }) => {
    const decision = applyReprocessCompleted(inFlight, rerun(step), version, later);
    expect(decision.asset).toBe(inFlight);
    expect(decision.emissions).toEqual([]);
    expect(decision.note).not.toBe('applied');
  });

  it('adds the cost the result carries', () => {
    const cost: CostFigures = { ...ZERO_FIGURES, runs: 1, cpuSeconds: 2, usd: 0.25 };
    const asset = applyReprocessCompleted(inFlight, rerun('a', '2', cost), 'r2.job-1', later).asset;
    expect(asset.cost?.steps.a).toMatchObject({ runs: 1, cpuSeconds: 2, usd: 0.25 });
    expect(asset.cost?.total).toMatchObject({ runs: 1, usd: 0.25 });
  });

  describe('the last re-run step switches the outputs', () => {
    const decisions = completeAll(inFlight);
    const switched = decisions.at(-1)!;
    const before = decisions.at(-2)!.asset;

    it('queues d only once both b and c succeeded, and keeps the live outputs until the end', () => {
      expect(decisions.map((decision) => decision.emissions.map((emission) => (emission.kind === 'queue-step' ? emission.step : emission.kind)))).toEqual([
        ['b', 'c'],
        [],
        ['d'],
        ['asset-updated'],
      ]);
      for (const decision of decisions.slice(0, -1)) expect(decision.asset.steps).toEqual(ready.steps);
    });

    it('replaces the re-run steps with their new states, and nothing else', () => {
      const asset = switched.asset;
      for (const step of ['a', 'b', 'c']) expect(asset.steps[step]).toEqual(before.reprocess!.steps[step]);
      for (const step of ['a', 'b', 'c', 'd']) {
        expect(asset.steps[step]).toMatchObject({ status: 'SUCCEEDED', outputs: { step, made: 'again at 2' }, outputVersion: 'r2.job-1' });
      }
      expect(asset.steps.e).toEqual(ready.steps.e);
      expect(asset.steps.e!.outputVersion).toBeUndefined();
      expect(asset.steps.probe).toEqual(ready.steps.probe);
      expect(Object.keys(asset.steps).sort()).toEqual(Object.keys(ready.steps).sort());
    });

    it('ends the run as SUCCEEDED, READY all along, revision bumped', () => {
      const asset = switched.asset;
      expect(switched.note).toBe('applied');
      expect(asset.reprocess).toBeUndefined();
      expect('reprocess' in asset).toBe(false);
      expect(asset.lastReprocess).toEqual({
        job: 'job-1',
        step: 'a',
        status: 'SUCCEEDED',
        at: later,
        versions: { a: 'r2.job-1', b: 'r2.job-1', c: 'r2.job-1', d: 'r2.job-1' },
        error: null,
      });
      expect(asset.status).toBe('READY');
      expect(asset.error).toBeNull();
      expect(asset.completedAt).toEqual(ready.completedAt);
      expect(asset.revision).toBeGreaterThan(before.revision);
      expect(lastEntry(asset)).toMatchObject({ event: 'REPROCESSED', step: 'a', at: later });
      expect(events(asset).filter((event) => event === 'REPROCESSED')).toHaveLength(1);
    });

    it('emits exactly one asset-updated, valid against its schema, with the whole new set of outputs', () => {
      expect(switched.emissions).toHaveLength(1);
      const emission = switched.emissions[0]!;
      if (emission.kind !== 'asset-updated') throw new Error(`expected asset-updated, got ${emission.kind}`);
      const validation = validator.validate(EventType.assetUpdated, emission.event);
      expect(validation.ok ? [] : validation.issues).toEqual([]);
      const event = emission.event;
      expect(event).toMatchObject({ assetId: ASSET_ID, kind: 'video', profile: 'default', steps: ['a', 'b', 'c', 'd', 'e'], updatedAt: later.toISOString() });
      expect(event.source).toMatchObject({ uri: source.uri, bucket: 'ingest', name: 'a.mp4', generation: '1' });
      expect(event.outputs).toEqual(collectOutputs(switched.asset));
      expect(event.outputs.a).toEqual({ step: 'a', made: 'again at 2' });
      expect(event.outputs.e).toEqual({ step: 'e', made: 'first' });
      expect(event.reprocess).toEqual({
        job: 'job-1',
        step: 'a',
        rerun: ['a', 'b', 'c', 'd'].map((step) => ({ step, recipeBefore: '1', recipeAfter: '2', outputVersion: 'r2.job-1' })),
      });
    });

    it('a result after the switch is late', () => {
      for (const step of ['a', 'd'])
        expect(applyReprocessCompleted(switched.asset, rerun(step), 'r2.job-1', later)).toEqual({ asset: switched.asset, emissions: [], note: 'late' });
    });
  });

  it('a one-step run switches on its only result; a recipe never recorded goes out as null', () => {
    const unrecorded = readyAsset({ e: outcome('e', 'first', { tools: {} }) });
    const run = start(unrecorded, 'e', 'job-e', '7');
    expect(run.emissions).toEqual([{ kind: 'queue-step', step: 'e', outputVersion: 'r7.job-e' }]);
    const decision = applyReprocessCompleted(run.asset, rerun('e', '7'), 'r7.job-e', later);
    expect(decision.emissions).toHaveLength(1);
    const emission = decision.emissions[0]!;
    if (emission.kind !== 'asset-updated') throw new Error(`expected asset-updated, got ${emission.kind}`);
    const validation = validator.validate(EventType.assetUpdated, emission.event);
    expect(validation.ok ? [] : validation.issues).toEqual([]);
    expect(emission.event.reprocess).toEqual({
      job: 'job-e',
      step: 'e',
      rerun: [{ step: 'e', recipeBefore: null, recipeAfter: '7', outputVersion: 'r7.job-e' }],
    });
    expect(decision.asset.steps.e).toMatchObject({ outputVersion: 'r7.job-e', provenance: { recipeVersion: '7' } });
    for (const step of ['a', 'b', 'c', 'd']) expect(decision.asset.steps[step]).toEqual(unrecorded.steps[step]);
  });
});

describe('applyReprocessFailed', () => {
  const ready = readyAsset();
  const inFlight = start(ready, 'a').asset;
  const afterA = applyReprocessCompleted(inFlight, rerun('a'), 'r2.job-1', later).asset;
  const decision = applyReprocessFailed(afterA, failure('b', 'r2.job-1'), 'r2.job-1', later);

  it('drops the run and keeps the outputs the asset had', () => {
    expect(decision.note).toBe('applied');
    expect(decision.emissions).toEqual([]);
    const asset = decision.asset;
    expect(asset.reprocess).toBeUndefined();
    expect(asset.steps).toEqual(ready.steps);
    expect(collectOutputs(asset)).toEqual(collectOutputs(ready));
    expect(asset.status).toBe('READY');
    expect(asset.error).toBeNull();
    expect(asset.lastReprocess).toEqual({
      job: 'job-1',
      step: 'a',
      status: 'FAILED',
      at: later,
      versions: { a: 'r2.job-1', b: 'r2.job-1', c: 'r2.job-1', d: 'r2.job-1' },
      error: { step: 'b', code: 'FFMPEG_FAILED', message: 'encoder crashed', at: later },
    });
    expect(lastEntry(asset)).toMatchObject({ event: 'REPROCESS_FAILED', step: 'a' });
    expect(lastEntry(asset).detail).toContain('FFMPEG_FAILED');
    expect(asset.revision).toBe(afterA.revision + 1);
  });

  it('later results and failures of the other re-run steps are late', () => {
    const asset = decision.asset;
    expect(applyReprocessCompleted(asset, rerun('c'), 'r2.job-1', later)).toEqual({ asset, emissions: [], note: 'late' });
    expect(applyReprocessCompleted(asset, rerun('a'), 'r2.job-1', later)).toEqual({ asset, emissions: [], note: 'late' });
    expect(applyReprocessFailed(asset, failure('c', 'r2.job-1'), 'r2.job-1', later)).toEqual({ asset, emissions: [], note: 'late' });
    expect(applyReprocessFailed(asset, failure('b', 'r2.job-1'), 'r2.job-1', later)).toEqual({ asset, emissions: [], note: 'late' });
  });

  it('a failure of a step already succeeded in the run, or of another version, changes nothing', () => {
    expect(applyReprocessFailed(afterA, failure('a', 'r2.job-1'), 'r2.job-1', later)).toEqual({ asset: afterA, emissions: [], note: 'duplicate' });
    const other = applyReprocessFailed(afterA, failure('b', 'r2.job-0'), 'r2.job-0', later);
    expect(other.asset).toBe(afterA);
    expect(other.emissions).toEqual([]);
  });
});

describe('reprocessContextOf and inputVersionsOf', () => {
  const ready = readyAsset();
  const inFlight = start(ready, 'a').asset;
  const afterA = applyReprocessCompleted(inFlight, rerun('a'), 'r2.job-1', later).asset;

  it('the context has the live outputs, with those the run already remade in their place', () => {
    expect(reprocessContextOf(inFlight).outputs).toEqual(collectOutputs(ready));
    const outputs = reprocessContextOf(afterA).outputs;
    expect(outputs.a).toEqual({ step: 'a', made: 'again at 2' });
    // b is QUEUED in the run: its live outputs still stand.
    expect(outputs.b).toEqual({ step: 'b', made: 'first' });
    expect(outputs.e).toEqual({ step: 'e', made: 'first' });
    expect(reprocessContextOf(afterA)).toMatchObject({ assetId: ASSET_ID, kind: 'video', profile: 'default' });
  });

  it.each([
    { name: 'a step with no dependencies', step: 'a', reprocessing: true, expected: {} },
    { name: 'a re-run dependency', step: 'b', reprocessing: true, expected: { a: 'r2.job-1' } },
    { name: 're-run dependencies', step: 'd', reprocessing: true, expected: { b: 'r2.job-1', c: 'r2.job-1' } },
    { name: 'first-run dependencies, run ignored', step: 'b', reprocessing: false, expected: {} },
    { name: 'first-run dependencies, run ignored (d)', step: 'd', reprocessing: false, expected: {} },
  ])('during a run of a: $name ($step, reprocessing=$reprocessing)', ({ step, reprocessing, expected }) => {
    expect(inputVersionsOf(afterA, step, reprocessing)).toEqual(expected);
  });

  it('a dependency the run does not re-run is read where the first run left it', () => {
    const onlyB = start(ready, 'b').asset;
    expect(inputVersionsOf(onlyB, 'b', true)).toEqual({});
    expect(inputVersionsOf(onlyB, 'd', true)).toEqual({ b: 'r2.job-1' });
  });

  describe('a second reprocess after a first one switched', () => {
    const first = completeAll(inFlight).at(-1)!.asset;
    const second = start(first, 'b', 'job-2', '3');

    it('outside a run, dependencies are read at the version the first reprocess recorded', () => {
      expect(inputVersionsOf(first, 'b', false)).toEqual({ a: 'r2.job-1' });
      expect(inputVersionsOf(first, 'd', false)).toEqual({ b: 'r2.job-1', c: 'r2.job-1' });
      expect(inputVersionsOf(first, 'e', false)).toEqual({});
    });

    it('the new run reads a dependency it does not re-run at the first reprocess’s version', () => {
      expect(second.emissions).toEqual([{ kind: 'queue-step', step: 'b', outputVersion: 'r3.job-2' }]);
      expect(second.asset.reprocess!.versions).toEqual({ b: 'r3.job-2', d: 'r3.job-2' });
      expect(inputVersionsOf(second.asset, 'b', true)).toEqual({ a: 'r2.job-1' });
      expect(inputVersionsOf(second.asset, 'd', true)).toEqual({ b: 'r3.job-2', c: 'r2.job-1' });
      // Outside the run, d still reads the live b.
      expect(inputVersionsOf(second.asset, 'd', false)).toEqual({ b: 'r2.job-1', c: 'r2.job-1' });
    });

    it('its switch replaces b and d only, and says which recipes changed', () => {
      const switched = completeAll(second.asset, '3').at(-1)!;
      const asset = switched.asset;
      expect(asset.steps.a).toEqual(first.steps.a);
      expect(asset.steps.c).toEqual(first.steps.c);
      expect(asset.steps.b).toMatchObject({ outputVersion: 'r3.job-2', outputs: { step: 'b', made: 'again at 3' } });
      expect(asset.steps.d).toMatchObject({ outputVersion: 'r3.job-2' });
      expect(asset.lastReprocess).toMatchObject({ job: 'job-2', status: 'SUCCEEDED', versions: { b: 'r3.job-2', d: 'r3.job-2' } });
      const emission = switched.emissions[0]!;
      if (emission.kind !== 'asset-updated') throw new Error(`expected asset-updated, got ${emission.kind}`);
      expect(emission.event.reprocess.rerun).toEqual([
        { step: 'b', recipeBefore: '2', recipeAfter: '3', outputVersion: 'r3.job-2' },
        { step: 'd', recipeBefore: '2', recipeAfter: '3', outputVersion: 'r3.job-2' },
      ]);
      expect(inputVersionsOf(asset, 'd', false)).toEqual({ b: 'r3.job-2', c: 'r2.job-1' });
    });
  });
});
