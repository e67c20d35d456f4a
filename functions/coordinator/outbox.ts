/**
 * The transactional outbox. A decision and the events it implies are written in one transaction; publishing
 * happens after the commit and deletes each entry once the bus has it. If the process dies in between, the
 * next delivery for the asset (a redelivery or a duplicate) finds the entries and publishes them. Entries have
 * deterministic ids and so do the events, so a double publish is recognisable downstream.
 */
import { randomUUID } from 'node:crypto';
import { EventType, formatIssues, workOrderType, type StepFailed, type WorkOrder } from '../../events/catalog.ts';
import { workTopic } from '../../shared/config/config.ts';
import { workOrderId } from '../../shared/domain/asset-id.ts';
import type { AssetDoc } from '../../shared/domain/asset.ts';
import { collections } from '../../shared/domain/collections.ts';
import { PLAN_FAILED, planContextOf, stepFailure } from '../../shared/domain/coordination.ts';
import { inputVersionsOf, reprocessContextOf } from '../../shared/domain/reprocess.ts';
import type { DocData } from '../../shared/ports/document-store.ts';
import type { Deps } from '../../shared/runtime/deps.ts';
import { publishEvent, sourceOf } from '../../shared/runtime/publish.ts';
import { errorMessage, isPermanent, PermanentError, TransientError } from '../../shared/errors.ts';
import { logs } from '../../shared/observability/messages.ts';
import type { OutboxEntry } from './outbox-entries.ts';

/** Code of an event of ours that failed its own schema; see assertValid. */
const OUTBOUND_EVENT_INVALID = 'OUTBOUND_EVENT_INVALID';

/**
 * Two deliveries of the same result can flush at once; a claim makes one of them publish. A claimer that dies
 * leaves its claim to expire; a delivery that meets a held claim is retried (never acked), and Pub/Sub's backoff
 * (10, 20, 40 s…) brings it back after the lease has run out.
 */
export const OUTBOX_CLAIM_LEASE_MS = 30_000;

/**
 * This process, on the claims it makes. The embedded runtime's state file has one process at a time (its bus
 * journal redelivers everything pending when a process starts), so there a claim another process made was left by
 * one that died: a killed `mediaflow process`. Waiting out its lease is no option there: the embedded runtime
 * scales its backoffs (3 s over all attempts by default), so the next run's results would run out of attempts
 * against it and be dead-lettered, failing their asset. On Pub/Sub many instances flush at once, and the lease rules.
 */
const CLAIMER = randomUUID();

const source = sourceOf('coordinator');

/**
 * Publishes and clears whatever the outbox holds for this asset. Returns the steps whose work orders could not
 * be built, for the coordinator to record as failed.
 */
export async function flushOutbox(assetId: string, deps: Deps): Promise<StepFailed[]> {
  const { outbox, assets } = collections;
  const entries = await deps.store.list<OutboxEntry>(outbox.path(), outbox.queries.ofAssetOldestFirst.query({ assetId }));
  if (entries.length === 0) return [];
  const asset = await deps.store.get<AssetDoc>(assets.doc(assetId));
  if (!asset) throw new Error(`asset ${assetId} vanished while its outbox held ${entries.length} entries`);
  const unplannable: StepFailed[] = [];
  let held = 0;
  for (const entry of entries) {
    const claimed = await claim(entry.path, deps);
    if (claimed === 'gone') continue;
    if (claimed === 'held') {
      held += 1;
      continue;
    }
    try {
      if (claimed.kind === 'queue-step') {
        const failure = await publishWorkOrders(asset, claimed.step!, claimed.outputVersion ?? undefined, deps);
        if (failure) unplannable.push(failure);
      } else {
        await publishAssetEvent(asset, claimed, deps);
      }
      await deps.store.delete(entry.path);
    } catch (error) {
      if (isPermanent(error)) {
        // Our own event failed its schema: a bug no redelivery fixes. Say so loudly and keep the queue moving.
        logs.outboundEventRefused(deps.log, assetId, claimed.emissionId, error.message);
        await deps.store.delete(entry.path);
        continue;
      }
      // Hand the entry back at once so this message's redelivery can publish it, instead of waiting out the lease.
      await deps.store.set(entry.path, { ...claimed, claimedUntil: null, claimedBy: null }).catch(() => undefined);
      throw error;
    }
  }
  // Someone else holds a claim: maybe a live delivery publishing right now, maybe one that died holding it. Acking
  // would leave the entry to chance; a retry comes back after the backoff and publishes it once the claim is free.
  if (held > 0 && unplannable.length === 0)
    throw new TransientError('OUTBOX_CLAIMED', `${held} outbox entr${held === 1 ? 'y' : 'ies'} of ${assetId} claimed by another delivery`);
  return unplannable;
}

