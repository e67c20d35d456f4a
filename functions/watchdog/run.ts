/**
 * The watchdog function. Cloud Scheduler publishes a tick to its topic (the embedded runtime publishes its own), and
 * each tick runs one sweep. A tick that asks for it (`{"reconcile": {"sinceHours": N}}`, the reconcile job's tick)
 * also reconciles the ingest bucket: objects updated in the last N hours with no asset are ingested. Any other
 * message on the topic is a plain tick and none is ever refused; a sweep that fails on a transient fault is thrown
 * and redelivered like any message.
 */
import type { Delivery } from '../../shared/ports/bus.ts';
import type { FunctionDefinition } from '../../shared/runtime/handler.ts';
import { logs } from '../../shared/observability/messages.ts';
import { DEFAULT_RECONCILE_RATE_PER_SECOND, reconcileIngestBucket } from '../../shared/runtime/reconcile.ts';
import { sweep } from './sweep.ts';

/** A sweep reads two pages and repairs what it finds; a reconcile tick adds at most a minute of notifications. */
export const WATCHDOG_TIMEOUT_MS = 180_000;
/** Notifications one scheduled reconcile sends, at the default rate about a minute's worth; the rest go next time. */
export const SCHEDULED_RECONCILE_LIMIT = 60 * DEFAULT_RECONCILE_RATE_PER_SECOND;
/** The longest look back a reconcile tick may ask for: a week of uploads. */
const MAX_RECONCILE_HOURS = 7 * 24;

export const watchdogFunction: FunctionDefinition = {
  name: 'watchdog',
  needs: { documents: true, sources: 'read', derivatives: 'none', publishes: ['work', 'assetEvents', 'uploads'], vertexAi: false, config: [] },
  async handle(delivery, deps) {
    const log = deps.log.child({ function: 'watchdog', messageId: delivery.messageId, attempt: delivery.deliveryAttempt });
    const report = await sweep({ ...deps, log });
    logs.watchdogSwept(log, report);
    const sinceHours = reconcileHours(delivery);
    if (sinceHours !== undefined) {
      const since = new Date(deps.clock.now().getTime() - sinceHours * 3_600_000);
      const reconciled = await reconcileIngestBucket(deps, {
        since,
        dryRun: false,
        ratePerSecond: DEFAULT_RECONCILE_RATE_PER_SECOND,
        maxPublishes: SCHEDULED_RECONCILE_LIMIT,
      });
      logs.watchdogReconciled(log, sinceHours, reconciled.missingCount, reconciled.published);
    }
    return 'done';
  },
};

/** The look-back a reconcile tick asks for, bounded; undefined for a plain tick (or anything unreadable). */
export function reconcileHours(delivery: Delivery): number | undefined {
  let body: unknown;
  try {
    body = JSON.parse(delivery.data.toString('utf8'));
  } catch {
    return undefined;
  }
  const hours = (body as { reconcile?: { sinceHours?: unknown } } | null)?.reconcile?.sinceHours;
  return typeof hours === 'number' && hours > 0 ? Math.min(hours, MAX_RECONCILE_HOURS) : undefined;
}
