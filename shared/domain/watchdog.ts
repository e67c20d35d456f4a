/**
 * The watchdog's decisions, pure like the coordinator's: given an asset document and the time, is any of its work
 * lost, and what to do about it. Redelivery is Pub/Sub's job; the watchdog is for what redelivery cannot bring
 * back (a message lost in transit, an emulator that strands a push, a decision whose publish never happened). So a
 * step counts as stuck only once every attempt Pub/Sub would have made is surely over: its lease is all delivery
 * attempts at the full ack deadline and the longest backoff, plus a margin.
 */
import type { StepFailed } from '../../events/catalog.ts';
import { workOrderId } from './asset-id.ts';
import { appendHistory, type AssetDoc, type StepState, type WatchdogRecord } from './asset.ts';
import { applyForcedFailure, reevaluate, type Decision } from './coordination.ts';

/** Code of an asset the watchdog gave up on: work went missing more often than the budget allows. */
export const STUCK = 'STUCK';

export interface WatchdogPolicy {
  /** How long a step may stay QUEUED with no result before its work counts as lost. */
  leaseMs(step: string): number;
  /** Re-drives allowed per asset; the next stuck step past it fails the asset `STUCK`. */
  readonly maxRedrives: number;
}

export interface RetryShape {
  readonly maxDeliveryAttempts: number;
  readonly maximumBackoffSeconds: number;
}

/** All of Pub/Sub's attempts at the full deadline with the longest backoff between them, plus the margin. */
export function stepLeaseMs(ackDeadlineSeconds: number, retry: RetryShape, marginMs: number): number {
  return retry.maxDeliveryAttempts * (ackDeadlineSeconds + retry.maximumBackoffSeconds) * 1000 + marginMs;
}

export type Finding =
  | { readonly kind: 'healthy' }
  /** QUEUED past their lease with no result. */
  | { readonly kind: 'stuck'; readonly steps: readonly string[] }
  /** PROCESSING with nothing queued: a step whose dependencies succeeded was never queued, or the end was never reached. */
  | { readonly kind: 'idle' };

export function inspect(asset: AssetDoc, now: Date, policy: WatchdogPolicy): Finding {
  if (asset.status !== 'PROCESSING') return { kind: 'healthy' };
  const queued = Object.entries(asset.steps).filter(([, state]) => state.status === 'QUEUED');
  if (queued.length === 0) return { kind: 'idle' };
  const stuck = queued.filter(([name, state]) => isPastLease(state, now, policy.leaseMs(name))).map(([name]) => name);
  return stuck.length > 0 ? { kind: 'stuck', steps: stuck.sort() } : { kind: 'healthy' };
}

function isPastLease(state: StepState, now: Date, leaseMs: number): boolean {
  return state.queuedAt !== null && now.getTime() - state.queuedAt.getTime() > leaseMs;
}

/**
 * Re-drives lost work through the outbox (the same `queue-step` emissions the coordinator stages, so the orders and
 * their ids are the same ones), or fails the asset `STUCK` once its budget is spent. Running it twice at once is
 * safe: each runs in a transaction on a fresh read, and a re-driven step's new `queuedAt` is no longer past its lease.
 */
export function applyWatchdog(asset: AssetDoc, now: Date, policy: WatchdogPolicy): Decision | undefined {
  const finding = inspect(asset, now, policy);
  if (finding.kind === 'healthy') return undefined;
  const record: WatchdogRecord = { redrives: (asset.watchdog?.redrives ?? 0) + 1, lastAt: now };
  if (finding.kind === 'idle') {
    // Nothing was lost in transit: the decision that should have followed a result was. Make it again.
    const decision = reevaluate(asset, now);
    if (decision.emissions.length > 0) return { ...decision, asset: { ...decision.asset, watchdog: record } };
    // Nothing to queue and not finished: no decision can move this asset, so it must not stay PROCESSING.
    const waiting = asset.plan.find((name) => asset.steps[name]?.status === 'PENDING') ?? asset.plan[0] ?? 'watchdog';
    return applyForcedFailure(asset, stuckFailure(asset, waiting, `PROCESSING with nothing queued, and step '${waiting}' cannot be queued`, now), now);
  }
  const [first] = finding.steps;
  if (record.redrives > policy.maxRedrives) {
    const message = `step '${first!}' had no result within ${seconds(policy.leaseMs(first!))} s after ${policy.maxRedrives} re-drive${policy.maxRedrives === 1 ? '' : 's'} by the watchdog`;
    return applyForcedFailure(asset, stuckFailure(asset, first!, message, now), now);
  }
  const steps = { ...asset.steps };
  let history = asset.history;
  for (const name of finding.steps) {
    steps[name] = { ...steps[name]!, queuedAt: now };
    history = appendHistory(history, { at: now, event: 'REDRIVEN', step: name, detail: `no result within ${seconds(policy.leaseMs(name))} s` });
  }
  const next: AssetDoc = { ...asset, steps, history, watchdog: record, updatedAt: now, revision: asset.revision + 1 };
  return { asset: next, emissions: finding.steps.map((step) => ({ kind: 'queue-step', step })), note: 'applied' };
}

function stuckFailure(asset: AssetDoc, step: string, message: string, now: Date): StepFailed {
  const state = asset.steps[step];
  return {
    orderId: workOrderId(asset.id, step, 0),
    assetId: asset.id,
    step,
    shard: { index: 0, count: state?.shards ?? 1 },
    attempt: Math.max(1, state?.attempts ?? 1),
    error: { code: STUCK, message },
    failedAt: now.toISOString(),
    deadLettered: false,
  };
}

function seconds(ms: number): number {
  return Math.round(ms / 1000);
}
