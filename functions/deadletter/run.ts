/**
 * deadletter: the sink of every subscription's dead-letter topic. It records each dead message where ops can
 * list and replay it, and turns a dead work order (or a dead ingest) into a step failure, so the asset ends
 * FAILED with a reason instead of waiting forever. It never re-emits for a dead step result: that would loop.
 */
import { EventType, stepOfWorkOrderType, type StepFailed, type WorkOrder } from '../../events/catalog.ts';
import { documentId, workOrderId } from '../../shared/domain/asset-id.ts';
import { assetIdOfIngestEvent } from '../../shared/domain/ingest-request.ts';
import { PROBE_STEP } from '../../shared/domain/step.ts';
import { PermanentErrorCode } from '../../shared/errors.ts';
import { logs } from '../../shared/observability/messages.ts';
import { DeadLetterAttribute } from '../../shared/ports/bus.ts';
import { decodeDelivery, type RawEvent } from '../../shared/runtime/decode.ts';
import type { Deps } from '../../shared/runtime/deps.ts';
import { failurePath, type FunctionDefinition } from '../../shared/runtime/handler.ts';
import { publishEvent, sourceOf } from '../../shared/runtime/publish.ts';

/** Enough of the payload to replay it; Firestore documents top out at 1 MiB. */
const PAYLOAD_LIMIT_BYTES = 256 * 1024;

export type DeadLetterRecord = {
  sourceSubscription: string;
  deliveryCount: number;
  messageId: string;
  eventId: string;
  eventType: string | null;
  subject: string | null;
  lastError: string | null;
  attributes: Record<string, string>;
  payload: string;
  deadLetteredAt: Date;
  status: 'OPEN' | 'REPLAYED';
};

export function deadLetterPath(sourceSubscription: string, eventId: string): string {
  return `deadLetters/${documentId(`${sourceSubscription}:${eventId}`)}`;
}

export const deadletterFunction: FunctionDefinition = {
  name: 'deadletter',
  async handle(delivery, deps) {
    const decoded = decodeDelivery(delivery, undefined);
    const event = decoded.status === 'event' ? decoded.event : undefined;
    const eventId = event?.id ?? delivery.messageId;
    const sourceSubscription = delivery.attributes[DeadLetterAttribute.sourceSubscription] ?? 'unknown';
    const deliveryCount = Number(delivery.attributes[DeadLetterAttribute.sourceDeliveryCount] ?? 0);
    const lastFailure = await deps.store.get<{ message: string }>(failurePath(functionOfSubscription(sourceSubscription), eventId));
    const record: DeadLetterRecord = {
      sourceSubscription,
      deliveryCount,
      messageId: delivery.messageId,
      eventId,
      eventType: event?.type ?? null,
      subject: event?.subject ?? null,
      lastError: lastFailure?.message ?? null,
      attributes: { ...delivery.attributes },
      payload: delivery.data.subarray(0, PAYLOAD_LIMIT_BYTES).toString('utf8'),
      deadLetteredAt: deps.clock.now(),
      status: 'OPEN',
    };
    await deps.store.create(deadLetterPath(sourceSubscription, eventId), record);
    logs.deadLetterRecorded(deps.log, sourceSubscription, eventId, String(deliveryCount));
    const failure = event ? stepFailureFor(event, record, deps) : undefined;
    if (!failure) return 'done';
    await publishEvent(deps.bus, deps.config.topics.stepResults, {
      type: EventType.stepFailed,
      id: `${failure.orderId}/dead-lettered`,
      source: sourceOf('deadletter'),
      subject: failure.assetId,
      time: deps.clock.now(),
      data: failure,
    });
    return 'done';
  },
};

/** Subscriptions are named `<function>--<topic>` (see functions/pipeline.ts), so the failing function is recoverable. */
export function functionOfSubscription(subscription: string): string {
  const short = subscription.slice(subscription.lastIndexOf('/') + 1);
  return short.split('--')[0] ?? short;
}

function stepFailureFor(event: RawEvent, record: DeadLetterRecord, deps: Deps): StepFailed | undefined {
  const validated = deps.validator.validate(event.type, event.data);
  if (!validated.ok) return undefined;
  const error = {
    code: PermanentErrorCode.RETRIES_EXHAUSTED,
    message: `gave up after ${record.deliveryCount} delivery attempts${record.lastError ? `; last error: ${record.lastError}` : ''}`.slice(0, 4000),
  };
  const common = { attempt: Math.max(1, record.deliveryCount), failedAt: record.deadLetteredAt.toISOString(), error, deadLettered: true };
  if (stepOfWorkOrderType(event.type) !== undefined) {
    const order = validated.value as WorkOrder;
    return { orderId: order.orderId, assetId: order.assetId, step: order.step, shard: order.shard, ...common };
  }
  const assetId = assetIdOfIngestEvent(event.type, validated.value);
  if (assetId === undefined) return undefined;
  return { orderId: workOrderId(assetId, PROBE_STEP, 0), assetId, step: PROBE_STEP, shard: { index: 0, count: 1 }, ...common };
}

