/**
 * What a dead message means for its asset. Every kind of message ends its asset FAILED with the last error:
 *  - a work order: the step failed; the coordinator records it like any step failure;
 *  - an ingest event: the probe failed; when ingest never got as far as creating the asset, it is created here
 *    first, so the upload is not simply gone;
 *  - a step result: the coordinator itself could not take it, so the asset is failed here, with the coordinator's
 *    own pure decision, and its asset.failed staged in the outbox. The coordinator alone publishes asset events:
 *    it is nudged with the step's failure, finds the asset settled, and flushes the outbox as for any duplicate.
 *    A nudge that dies in turn is not nudged again, so a coordinator that cannot run never makes this loop.
 */
import {
  EventType,
  stepOfWorkOrderType,
  type IngestRequested,
  type ObjectFinalized,
  type StepCompleted,
  type StepFailed,
  type WorkOrder,
} from '../../events/catalog.ts';
import { collections } from '../../shared/domain/collections.ts';
import type { AssetDoc } from '../../shared/domain/asset.ts';
import { stepFailure } from '../../shared/domain/coordination.ts';
import { applyForcedFailureOfRun } from '../../shared/domain/reprocess.ts';
import { PROBE_STEP } from '../../shared/domain/step.ts';
import { PermanentErrorCode } from '../../shared/errors.ts';
import { logs } from '../../shared/observability/messages.ts';
import type { RawEvent } from '../../shared/runtime/decode.ts';
import type { Deps } from '../../shared/runtime/deps.ts';
import { publishEvent, sourceOf } from '../../shared/runtime/publish.ts';
import { partnerRequest, uploadRequest } from '../../shared/domain/ingest-request.ts';
import { stageEmissions } from '../coordinator/outbox-entries.ts';
import { registerAsset } from '../ingest/register.ts';
import type { DeadLetterRecord } from './run.ts';

export async function settleDeadEvent(event: RawEvent, record: DeadLetterRecord, deps: Deps): Promise<void> {
  const validated = deps.validator.validate(event.type, event.data);
  // An event that never passed validation was rejected by the edge, never retried: it cannot be dead here.
  if (!validated.ok) return;
  const error = {
    code: PermanentErrorCode.RETRIES_EXHAUSTED,
    message: `gave up after ${record.deliveryCount} delivery attempts${record.lastError ? `; last error: ${record.lastError}` : ''}`,
  };
  const options = { attempt: record.deliveryCount, deadLettered: true };
  const now = record.deadLetteredAt;
  if (stepOfWorkOrderType(event.type) !== undefined) {
    const order = validated.value as WorkOrder;
    return publishFailure(
      {
        ...stepFailure(order.assetId, order.step, order.shard.count, error, now, { ...options, outputVersion: order.outputVersion }),
        orderId: order.orderId,
        shard: order.shard,
      },
      deps,
    );
  }
  if (event.type === EventType.objectFinalized || event.type === EventType.ingestRequested) {
    const assetId = await ensureAsset(event.type, validated.value, deps);
    if (assetId !== undefined) await publishFailure(stepFailure(assetId, PROBE_STEP, 1, error, now, options), deps);
    return;
  }
  if (event.type === EventType.stepCompleted || event.type === EventType.stepFailed) {
    const result = validated.value as StepCompleted | StepFailed;
    const failure = stepFailure(result.assetId, result.step, result.shard.count, error, now, { ...options, outputVersion: result.outputVersion });
    await failAsset(failure, deps);
    const deadNudge = event.type === EventType.stepFailed && (result as StepFailed).deadLettered;
    if (!deadNudge) await publishFailure(failure, deps);
  }
}

async function publishFailure(failure: StepFailed, deps: Deps): Promise<void> {
  await publishEvent(deps.bus, deps.config.topics.stepResults, {
    type: EventType.stepFailed,
    id: `${failure.orderId}/dead-lettered`,
    source: sourceOf('deadletter'),
    subject: failure.assetId,
    time: deps.clock.now(),
    data: failure,
  });
}

/**
 * The asset an ingest event names, created RECEIVED when ingest died before it could (the registration is the
 * same transaction ingest runs, so a late ingest and this never make two). undefined: a newer generation of the
 * object already has its own asset, and this stale one needs nothing.
 */
async function ensureAsset(type: string, data: unknown, deps: Deps): Promise<string | undefined> {
  const request =
    type === EventType.objectFinalized
      ? uploadRequest(data as ObjectFinalized, deps.config.defaultProfile)
      : partnerRequest(data as IngestRequested, undefined, deps.config.defaultProfile);
  const registration = await registerAsset(deps.store, request, deps.clock.now());
  return registration.status === 'stale' ? undefined : request.assetId;
}

/** The coordinator's forced failure, committed with its asset.failed staged in the outbox for the coordinator to send. */
async function failAsset(failure: StepFailed, deps: Deps): Promise<void> {
  const path = collections.assets.doc(failure.assetId);
  const settled = await deps.store.runTransaction(async (tx) => {
    const asset = await tx.get<AssetDoc>(path);
    if (!asset) return false;
    const now = deps.clock.now();
    const decision = applyForcedFailureOfRun(asset, failure, now);
    if (decision.note !== 'applied') return false;
    tx.set(path, decision.asset);
    stageEmissions(tx, failure.assetId, decision.emissions, now);
    return true;
  });
  if (settled && failure.outputVersion === undefined) logs.assetSettled(deps.log, failure.assetId, 'FAILED');
}
