/**
 * One pass of the watchdog over the document store: outbox entries nobody flushed, then PROCESSING assets whose
 * work went missing. Each repair is a decision in a transaction on a fresh read (shared/domain/watchdog.ts), staged
 * in the outbox and published like the coordinator's own, so two sweeps at once, or a sweep racing a late result,
 * change an asset at most once.
 */
import { ackDeadlineSeconds } from '../../shared/runtime/ack-deadline.ts';
import type { AssetDoc } from '../../shared/domain/asset.ts';
import { collections } from '../../shared/domain/collections.ts';
import { unchanged } from '../../shared/domain/coordination.ts';
import { applyReprocessWatchdog } from '../../shared/domain/reprocess.ts';
import { applyWatchdog, inspect, stepLeaseMs, type WatchdogPolicy } from '../../shared/domain/watchdog.ts';
import type { ReprocessJob } from '../coordinator/reprocess-job.ts';
import { logs } from '../../shared/observability/messages.ts';
import type { Deps } from '../../shared/runtime/deps.ts';
import { decide, flushAndSettle } from '../coordinator/run.ts';
import type { OutboxEntry } from '../coordinator/outbox-entries.ts';
import { OUTBOX_CLAIM_LEASE_MS } from '../coordinator/outbox.ts';

/** Beyond every attempt Pub/Sub would make: room for a result already in flight to land. */
export const WATCHDOG_MARGIN_MS = 5 * 60_000;
/** Re-drives per asset before it fails `STUCK`: lost work more often than this is a fault to look at, not bad luck. */
export const WATCHDOG_MAX_REDRIVES = 3;
/** Assets and outbox entries looked at per tick, oldest first; the rest wait for the next tick. */
export const WATCHDOG_PAGE_SIZE = 200;
/**
 * An outbox entry this old, with no live claim, was not flushed by the delivery that staged it (it died, or its
 * publish failed and its redelivery never came): twice the claim lease, so a flush in progress is left alone.
 */
export const OUTBOX_STALE_MS = 2 * OUTBOX_CLAIM_LEASE_MS;

export interface SweepReport {
  readonly outboxFlushed: number;
  readonly redriven: number;
  readonly failed: number;
  readonly reevaluated: number;
  /** Reprocess runs whose lost work was re-driven, or that were ended STUCK. */
  readonly reprocessRuns: number;
}

/** Reprocess jobs, newest first, whose runs in flight each tick looks at: older jobs' runs have long ended. */
export const WATCHDOG_RECENT_JOBS = 20;

export function watchdogPolicy(deps: Pick<Deps, 'steps' | 'config'>): WatchdogPolicy {
  return {
    leaseMs: (step) => stepLeaseMs(ackDeadlineSeconds(deps.steps.get(step)?.timeoutMs ?? 0), deps.config.retry, WATCHDOG_MARGIN_MS),
    maxRedrives: WATCHDOG_MAX_REDRIVES,
  };
}

export async function sweep(deps: Deps, policy: WatchdogPolicy = watchdogPolicy(deps)): Promise<SweepReport> {
  const now = deps.clock.now();
  const outboxFlushed = await flushStaleOutboxes(deps, now);
  const { assets } = collections;
  const processing = await deps.store.list<AssetDoc>(
    assets.path(),
    assets.queries.withStatusOldestFirst.query({ status: 'PROCESSING' }, { limit: WATCHDOG_PAGE_SIZE }),
  );
  let redriven = 0;
  let failed = 0;
  let reevaluated = 0;
  for (const { data: seen } of processing) {
    const finding = inspect(seen, now, policy);
    if (finding.kind === 'healthy') continue;
    const step = finding.kind === 'stuck' ? finding.steps[0]! : 'watchdog';
    const outcome = await decide(
      { assetId: seen.id, step, shard: { index: 0, count: 1 } },
      deps,
      // Nothing to do on the fresh read inside the transaction: a concurrent sweep or a late result got there first.
      (asset, at) => applyWatchdog(asset, at, policy) ?? unchanged(asset, 'duplicate'),
    );
    if (outcome !== 'done') continue;
    const after = await deps.store.get<AssetDoc>(assets.doc(seen.id));
    if (after?.status === 'FAILED') failed += 1;
    else if (finding.kind === 'idle') reevaluated += 1;
    else redriven += 1;
    logs.watchdogActed(deps.log, seen.id, finding.kind === 'stuck' ? finding.steps : [], after?.status ?? 'unknown');
    await flushAndSettle(seen.id, deps);
  }
  const reprocessRuns = await sweepReprocessRuns(deps, policy);
  return { outboxFlushed, redriven, failed, reevaluated, reprocessRuns };
}

/**
 * READY assets with a reprocess run in flight are not PROCESSING, so they are found through the recent jobs:
 * a run whose re-run step is past its lease is re-driven, or ended STUCK (shared/domain/reprocess.ts).
 */
async function sweepReprocessRuns(deps: Deps, policy: WatchdogPolicy): Promise<number> {
  const { assets, reprocessJobs } = collections;
  const now = deps.clock.now();
  const jobs = await deps.store.list<ReprocessJob>(reprocessJobs.path(), reprocessJobs.queries.newestFirst.query({}, { limit: WATCHDOG_RECENT_JOBS }));
  let acted = 0;
  for (const { data: job } of jobs) {
    const runs = await deps.store.list<AssetDoc>(assets.path(), assets.queries.inReprocess.query({ 'reprocess.job': job.id }, { limit: WATCHDOG_PAGE_SIZE }));
    for (const { data: seen } of runs) {
      if (!applyReprocessWatchdog(seen, now, policy)) continue;
      const { step, versions } = seen.reprocess!;
      // With the run's output version: should the decision throw, the forced failure ends the run, not the asset.
      const ref = { assetId: seen.id, step, shard: { index: 0, count: 1 }, outputVersion: versions[step] };
      const outcome = await decide(ref, deps, (asset, at) =>
        // A fresh read where the run has moved on (a late result, a concurrent sweep) has nothing left to do.
        asset.reprocess?.job === job.id ? (applyReprocessWatchdog(asset, at, policy) ?? unchanged(asset, 'duplicate')) : unchanged(asset, 'duplicate'),
      );
      if (outcome !== 'done') continue;
      acted += 1;
      logs.watchdogActed(deps.log, seen.id, Object.keys(versions), 'READY');
      await flushAndSettle(seen.id, deps);
    }
  }
  return acted;
}

async function flushStaleOutboxes(deps: Deps, now: Date): Promise<number> {
  const { outbox } = collections;
  const entries = await deps.store.list<OutboxEntry>(outbox.path(), outbox.queries.oldestFirst.query({}, { limit: WATCHDOG_PAGE_SIZE }));
  const stale = entries
    .map((snapshot) => snapshot.data)
    .filter((entry) => now.getTime() - entry.createdAt.getTime() > OUTBOX_STALE_MS && (entry.claimedUntil === null || entry.claimedUntil <= now));
  const assetIds = [...new Set(stale.map((entry) => entry.assetId))];
  for (const assetId of assetIds) {
    logs.watchdogFlushedOutbox(deps.log, assetId);
    await flushAndSettle(assetId, deps);
  }
  return assetIds.length;
}
