/**
 * Reprocessing a READY asset, as pure decisions like the coordinator's: re-run one step and every step that
 * depends on it, beside the live outputs, and switch the asset to the new outputs only once all of them succeeded.
 *
 * The asset stays READY throughout, and its `steps` (what readers, `asset.ready` and the CLI see) keep pointing at
 * the old outputs while the run works in `asset.reprocess`. Each re-run step writes under its own output version,
 * `r<recipe>.<job>`, so nothing a reader can reach is overwritten. When the last re-run step succeeds, its state
 * and its siblings' replace the old ones in one write, and `asset.updated` is published. When one fails, the run is
 * dropped and the asset keeps its old outputs. Either way `lastReprocess` says how the job's run ended.
 */
import type { AssetUpdated, StepFailed } from '../../events/catalog.ts';
import { collectOutputs, type AssetDoc, type AssetError, type ReprocessRecord, type ReprocessRun, type StepState } from './asset.ts';
import { costOf, type CostFigures } from './cost.ts';
import {
  applyForcedFailure,
  applyStepCompleted,
  applyStepFailed,
  appendEntry,
  bump,
  emptyStep,
  eventSource,
  planContextOf,
  settledStep,
  unchanged,
  withCost,
  type Decision,
  type Emission,
  type StepOutcome,
} from './coordination.ts';
import { DEFAULT_LIMITS, enforceWorkOrderLimit, type Limits } from './limits.ts';
import { isStepSettled } from './state-machine.ts';
import { STUCK, type WatchdogPolicy } from './watchdog.ts';
import type { PlanContext, StepRegistry } from './step.ts';

/** Why a reprocess was not started on an asset; the job counts each and goes on. */
export type ReprocessRefusal =
  /** Only a READY asset is reprocessed: anything else is still in flight, or has no outputs to replace. */
  | 'NOT_READY'
  /** The step never ran for this asset (it did not apply at planning). */
  | 'NOT_IN_PLAN'
  /** Another job's reprocess is in flight on the asset. */
  | 'BUSY';

export type ReprocessStart = Decision | { readonly note: 'refused'; readonly refusal: ReprocessRefusal; readonly reason: string };

export interface ReprocessRequest {
  readonly job: string;
  readonly step: string;
  readonly by: string;
}

/** Code of a reprocess whose step, under its current recipe, no longer applies to the asset or cannot plan it. */
export const REPROCESS_UNPLANNABLE = 'REPROCESS_UNPLANNABLE';

/** Where a re-run step writes: the recipe it runs, and the job, so two jobs at the same recipe never share a folder. */
export function outputVersionOf(recipeVersion: string, job: string): string {
  return `r${recipeVersion}.${job}`;
}

/** `step` and every planned step that depends on it, directly or not, in plan order; undefined when `step` is not in the plan. */
export function rerunSteps(asset: AssetDoc, step: string): string[] | undefined {
  if (!asset.plan.includes(step)) return undefined;
  const rerun = new Set([step]);
  // Until nothing is added: the registry's order need not list a step after its dependencies.
  for (let added = true; added;) {
    added = false;
    for (const name of asset.plan) {
      if (!rerun.has(name) && asset.steps[name]?.dependsOn.some((dependency) => rerun.has(dependency))) {
        rerun.add(name);
        added = true;
      }
    }
  }
  return asset.plan.filter((name) => rerun.has(name));
}

/** The recipe version the step's live outputs were made with, as its result recorded it; null when unknown. */
export function recordedRecipe(asset: AssetDoc, step: string): string | null {
  const recipe = asset.steps[step]?.provenance?.recipeVersion;
  return typeof recipe === 'string' ? recipe : null;
}

/**
 * Starts a reprocess of `request.step` on a READY asset: plans the re-run steps again under today's recipes and
 * queues those whose dependencies are met. The same job asking twice changes nothing; a step that no longer plans
 * for the asset ends the run at once as failed, the asset untouched.
 */
