/**
 * The coordinator's decisions, as pure functions from (asset, result) to (next asset, emissions). No I/O here:
 * functions/coordinator runs these inside a transaction and publishes the emissions through an outbox.
 */
import type { AssetFailed, AssetReady, AssetUpdated, StepCompleted, StepFailed } from '../../events/catalog.ts';
import type { ProbeSummary } from '../media/classify.ts';
import type { DocData } from '../ports/document-store.ts';
import { workOrderId } from './asset-id.ts';
import { cleanText } from './bounded.ts';
import { appendHistory, collectOutputs, type AssetDoc, type StepState } from './asset.ts';
import { addStepCost, costOf, type CostFigures } from './cost.ts';
import {
  assertReopen,
  assertTransition,
  canReopenStep,
  isStepSettled,
  isTerminal,
  rejectionCodes,
  reopenableFailureCodes,
  type AssetStatus,
} from './state-machine.ts';
import { errorMessage, isPermanent } from '../errors.ts';
import { DEFAULT_LIMITS, enforceWorkOrderLimit, type Limits } from './limits.ts';
import { probeSummaryOf } from './probe-doc.ts';
import { PROBE_STEP, toDoc, type PlanContext, type StepDefinition, type StepPlan, type StepRegistry } from './step.ts';

/** The step error schema's maxLength is 4000 characters; bytes bound it for any script. */
const STEP_ERROR_MESSAGE_BYTES = 4000;

/** Something to publish once the decision is committed. Work orders are expanded at publish time, so a step with a thousand shards is one outbox entry. */
export type Emission =
  /** outputVersion: the step is re-run by a reprocess, whose orders write under that version (shared/domain/reprocess.ts). */
  | { readonly kind: 'queue-step'; readonly step: string; readonly outputVersion?: string }
  | { readonly kind: 'asset-updated'; readonly event: AssetUpdated }
  | { readonly kind: 'asset-ready'; readonly event: AssetReady }
  | { readonly kind: 'asset-failed'; readonly event: AssetFailed };

export type DecisionNote = 'applied' | 'duplicate' | 'late';

export interface Decision {
  readonly asset: AssetDoc;
  readonly emissions: readonly Emission[];
  /** duplicate: this result was already recorded; late: the asset had already settled. Neither changes anything. */
  readonly note: DecisionNote;
}

/** A step's result, already folded over its shards for fanned-out steps. */
export interface StepOutcome {
  readonly step: string;
  readonly attempt: number;
  readonly startedAt: Date;
  readonly finishedAt: Date;
  readonly outputs: DocData;
  readonly provenance: DocData;
  /** What the run (or a sharded step's shards, summed) used, priced; absent when the result reported no usage. */
  readonly cost?: CostFigures;
}

export function outcomeOf(result: StepCompleted): StepOutcome {
  return {
    step: result.step,
    attempt: result.attempt,
    startedAt: new Date(result.startedAt),
    finishedAt: new Date(result.finishedAt),
    outputs: result.outputs as DocData,
    provenance: result.provenance,
    ...(result.usage ? { cost: costOf(result.step, result.usage) } : {}),
  };
}

/** The asset with a step's usage added to its cost: called only on a decision that applies the result, so once per result. */
export function withCost(asset: AssetDoc, step: string, cost: CostFigures | undefined): AssetDoc {
  return cost ? { ...asset, cost: addStepCost(asset.cost, step, cost) } : asset;
}

/** No change to the asset, and why: a duplicate of a decision already made, or a result too late to matter. */
export const unchanged = (asset: AssetDoc, note: DecisionNote): Decision => ({ asset, emissions: [], note });

/** A step failure the coordinator (or the dead-letter handler) decides itself, in the shape a worker would report it. */
export function stepFailure(
  assetId: string,
  step: string,
  shards: number,
  error: { code: string; message: string },
  now: Date,
  options: { attempt?: number; deadLettered?: boolean; outputVersion?: string | undefined } = {},
): StepFailed {
  return {
    orderId: workOrderId(assetId, step, 0),
    ...(options.outputVersion === undefined ? {} : { outputVersion: options.outputVersion }),
    assetId,
    step,
    shard: { index: 0, count: Math.max(1, shards) },
    attempt: Math.max(1, options.attempt ?? 1),
    failedAt: now.toISOString(),
    error: { code: error.code, message: cleanText(error.message, STEP_ERROR_MESSAGE_BYTES) },
    deadLettered: options.deadLettered ?? false,
  };
}

