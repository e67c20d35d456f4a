/**
 * deadletter: the sink of every subscription's dead-letter topic. It records each dead message where ops can
 * list and replay it, then makes sure the asset it concerns ends FAILED with the last error instead of waiting
 * forever: a dead work order or ingest event becomes the step's failure, a dead step result fails the asset
 * directly (re-emitting a result the coordinator could not take would only loop). See settle.ts.
 */
import { boundMetadata, cleanText, MAX_ID_BYTES } from '../../shared/domain/bounded.ts';
import { collections } from '../../shared/domain/collections.ts';
import { defaultTypeOfTopic } from '../../shared/domain/ingest-request.ts';
import { logs } from '../../shared/observability/messages.ts';
import { DeadLetterAttribute, type Delivery } from '../../shared/ports/bus.ts';
import { decodeDelivery, type RawEvent } from '../../shared/runtime/decode.ts';
import type { Deps } from '../../shared/runtime/deps.ts';
import { payloadHash, type FunctionDefinition } from '../../shared/runtime/handler.ts';
import { deadLetterFields, REPLAY_ATTRIBUTE, topicOfSubscription, type DeadLetterRecord } from './record.ts';
import { settleDeadEvent } from './settle.ts';

export type { DeadLetterRecord } from './record.ts';

/** The last error's text in the record, bounded like every record (shared/domain/bounded.ts). */
const MAX_ERROR_BYTES = 2000;

type FailureRecord = { eventId: string; message: string };

export const deadletterFunction: FunctionDefinition = {
  name: 'deadletter',
  needs: { documents: true, sources: 'none', derivatives: 'none', publishes: ['stepResults'], vertexAi: false, config: [] },
  async handle(delivery, deps) {
    const sourceSubscription = delivery.attributes[DeadLetterAttribute.sourceSubscription] ?? 'unknown';
    const sourceFunction = functionOfSubscription(sourceSubscription);
    const event = originalEvent(delivery, sourceSubscription, deps);
    const lastFailure = await findLastFailure(sourceFunction, event?.id ?? delivery.messageId, delivery.data, deps);
    // A bare payload's id was its first message id; the failure record remembers it, the dead-letter copy does not.
    const eventId = lastFailure?.eventId ?? event?.id ?? delivery.messageId;
    const record: DeadLetterRecord = {
      sourceSubscription: cleanText(sourceSubscription, MAX_ID_BYTES),
      deliveryCount: Number(delivery.attributes[DeadLetterAttribute.sourceDeliveryCount] ?? 0) || 0,
      messageId: cleanText(delivery.messageId, MAX_ID_BYTES),
      eventId: cleanText(eventId, MAX_ID_BYTES),
      eventType: event?.type ? cleanText(event.type, MAX_ID_BYTES) : null,
      subject: event?.subject ? cleanText(event.subject, MAX_ID_BYTES) : null,
      lastError: lastFailure ? cleanText(lastFailure.message, MAX_ERROR_BYTES) : null,
      attributes: boundMetadata(delivery.attributes).entries,
      ...deadLetterFields(delivery, sourceSubscription, event, deps),
      deadLetteredAt: deps.clock.now(),
      status: 'OPEN',
      replayCount: 0,
      replays: [],
      lastDeadLetteredAt: null,
    };
    const path = collections.deadLetters.doc(sourceSubscription, eventId);
    if (!(await deps.store.create(path, record))) await noteReplayDied(path, delivery, record, deps);
    logs.deadLetterRecorded(deps.log, sourceSubscription, eventId, String(record.deliveryCount));
    if (event) await settleDeadEvent(event, record, deps);
    return 'done';
  },
};

/** Subscriptions are named `<function>--<topic>` (see functions/pipeline.ts), so the failing function is recoverable. */
export function functionOfSubscription(subscription: string): string {
  const short = subscription.slice(subscription.lastIndexOf('/') + 1);
  return short.split('--')[0] ?? short;
}

/**
 * The message was dead already: either a redelivery of the same dead copy (nothing to add), or a replayed copy that
 * died too. The latter opens its record again, with the new last error, so ops see it and can replay it once more.
 */
async function noteReplayDied(path: string, delivery: Delivery, dead: DeadLetterRecord, deps: Deps): Promise<void> {
  const replay = Number(delivery.attributes[REPLAY_ATTRIBUTE]);
  if (!Number.isInteger(replay) || replay < 1) return;
  await deps.store.runTransaction(async (tx) => {
    const record = await tx.get<DeadLetterRecord>(path);
    // Only the newest replay's death re-opens: a late copy of an older one says nothing about the newest.
    if (record?.status !== 'REPLAYED' || record.replayCount !== replay) return;
    tx.set(path, {
      ...record,
      status: 'OPEN',
      lastError: dead.lastError ?? record.lastError,
      deliveryCount: dead.deliveryCount,
      lastDeadLetteredAt: dead.deadLetteredAt,
    });
  });
}

/** The dead message read as its own subscriber read it: on its own topic, with that topic's default type. */
function originalEvent(delivery: Delivery, sourceSubscription: string, deps: Deps): RawEvent | undefined {
  const topic = topicOfSubscription(sourceSubscription);
  const decoded = decodeDelivery({ ...delivery, topic }, defaultTypeOfTopic(topic, deps.config.topics.ingestRequests));
  return decoded.status === 'event' ? decoded.event : undefined;
}

/** The edge's record of the last transient failure: by event id, or for a bare payload by its hash. */
async function findLastFailure(sourceFunction: string, eventId: string, data: Buffer, deps: Deps): Promise<FailureRecord | undefined> {
  const { failures } = collections;
  const byId = await deps.store.get<FailureRecord>(failures.doc(sourceFunction, eventId));
  if (byId) return byId;
  const byPayload = await deps.store.list<FailureRecord>(
    failures.path(),
    failures.queries.ofPayload.query({ function: sourceFunction, payloadSha256: payloadHash(data) }, { limit: 1 }),
  );
  return byPayload[0]?.data;
}