export function startReprocess(asset: AssetDoc, request: ReprocessRequest, registry: StepRegistry, now: Date, limits: Limits = DEFAULT_LIMITS): ReprocessStart {
  if (asset.reprocess?.job === request.job || asset.lastReprocess?.job === request.job) return unchanged(asset, 'duplicate');
  if (asset.status !== 'READY') return refused('NOT_READY', `the asset is ${asset.status}; only a READY asset is reprocessed`);
  if (asset.reprocess)
    return refused(
      'BUSY',
      `reprocess job ${asset.reprocess.job} (step ${asset.reprocess.step}) is still running on the asset since ${asset.reprocess.startedAt.toISOString()}`,
    );
  const rerun = rerunSteps(asset, request.step);
  if (!rerun) return refused('NOT_IN_PLAN', `step ${request.step} is not in the asset's plan (${asset.plan.join(', ') || 'no steps'})`);
  // Planned as at the first run, before any step had outputs; the orders' params are built from outputs when queued.
  const context = { ...planContextOf(asset), outputs: {} };
  const versions: Record<string, string> = {};
  const steps: Record<string, StepState> = {};
  const shards = new Map<string, number>();
  for (const name of rerun) {
    const definition = registry.get(name);
    if (!definition) return failAtStart(asset, request, rerun, `step ${name} is not registered in this build`, now);
    let plan;
    try {
      plan = definition.plan(context);
    } catch (error) {
      return failAtStart(asset, request, rerun, `could not plan ${name}: ${error instanceof Error ? error.message : String(error)}`, now);
    }
    if (plan.kind === 'skip')
      return failAtStart(asset, request, rerun, `${name} no longer applies to this asset under recipe ${definition.recipeVersion}`, now);
    if (plan.kind === 'reject')
      return failAtStart(asset, request, rerun, `${name} rejects the asset under recipe ${definition.recipeVersion}: ${plan.code}: ${plan.message}`, now);
    const count = Math.max(1, Math.floor(plan.count));
    shards.set(name, count);
    versions[name] = outputVersionOf(definition.recipeVersion, request.job);
    steps[name] = emptyStep([...(asset.steps[name]?.dependsOn ?? [])], count);
  }
  try {
    enforceWorkOrderLimit(shards, limits);
  } catch (error) {
    return failAtStart(asset, request, rerun, error instanceof Error ? error.message : String(error), now);
  }
  const run: ReprocessRun = { job: request.job, step: request.step, by: request.by, startedAt: now, versions, steps };
  const recipes = rerun.map((name) => `${name} ${recordedRecipe(asset, name) ?? '?'} → ${registry.get(name)!.recipeVersion}`).join(', ');
  const started = appendEntry({ ...asset, reprocess: run }, now, {
    event: 'REPROCESS_STARTED',
    step: request.step,
    detail: `job ${request.job} by ${request.by}: ${recipes}`,
  });
  return advanceRun(started, now);
}

/** A re-run step's result: recorded on the run, the next re-run steps queued, and the switch made once all succeeded. */
export function applyReprocessCompleted(asset: AssetDoc, outcome: StepOutcome, outputVersion: string, now: Date): Decision {
  const run = asset.reprocess;
  // The run already ended (switched, or failed by another shard): this result has nothing left to change.
  if (!run || run.versions[outcome.step] !== outputVersion) return unchanged(asset, asset.lastReprocess ? 'late' : 'duplicate');
  const state = run.steps[outcome.step]!;
  if (isStepSettled(state.status)) return unchanged(asset, 'duplicate');
  if (state.status !== 'QUEUED') throw new Error(`re-run step '${outcome.step}' of ${asset.id} completed while ${state.status}`);
  const settled: StepState = { ...settledStep(outcome, state.dependsOn, state), outputVersion };
  const next = appendEntry({ ...withCost(asset, outcome.step, outcome.cost), reprocess: { ...run, steps: { ...run.steps, [outcome.step]: settled } } }, now, {
    event: 'SUCCEEDED',
    step: outcome.step,
    detail: `reprocess ${run.job}${outcome.attempt > 1 ? `, after ${outcome.attempt} attempts` : ''}`,
  });
  return advanceRun(next, now);
}

/** A re-run step failed for good: the run ends, and the asset keeps the outputs it had. */
export function applyReprocessFailed(asset: AssetDoc, failure: StepFailed, outputVersion: string, now: Date): Decision {
  const run = asset.reprocess;
  if (!run || run.versions[failure.step] !== outputVersion) return unchanged(asset, asset.lastReprocess ? 'late' : 'duplicate');
  const state = run.steps[failure.step];
  if (!state || isStepSettled(state.status)) return unchanged(asset, 'duplicate');
  const cost: CostFigures | undefined = failure.usage ? costOf(failure.step, failure.usage) : undefined;
  const error: AssetError = { step: failure.step, code: failure.error.code, message: failure.error.message, at: now };
  return endRun(withCost(asset, failure.step, cost), run, 'FAILED', error, now);
}