export function planContextOf(asset: AssetDoc): PlanContext {
  if (!asset.kind || !asset.probe) throw new Error(`asset ${asset.id} has not been probed`);
  return {
    assetId: asset.id,
    kind: asset.kind,
    profile: asset.profile,
    probe: probeSummaryOf(asset.probe),
    source: asset.source,
    outputs: collectOutputs(asset),
  };
}

/** The probe reported: record what it saw, plan the registered steps that apply, and queue the first ones. */
export function applyProbeCompleted(
  asset: AssetDoc,
  outcome: StepOutcome,
  probe: ProbeSummary,
  registry: StepRegistry,
  now: Date,
  limits: Limits = DEFAULT_LIMITS,
): Decision {
  if (asset.status !== 'RECEIVED') return unchanged(asset, isTerminal(asset.status) ? 'late' : 'duplicate');
  const context: PlanContext = { assetId: asset.id, kind: probe.kind, profile: asset.profile, probe, source: asset.source, outputs: {} };
  const planning = planSteps(context, registry, limits);
  const steps: Record<string, StepState> = { [PROBE_STEP]: settledStep(outcome, []), ...(planning.ok ? planning.steps : {}) };
  const costed = withCost(asset, PROBE_STEP, outcome.cost);
  if (!planning.ok) {
    // A step whose planning throws for this asset fails the asset with a reason, instead of failing the message forever.
    const started = transition({ ...costed, kind: probe.kind, probe: toDoc(probe), steps }, 'PROCESSING', now, {
      event: 'PLANNED',
      step: null,
      detail: `planning ${planning.step} failed`,
    });
    const failure = stepFailure(asset.id, planning.step, 1, { code: planning.code, message: planning.message }, now);
    return applyStepFailed({ ...started, steps: { ...steps, [planning.step]: emptyStep([], 1) } }, failure, now);
  }
  const plan = planning.plan;
  const probed = appendEntry({ ...costed, kind: probe.kind, probe: toDoc(probe), plan: plan.map((step) => step.name), steps }, now, {
    event: 'SUCCEEDED',
    step: PROBE_STEP,
    detail: `${probe.kind} (${probe.formatName})`,
  });
  const detail = plan.map((step) => step.name).join(', ') || 'no steps apply';
  return advance(transition(probed, 'PROCESSING', now, { event: 'PLANNED', step: null, detail }), now);
}

export function applyStepCompleted(asset: AssetDoc, outcome: StepOutcome, now: Date): Decision {
  const state = asset.steps[outcome.step];
  if (isTerminal(asset.status)) return unchanged(asset, 'late');
  if (!state) throw new Error(`asset ${asset.id} has no step '${outcome.step}' in its plan`);
  if (isStepSettled(state.status)) return unchanged(asset, 'duplicate');
  if (state.status !== 'QUEUED') throw new Error(`step '${outcome.step}' of ${asset.id} completed while ${state.status}`);
  const next = appendEntry(
    { ...withCost(asset, outcome.step, outcome.cost), steps: { ...asset.steps, [outcome.step]: settledStep(outcome, state.dependsOn, state) } },
    now,
    {
      event: 'SUCCEEDED',
      step: outcome.step,
      detail: outcome.attempt > 1 ? `after ${outcome.attempt} attempts` : null,
    },
  );
  return advance(next, now);
}

export function applyStepFailed(asset: AssetDoc, failure: StepFailed, now: Date): Decision {
  if (isTerminal(asset.status)) return unchanged(asset, 'late');
  const failedAt = new Date(failure.failedAt);
  if (failure.step === PROBE_STEP) {
    if (asset.status !== 'RECEIVED') return unchanged(asset, 'duplicate');
    const probeState: StepState = { ...emptyStep([], 1), status: 'FAILED', attempts: failure.attempt, finishedAt: failedAt, error: { ...failure.error } };
    const status: AssetStatus = rejectionCodes.has(failure.error.code) ? 'REJECTED' : 'FAILED';
    return settleAsFailed({ ...withCost(asset, PROBE_STEP, failureCost(failure)), steps: { ...asset.steps, [PROBE_STEP]: probeState } }, status, failure, now);
  }
  const state = asset.steps[failure.step];
  if (!state) throw new Error(`asset ${asset.id} has no step '${failure.step}' in its plan`);
  if (isStepSettled(state.status)) return unchanged(asset, 'duplicate');
  const failedState: StepState = {
    ...state,
    status: 'FAILED',
    attempts: Math.max(state.attempts, failure.attempt),
    finishedAt: failedAt,
    error: { ...failure.error },
  };
  return settleAsFailed(
    { ...withCost(asset, failure.step, failureCost(failure)), steps: { ...asset.steps, [failure.step]: failedState } },
    'FAILED',
    failure,
    now,
  );
}