async function claim(path: string, deps: Deps): Promise<OutboxEntry | 'gone' | 'held'> {
  return deps.store.runTransaction(async (tx) => {
    const entry = await tx.get<OutboxEntry>(path);
    const now = deps.clock.now();
    if (!entry) return 'gone';
    if (entry.claimedUntil && entry.claimedUntil > now && !leftByDeadProcess(entry, deps)) return 'held';
    const claimed = { ...entry, claimedUntil: new Date(now.getTime() + OUTBOX_CLAIM_LEASE_MS), claimedBy: CLAIMER };
    tx.set(path, claimed);
    return claimed;
  });
}

function leftByDeadProcess(entry: OutboxEntry, deps: Deps): boolean {
  return deps.config.runtime === 'embedded' && entry.claimedBy !== CLAIMER;
}

/**
 * Publishes a queued step's orders, or returns the step's failure when its params cannot be built. With an output
 * version they are a reprocess's orders: built from the run's state, written under that version, their ids apart
 * from the first run's; a run that ended before its orders went out needs none.
 */
async function publishWorkOrders(asset: AssetDoc, step: string, outputVersion: string | undefined, deps: Deps): Promise<StepFailed | undefined> {
  const definition = deps.steps.get(step);
  if (outputVersion !== undefined && asset.reprocess?.versions[step] !== outputVersion) return undefined;
  const state = outputVersion === undefined ? asset.steps[step] : asset.reprocess?.steps[step];
  if (!definition || !state) throw new Error(`asset ${asset.id} queued unknown step '${step}'`);
  const context = outputVersion === undefined ? planContextOf(asset) : reprocessContextOf(asset);
  const inputVersions = inputVersionsOf(asset, step, outputVersion !== undefined);
  const { bucket, name, generation } = asset.source;
  const issuedAt = (state.queuedAt ?? deps.clock.now()).toISOString();
  let orders: WorkOrder[];
  try {
    orders = Array.from({ length: state.shards }, (_, index): WorkOrder => ({
      orderId: `${workOrderId(asset.id, step, index)}${outputVersion === undefined ? '' : `@${outputVersion}`}`,
      assetId: asset.id,
      step,
      shard: { index, count: state.shards },
      source: { bucket, name, generation },
      kind: asset.kind!,
      profile: asset.profile,
      params: definition.params(context, index),
      issuedAt,
      ...(outputVersion === undefined ? {} : { outputVersion }),
      ...(Object.keys(inputVersions).length > 0 ? { inputVersions } : {}),
    }));
    // Every order is checked before the first is sent: a set is published whole or the step fails, never half.
    for (const order of orders) assertValid(deps, workOrderType(step), order);
  } catch (error) {
    // A step that cannot describe its work for this asset will not manage on a retry: fail the step, not the message.
    return stepFailure(
      asset.id,
      step,
      state.shards,
      { code: PLAN_FAILED, message: `could not build the work orders: ${errorMessage(error)}` },
      deps.clock.now(),
      { outputVersion },
    );
  }
  for (const order of orders) {
    await publishEvent(deps.bus, workTopic(deps.config, step), {
      type: workOrderType(step),
      id: order.orderId,
      source,
      subject: asset.id,
      time: deps.clock.now(),
      data: order,
    });
  }
  return undefined;
}

type AssetEventKind = Exclude<OutboxEntry['kind'], 'queue-step'>;
const assetEventTypes: Readonly<Record<AssetEventKind, string>> = {
  'asset-ready': EventType.assetReady,
  'asset-failed': EventType.assetFailed,
  'asset-updated': EventType.assetUpdated,
};

async function publishAssetEvent(asset: AssetDoc, entry: OutboxEntry, deps: Deps): Promise<void> {
  const type = assetEventTypes[entry.kind as AssetEventKind];
  const data = JSON.parse(entry.payload) as DocData;
  assertValid(deps, type, data);
  await publishEvent(deps.bus, deps.config.topics.assetEvents, { type, id: entry.emissionId, source, subject: asset.id, time: deps.clock.now(), data });
}

/** Outbound events are checked against the same schemas partners validate with; a mismatch is our bug, caught here. */
function assertValid(deps: Deps, type: string, data: unknown): void {
  const result = deps.validator.validate(type, data);
  if (!result.ok) throw new PermanentError(OUTBOUND_EVENT_INVALID, `refusing to publish an invalid ${type}: ${formatIssues(result.issues.slice(0, 5))}`);
}