/** A step's result, for the first run or (with its output version) for a reprocess of it. */
export function applyCompletedOfRun(asset: AssetDoc, outcome: StepOutcome, outputVersion: string | undefined, now: Date): Decision {
  return outputVersion === undefined ? applyStepCompleted(asset, outcome, now) : applyReprocessCompleted(asset, outcome, outputVersion, now);
}

/** A step failure, for the first run or for the reprocess whose output version it carries. */
export function applyFailureOfRun(asset: AssetDoc, failure: StepFailed, now: Date): Decision {
  return failure.outputVersion === undefined ? applyStepFailed(asset, failure, now) : applyReprocessFailed(asset, failure, failure.outputVersion, now);
}

/**
 * A failure decided for a result nobody could record (a decision that threw, a dead-lettered result): the first
 * run's fails the asset whatever its document says; a reprocess's ends the run, and the asset keeps its outputs.
 */
export function applyForcedFailureOfRun(asset: AssetDoc, failure: StepFailed, now: Date): Decision {
  return failure.outputVersion === undefined ? applyForcedFailure(asset, failure, now) : applyReprocessFailed(asset, failure, failure.outputVersion, now);
}

/** The context a re-run step's orders are built from: the live outputs, with those the run has already remade in their place. */
export function reprocessContextOf(asset: AssetDoc): PlanContext {
  const context = planContextOf(asset);
  const remade: Record<string, NonNullable<StepState['outputs']>> = {};
  for (const [name, state] of Object.entries(asset.reprocess?.steps ?? {})) if (state.status === 'SUCCEEDED' && state.outputs) remade[name] = state.outputs;
  return { ...context, outputs: { ...context.outputs, ...remade } };
}

/**
 * Where a step's dependencies' outputs are, for the dependencies read by path: for a reprocess's orders
 * (`reprocessing`), the run's version of a dependency it re-runs; otherwise the version an earlier reprocess
 * recorded; nothing for outputs the first run made, which sit in the step's own folder.
 */
export function inputVersionsOf(asset: AssetDoc, step: string, reprocessing: boolean): Record<string, string> {
  const run = reprocessing ? asset.reprocess : undefined;
  const state = run?.steps[step] ?? asset.steps[step];
  const versions: Record<string, string> = {};
  for (const dependency of state?.dependsOn ?? []) {
    const version = run?.versions[dependency] ?? asset.steps[dependency]?.outputVersion;
    if (version) versions[dependency] = version;
  }
  return versions;
}

/**
 * The watchdog's decision for a run whose work went missing (a re-run step QUEUED past its lease with no result):
 * its orders are re-driven through the outbox, with the same ids, up to the policy's budget per run; past it the
 * run ends FAILED with STUCK and the asset keeps its outputs. undefined when nothing is stuck.
 */
export function applyReprocessWatchdog(asset: AssetDoc, now: Date, policy: WatchdogPolicy): Decision | undefined {
  const run = asset.reprocess;
  if (!run) return undefined;
  const stuck = Object.entries(run.steps)
    .filter(([name, state]) => state.status === 'QUEUED' && state.queuedAt !== null && now.getTime() - state.queuedAt.getTime() > policy.leaseMs(name))
    .map(([name]) => name);
  const [first] = stuck;
  if (first === undefined) return undefined;
  const redrives = (run.redrives ?? 0) + 1;
  if (redrives > policy.maxRedrives) {
    const message = `re-run step '${first}' had no result within ${Math.round(policy.leaseMs(first) / 1000)} s after ${policy.maxRedrives} re-drives by the watchdog`;
    return endRun(asset, run, 'FAILED', { step: first, code: STUCK, message, at: now }, now);
  }
  let steps = run.steps;
  let next = asset;
  for (const name of stuck) {
    steps = { ...steps, [name]: { ...steps[name]!, queuedAt: now } };
    next = appendEntry(next, now, {
      event: 'REDRIVEN',
      step: name,
      detail: `reprocess ${run.job}: no result within ${Math.round(policy.leaseMs(name) / 1000)} s`,
    });
  }
  return {
    asset: bump({ ...next, reprocess: { ...run, steps, redrives } }, now),
    emissions: stuck.map((step) => ({ kind: 'queue-step', step, outputVersion: run.versions[step]! })),
    note: 'applied',
  };
}