/** A failed run's usage, priced: a permanent failure reports what the run used; a dead-lettered one reports none. */
function failureCost(failure: StepFailed): CostFigures | undefined {
  return failure.usage ? costOf(failure.step, failure.usage) : undefined;
}

/**
 * The safety net: fails the asset with `failure` whatever state its document is in (a step missing from the plan,
 * a result for a step never queued), so a decision that cannot be made still ends the asset instead of a retry
 * loop. Used when a regular decision threw, and by the dead-letter handler for a result nobody could record.
 */
export function applyForcedFailure(asset: AssetDoc, failure: StepFailed, now: Date): Decision {
  if (isTerminal(asset.status)) return unchanged(asset, 'late');
  const state = asset.steps[failure.step] ?? emptyStep([], failure.shard.count);
  const failedState: StepState = isStepSettled(state.status)
    ? state
    : { ...state, status: 'FAILED', attempts: Math.max(state.attempts, failure.attempt), finishedAt: new Date(failure.failedAt), error: { ...failure.error } };
  return settleAsFailed({ ...asset, steps: { ...asset.steps, [failure.step]: failedState } }, 'FAILED', failure, now);
}

/** An operator's replay of the dead message that failed an asset (`mediaflow dead-letters replay`). */
export interface ReplayRequest {
  /** The step the dead message was for: its work order's or result's step, or the probe for an ingest event. */
  readonly step: string;
  /** The dead-letter record replayed, named in the asset's history. */
  readonly deadLetterId: string;
  /** Who replayed it. */
  readonly by: string;
}

/** A replay's decision: re-opened (applied), already open (duplicate), already READY (late), or refused with why. */
export type ReplayDecision = Decision | { readonly note: 'refused'; readonly reason: string };

/**
 * Re-opens an asset the dead-letter path failed, before its dead message is published again. Only an asset FAILED
 * with RETRIES_EXHAUSTED at the replayed step is re-opened (shared/domain/state-machine.ts canReopen): the error is
 * cleared, the step goes back to QUEUED (the replayed message is its work), the steps the failure CANCELLED go back
 * to PENDING and are queued again once their dependencies have succeeded, and the history says which dead letter
 * was replayed, by whom, and what the failure was. An asset whose probe never succeeded goes back to RECEIVED, so the
 * replayed ingest event or probe result is taken as the first one was. From there the normal flow leads to READY
 * (or, if the replay dies too, to FAILED again). An asset already open is left as it is (another dead letter of the
 * same step replayed first); a READY one is late; any other failure is refused, since replaying would not undo it.
 */
export function applyReplay(asset: AssetDoc, replay: ReplayRequest, now: Date): ReplayDecision {
  if (asset.status === 'READY') return unchanged(asset, 'late');
  if (!isTerminal(asset.status)) return unchanged(asset, 'duplicate');
  const error = asset.error;
  if (asset.status !== 'FAILED' || !error || !reopenableFailureCodes.has(error.code)) {
    const codes = [...reopenableFailureCodes].join(', ');
    return {
      note: 'refused',
      reason: `the asset is ${asset.status}${error ? ` with ${error.code}` : ''}; a replay re-opens only an asset FAILED with ${codes}`,
    };
  }
  if (error.step !== replay.step)
    return { note: 'refused', reason: `the asset failed at step ${error.step}, not ${replay.step}: replay the dead letter of ${error.step}` };
  const entry = { event: 'REPLAYED', step: replay.step, detail: `dead letter ${replay.deadLetterId} replayed by ${replay.by} (was ${error.code})` };
  if (asset.steps[PROBE_STEP]?.status !== 'SUCCEEDED') {
    // Nothing was planned: back to where ingest leaves a new asset, with the story kept in the history.
    return {
      asset: bump(reopen({ ...asset, steps: {}, plan: [], error: null, completedAt: null }, 'RECEIVED', error.code, now, entry), now),
      emissions: [],
      note: 'applied',
    };
  }
  if (replay.step !== PROBE_STEP && !asset.plan.includes(replay.step))
    return { note: 'refused', reason: `step ${replay.step} is not in the asset's plan: nothing would take its result` };
  const steps: Record<string, StepState> = {};
  for (const [name, state] of Object.entries(asset.steps)) {
    if (name === replay.step && canReopenStep(state.status, 'QUEUED'))
      steps[name] = { ...state, status: 'QUEUED', queuedAt: now, finishedAt: null, error: null };
    else if (canReopenStep(state.status, 'PENDING')) steps[name] = { ...state, status: 'PENDING', queuedAt: null, finishedAt: null };
    else steps[name] = state;
  }
  return advance(reopen({ ...asset, steps, error: null, completedAt: null }, 'PROCESSING', error.code, now, entry), now);
}

