/**
 * The transactional outbox. A decision and the events it implies are written in one transaction; publishing
 * happens after the commit and deletes each entry once the bus has it. If the process dies in between, the
 * next delivery for the asset (a redelivery or a duplicate) finds the entries and publishes them. Entries have
 * deterministic ids and so do the events, so a double publish is recognisable downstream.
 */
import { EventType, workOrderType, type StepFailed, type WorkOrder } from '../../events/catalog.ts';
import { workTopic } from '../../shared/config/config.ts';
import { assetPath, documentId, workOrderId } from '../../shared/domain/asset-id.ts';
import type { AssetDoc } from '../../shared/domain/asset.ts';
import { planContextOf, type Emission } from '../../shared/domain/coordination.ts';
import type { DocData, Transaction } from '../../shared/ports/asset-store.ts';
import type { Deps } from '../../shared/runtime/deps.ts';
import { publishEvent, sourceOf } from '../../shared/runtime/publish.ts';
import { errorMessage } from '../../shared/errors.ts';

type OutboxEntry = { emissionId: string; kind: Emission['kind']; step: string | null; payload: string; createdAt: Date; claimedUntil: Date | null };

/**
 * Two deliveries of the same result can flush at once; a claim makes one of them publish. A claimer that dies
 * leaves its claim to expire, shorter than the coordinator's ack deadline, so the redelivery finds it free.
 */
export const OUTBOX_CLAIM_LEASE_MS = 30_000;

const source = sourceOf('coordinator');

function outboxCollection(assetId: string): string {
  return `${assetPath(assetId)}/outbox`;
}

function emissionId(assetId: string, emission: Emission): string {
  switch (emission.kind) {
    case 'queue-step':
      return `${assetId}|queue|${emission.step}`;
    case 'asset-ready':
      return `${assetId}/ready`;
    case 'asset-failed':
      return `${assetId}/failed`;
  }
}

export function stageEmissions(tx: Transaction, assetId: string, emissions: readonly Emission[], now: Date): void {
  for (const emission of emissions) {
    const id = emissionId(assetId, emission);
    const entry: OutboxEntry = {
      emissionId: id,
      kind: emission.kind,
      step: emission.kind === 'queue-step' ? emission.step : null,
      payload: emission.kind === 'queue-step' ? '{}' : JSON.stringify(emission.event),
      createdAt: now,
      claimedUntil: null,
    };
    tx.set(`${outboxCollection(assetId)}/${documentId(id)}`, entry);
  }
}

/**
 * Publishes and clears whatever the outbox holds for this asset. Returns the steps whose work orders could not
 * be built, for the coordinator to record as failed.
 */
export async function flushOutbox(assetId: string, deps: Deps): Promise<StepFailed[]> {
  const entries = await deps.store.list<OutboxEntry>(outboxCollection(assetId), { orderBy: { field: 'createdAt' } });
  if (entries.length === 0) return [];
  const asset = await deps.store.get<AssetDoc>(assetPath(assetId));
  if (!asset) throw new Error(`asset ${assetId} vanished while its outbox held ${entries.length} entries`);
  const unplannable: StepFailed[] = [];
  for (const entry of entries) {
    const claimed = await claim(entry.path, deps);
    if (!claimed) continue;
    try {
      if (claimed.kind === 'queue-step') {
        const failure = await publishWorkOrders(asset, claimed.step!, deps);
        if (failure) unplannable.push(failure);
      } else {
        await publishAssetEvent(asset, claimed, deps);
      }
      await deps.store.delete(entry.path);
    } catch (error) {
      // Hand the entry back at once so this message's redelivery can publish it, instead of waiting out the lease.
      await deps.store.set(entry.path, { ...claimed, claimedUntil: null }).catch(() => undefined);
      throw error;
    }
  }
  return unplannable;
}

async function claim(path: string, deps: Deps): Promise<OutboxEntry | undefined> {
  return deps.store.runTransaction(async (tx) => {
    const entry = await tx.get<OutboxEntry>(path);
    const now = deps.clock.now();
    if (!entry || (entry.claimedUntil && entry.claimedUntil > now)) return undefined;
    const claimed = { ...entry, claimedUntil: new Date(now.getTime() + OUTBOX_CLAIM_LEASE_MS) };
    tx.set(path, claimed);
    return claimed;
  });
}

/** Publishes a queued step's orders, or returns the step's failure when its params cannot be built. */
async function publishWorkOrders(asset: AssetDoc, step: string, deps: Deps): Promise<StepFailed | undefined> {
  const definition = deps.steps.get(step);
  const state = asset.steps[step];
  if (!definition || !state) throw new Error(`asset ${asset.id} queued unknown step '${step}'`);
  const context = planContextOf(asset);
  const { bucket, name, generation } = asset.source;
  const issuedAt = (state.queuedAt ?? deps.clock.now()).toISOString();
  let params: WorkOrder['params'][];
  try {
    params = Array.from({ length: state.shards }, (_, index) => definition.params(context, index));
  } catch (error) {
    // A step that cannot even describe its work for this asset will not manage on a retry: fail the step, not the message.
    return {
      orderId: workOrderId(asset.id, step, 0),
      assetId: asset.id,
      step,
      shard: { index: 0, count: state.shards },
      attempt: 1,
      failedAt: deps.clock.now().toISOString(),
      error: { code: 'PLAN_FAILED', message: `could not build the work orders: ${errorMessage(error)}`.slice(0, 4000) },
      deadLettered: false,
    };
  }
  for (let index = 0; index < state.shards; index += 1) {
    const order: WorkOrder = {
      orderId: workOrderId(asset.id, step, index),
      assetId: asset.id,
      step,
      shard: { index, count: state.shards },
      source: { bucket, name, generation },
      kind: asset.kind!,
      profile: asset.profile,
      params: params[index]!,
      issuedAt,
    };
    const type = workOrderType(step);
    assertValid(deps, type, order);
    await publishEvent(deps.bus, workTopic(deps.config, step), { type, id: order.orderId, source, subject: asset.id, time: deps.clock.now(), data: order });
  }
  return undefined;
}

async function publishAssetEvent(asset: AssetDoc, entry: OutboxEntry, deps: Deps): Promise<void> {
  const type = entry.kind === 'asset-ready' ? EventType.assetReady : EventType.assetFailed;
  const data = JSON.parse(entry.payload) as DocData;
  assertValid(deps, type, data);
  await publishEvent(deps.bus, deps.config.topics.assetEvents, { type, id: entry.emissionId, source, subject: asset.id, time: deps.clock.now(), data });
}

/** Outbound events are checked against the same schemas partners validate with; a mismatch is our bug, caught here. */
function assertValid(deps: Deps, type: string, data: unknown): void {
  const result = deps.validator.validate(type, data);
  if (!result.ok) throw new Error(`refusing to publish an invalid ${type}: ${result.issues.map((issue) => `${issue.path} ${issue.message}`).join('; ')}`);
}