/** Queue every pending re-run step whose dependencies are met; switch the asset once every re-run step succeeded. */
function advanceRun(asset: AssetDoc, now: Date): Decision {
  let run = asset.reprocess!;
  let next = asset;
  const emissions: Emission[] = [];
  const met = (dependency: string): boolean => (run.steps[dependency] ?? next.steps[dependency])?.status === 'SUCCEEDED';
  for (const name of Object.keys(run.versions)) {
    const state = run.steps[name]!;
    if (state.status !== 'PENDING' || !state.dependsOn.every(met)) continue;
    run = { ...run, steps: { ...run.steps, [name]: { ...state, status: 'QUEUED', queuedAt: now } } };
    next = appendEntry({ ...next, reprocess: run }, now, { event: 'QUEUED', step: name, detail: `reprocess ${run.job}, output version ${run.versions[name]}` });
    emissions.push({ kind: 'queue-step', step: name, outputVersion: run.versions[name]! });
  }
  if (Object.values(run.steps).every((state) => state.status === 'SUCCEEDED')) return switchOutputs(next, run, now);
  return { asset: bump(next, now), emissions, note: 'applied' };
}

/** Every re-run step succeeded: their states replace the old ones in one write, and partners hear of it. */
function switchOutputs(asset: AssetDoc, run: ReprocessRun, now: Date): Decision {
  const before = asset;
  const ended = endRun({ ...asset, steps: { ...asset.steps, ...run.steps } }, run, 'SUCCEEDED', null, now);
  const [first, ...others] = Object.keys(run.versions).map((step) => ({
    step,
    recipeBefore: recordedRecipe(before, step),
    recipeAfter: recordedRecipe(ended.asset, step) ?? '',
    outputVersion: run.versions[step]!,
  }));
  if (!first) throw new Error(`reprocess ${run.job} of ${asset.id} re-ran no step`);
  const event: AssetUpdated = {
    assetId: ended.asset.id,
    source: eventSource(ended.asset),
    kind: ended.asset.kind!,
    profile: ended.asset.profile,
    steps: ended.asset.plan,
    outputs: collectOutputs(ended.asset),
    reprocess: { job: run.job, step: run.step, rerun: [first, ...others] },
    updatedAt: now.toISOString(),
  };
  return { ...ended, emissions: [{ kind: 'asset-updated', event }] };
}

function endRun(asset: AssetDoc, run: ReprocessRun, status: ReprocessRecord['status'], error: AssetError | null, now: Date): Decision {
  const rest: AssetDoc = { ...asset };
  delete rest.reprocess;
  const record: ReprocessRecord = { job: run.job, step: run.step, status, at: now, versions: run.versions, error };
  const detail =
    status === 'SUCCEEDED'
      ? `job ${run.job}: outputs of ${Object.keys(run.versions).join(', ')} replaced`
      : `job ${run.job}: ${error!.step} failed with ${error!.code}: ${error!.message}; the outputs are unchanged`;
  const next = appendEntry({ ...rest, lastReprocess: record }, now, {
    event: status === 'SUCCEEDED' ? 'REPROCESSED' : 'REPROCESS_FAILED',
    step: run.step,
    detail,
  });
  return { asset: bump(next, now), emissions: [], note: 'applied' };
}

/** A run that cannot start (a re-run step no longer plans): recorded as failed at once, the asset untouched. */
function failAtStart(asset: AssetDoc, request: ReprocessRequest, rerun: readonly string[], message: string, now: Date): Decision {
  const run: ReprocessRun = { job: request.job, step: request.step, by: request.by, startedAt: now, versions: {}, steps: {} };
  const error: AssetError = { step: request.step, code: REPROCESS_UNPLANNABLE, message: `${message} (re-run: ${rerun.join(', ')})`, at: now };
  return endRun(asset, run, 'FAILED', error, now);
}

function refused(refusal: ReprocessRefusal, reason: string): ReprocessStart {
  return { note: 'refused', refusal, reason };
}