/**
 * The decision that should follow the asset's current state, made again: for the watchdog, when an asset is
 * PROCESSING with nothing queued because the decision after a result was lost (its steps are ready to queue, or
 * all have succeeded and READY was never reached).
 */
export function reevaluate(asset: AssetDoc, now: Date): Decision {
  if (asset.status !== 'PROCESSING') return unchanged(asset, 'late');
  return advance(asset, now);
}

/** Queue every pending step whose dependencies have succeeded; settle the asset once nothing is left. */
function advance(asset: AssetDoc, now: Date): Decision {
  const emissions: Emission[] = [];
  let next = asset;
  for (const name of asset.plan) {
    const state = next.steps[name];
    if (state?.status !== 'PENDING') continue;
    if (!state.dependsOn.every((dependency) => next.steps[dependency]?.status === 'SUCCEEDED')) continue;
    next = appendEntry({ ...next, steps: { ...next.steps, [name]: { ...state, status: 'QUEUED', queuedAt: now } } }, now, {
      event: 'QUEUED',
      step: name,
      detail: state.shards > 1 ? `${state.shards} work orders` : null,
    });
    emissions.push({ kind: 'queue-step', step: name });
  }
  const allSucceeded = next.plan.every((name) => next.steps[name]?.status === 'SUCCEEDED');
  if (allSucceeded) {
    next = { ...transition(next, 'READY', now, { event: 'READY', step: null, detail: null }), completedAt: now };
    emissions.push({ kind: 'asset-ready', event: readyEvent(next, now) });
  }
  return { asset: bump(next, now), emissions, note: 'applied' };
}

function settleAsFailed(asset: AssetDoc, status: 'FAILED' | 'REJECTED', failure: StepFailed, now: Date): Decision {
  const steps: Record<string, StepState> = {};
  for (const [name, state] of Object.entries(asset.steps)) {
    steps[name] = isStepSettled(state.status) ? state : { ...state, status: 'CANCELLED', finishedAt: now };
  }
  const error = { step: failure.step, code: failure.error.code, message: failure.error.message, at: now };
  let next: AssetDoc = appendEntry({ ...asset, steps }, now, {
    event: 'FAILED',
    step: failure.step,
    detail: `${failure.error.code}: ${failure.error.message}`,
  });
  next = { ...transition(next, status, now, { event: status, step: failure.step, detail: failure.error.code }), error, completedAt: now };
  const event: AssetFailed = {
    assetId: next.id,
    source: eventSource(next),
    status,
    ...(next.kind ? { kind: next.kind } : {}),
    error: { step: error.step, code: error.code, message: error.message },
    failedAt: now.toISOString(),
  };
  return { asset: bump(next, now), emissions: [{ kind: 'asset-failed', event }], note: 'applied' };
}

type Planning =
  | { readonly ok: true; readonly plan: readonly StepDefinition[]; readonly steps: Record<string, StepState> }
  | { readonly ok: false; readonly step: string; readonly code: string; readonly message: string };

/** Code of a planning failure that did not name its own (a step's plan threw a plain Error). */
export const PLAN_FAILED = 'PLAN_FAILED';

/** A step's plan threw: the asset fails with the error's code when it has one, PLAN_FAILED otherwise. */
function planThrew(step: string, error: unknown): Planning {
  return { ok: false, step, code: isPermanent(error) ? error.code : PLAN_FAILED, message: `could not plan this step: ${errorMessage(error)}` };
}

/** The registered steps that apply, in registry order, with their shard counts and the dependencies that also apply. */
function planSteps(context: PlanContext, registry: StepRegistry, limits: Limits): Planning {
  const plan: StepDefinition[] = [];
  const shards = new Map<string, number>();
  for (const step of registry.values()) {
    let decided: StepPlan<DocData>;
    try {
      decided = step.plan(context);
      if (decided.kind === 'orders' && !Number.isFinite(decided.count)) throw new Error(`the plan counted ${String(decided.count)} work orders, not a number`);
    } catch (error) {
      return planThrew(step.name, error);
    }
    if (decided.kind === 'skip') continue;
    // Decided at planning: the step cannot be done for this asset, and it says why in its own words.
    if (decided.kind === 'reject') return { ok: false, step: step.name, code: decided.code, message: decided.message };
    shards.set(step.name, Math.max(1, Math.floor(decided.count)));
    plan.push(step);
  }
  // Checked before a single order exists: a lying duration must not become a hundred thousand messages.
  try {
    enforceWorkOrderLimit(shards, limits);
  } catch (error) {
    const widest = [...shards.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? PROBE_STEP;
    return planThrew(widest, error);
  }
  const planned = new Set(plan.map((step) => step.name));
  const steps: Record<string, StepState> = {};
  // A dependency that does not apply to this asset (say, audio analysis of a silent video) is no reason to wait.
  for (const step of plan)
    steps[step.name] = emptyStep(
      step.dependsOn.filter((name) => planned.has(name)),
      shards.get(step.name)!,
    );
  return { ok: true, plan, steps };
}

function readyEvent(asset: AssetDoc, now: Date): AssetReady {
  return {
    assetId: asset.id,
    source: eventSource(asset),
    kind: asset.kind!,
    profile: asset.profile,
    steps: asset.plan,
    outputs: collectOutputs(asset),
    readyAt: now.toISOString(),
  };
}

export function eventSource(asset: AssetDoc): AssetReady['source'] {
  const { uri, bucket, name, generation, partner, idempotencyKey, correlationId } = asset.source;
  return {
    uri,
    bucket,
    name,
    generation,
    ...(partner ? { partner } : {}),
    ...(idempotencyKey ? { idempotencyKey } : {}),
    ...(correlationId ? { correlationId } : {}),
  };
}

export function emptyStep(dependsOn: string[], shards: number): StepState {
  return {
    status: 'PENDING',
    dependsOn,
    shards,
    attempts: 0,
    queuedAt: null,
    startedAt: null,
    finishedAt: null,
    durationMs: null,
    outputs: null,
    provenance: null,
    error: null,
  };
}

export function settledStep(outcome: StepOutcome, dependsOn: string[], previous?: StepState): StepState {
  return {
    ...(previous ?? emptyStep(dependsOn, 1)),
    status: 'SUCCEEDED',
    attempts: outcome.attempt,
    startedAt: outcome.startedAt,
    finishedAt: outcome.finishedAt,
    durationMs: outcome.finishedAt.getTime() - outcome.startedAt.getTime(),
    outputs: outcome.outputs,
    provenance: outcome.provenance,
  };
}

function transition(asset: AssetDoc, to: AssetStatus, now: Date, entry: { event: string; step: string | null; detail: string | null }): AssetDoc {
  assertTransition(asset.status, to);
  return appendEntry({ ...asset, status: to }, now, entry);
}

function reopen(
  asset: AssetDoc,
  to: AssetStatus,
  failureCode: string,
  now: Date,
  entry: { event: string; step: string | null; detail: string | null },
): AssetDoc {
  assertReopen(asset.status, to, failureCode);
  return appendEntry({ ...asset, status: to }, now, entry);
}

export function appendEntry(asset: AssetDoc, now: Date, entry: { event: string; step: string | null; detail: string | null }): AssetDoc {
  return { ...asset, history: appendHistory(asset.history, { at: now, ...entry }) };
}

export function bump(asset: AssetDoc, now: Date): AssetDoc {
  return { ...asset, updatedAt: now, revision: asset.revision + 1 };
}
