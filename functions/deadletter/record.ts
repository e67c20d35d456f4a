/**
 * The dead-letter record: what ops list with `mediaflow dead-letters`, and what `mediaflow dead-letters replay`
 * publishes again. To replay exactly, a record keeps the original message whole (its data, UTF-8 text when it is
 * that, base64 otherwise, and its attributes as published) when it fits well under Firestore's 1 MiB document limit,
 * with the topic it was published to and the asset and step it concerns. A message too large to keep, or one a
 * replay could not help, is recorded with `notReplayable` saying why; replay skips it with that reason.
 */
import { EventType, stepOfWorkOrderType, type IngestRequested, type ObjectFinalized, type StepCompleted, type WorkOrder } from '../../events/catalog.ts';
import { cleanText } from '../../shared/domain/bounded.ts';
import { partnerRequest, uploadRequest } from '../../shared/domain/ingest-request.ts';
import { PROBE_STEP } from '../../shared/domain/step.ts';
import { DeadLetterAttribute, type Delivery } from '../../shared/ports/bus.ts';
import type { RawEvent } from '../../shared/runtime/decode.ts';
import type { Deps } from '../../shared/runtime/deps.ts';

/** Whole messages up to this size are kept for replay; ours are small JSON CloudEvents, a few KiB. */
export const PAYLOAD_LIMIT_BYTES = 256 * 1024;
/** Pub/Sub's own limits (100 attributes, 256-byte keys, 1 KiB values) keep attributes under this. */
export const ATTRIBUTES_LIMIT_BYTES = 128 * 1024;
/** What a record keeps of a message it cannot keep whole: enough to recognise it. */
export const PAYLOAD_PREVIEW_BYTES = 4096;
/** Replays listed on a record; the count keeps counting past them. */
export const MAX_REPLAY_ENTRIES = 20;

/**
 * The marker a replayed message carries: the replay's number on its dead-letter record (1 for the first). A replayed
 * copy that dies again is recognised by it, and its record re-opened for another replay.
 */
export const REPLAY_ATTRIBUTE = 'mediaflow-replay';

export type ReplayEntry = { at: Date; by: string; messageId: string; reopened: boolean; forced: boolean };

export type DeadLetterRecord = {
  sourceSubscription: string;
  deliveryCount: number;
  messageId: string;
  eventId: string;
  eventType: string | null;
  subject: string | null;
  lastError: string | null;
  /** As delivered to the dead-letter sink, bounded for reading (shared/domain/bounded.ts). */
  attributes: Record<string, string>;
  /** The message's data: whole when `payloadComplete` (in `payloadEncoding`), else a UTF-8 preview. */
  payload: string;
  payloadEncoding: 'utf8' | 'base64';
  payloadBytes: number;
  payloadComplete: boolean;
  /** The topic it was published to, from the source subscription's name (`<function>--<topic>`). */
  topic: string | null;
  /** The attributes it was published with, as JSON, exact: the dead-letter and replay attributes left out. */
  originalAttributes: string | null;
  /** The asset and the step it concerns: what a replay re-opens (the probe, for an ingest event). */
  assetId: string | null;
  step: string | null;
  /** null when the record can be replayed; otherwise why not. */
  notReplayable: string | null;
  deadLetteredAt: Date;
  /** REPLAYED once published again; OPEN again when a replayed copy dies too. */
  status: 'OPEN' | 'REPLAYED';
  replayCount: number;
  /** The newest replays, oldest first. */
  replays: ReplayEntry[];
  /** When a replayed copy was last dead-lettered again. */
  lastDeadLetteredAt: Date | null;
};

/** The message's data as a record keeps it, and whether it is whole. */
export function storedPayload(data: Buffer): Pick<DeadLetterRecord, 'payload' | 'payloadEncoding' | 'payloadBytes' | 'payloadComplete'> {
  const payloadBytes = data.length;
  if (payloadBytes > PAYLOAD_LIMIT_BYTES)
    return {
      payload: cleanText(data.subarray(0, PAYLOAD_PREVIEW_BYTES).toString('utf8'), PAYLOAD_PREVIEW_BYTES),
      payloadEncoding: 'utf8',
      payloadBytes,
      payloadComplete: false,
    };
  const text = data.toString('utf8');
  // Text only when it reads back to the same bytes (valid UTF-8, no NUL); anything else is kept as base64.
  const exact = !text.includes('\u0000') && Buffer.from(text, 'utf8').equals(data);
  return exact
    ? { payload: text, payloadEncoding: 'utf8', payloadBytes, payloadComplete: true }
    : { payload: data.toString('base64'), payloadEncoding: 'base64', payloadBytes, payloadComplete: true };
}

/** The data a replay publishes, or undefined when the record does not hold it whole. */
export function payloadOf(record: Partial<DeadLetterRecord>): Buffer | undefined {
  if (record.payloadComplete !== true || typeof record.payload !== 'string') return undefined;
  return Buffer.from(record.payload, record.payloadEncoding === 'base64' ? 'base64' : 'utf8');
}

/** Attributes the platform adds (dead-lettering, the client library's `goog*`) and our replay marker: not the original's. */
function isAddedAttribute(key: string): boolean {
  return (Object.values(DeadLetterAttribute) as string[]).includes(key) || key === REPLAY_ATTRIBUTE || key.startsWith('goog');
}

/** The attributes the message was published with, as JSON; null when they would not fit the record. */
export function storedAttributes(attributes: Readonly<Record<string, string>>): string | null {
  const original = Object.fromEntries(Object.entries(attributes).filter(([key]) => !isAddedAttribute(key)));
  const json = JSON.stringify(original);
  return Buffer.byteLength(json, 'utf8') <= ATTRIBUTES_LIMIT_BYTES ? json : null;
}

export function attributesOf(record: Partial<DeadLetterRecord>): Record<string, string> | undefined {
  if (typeof record.originalAttributes !== 'string') return undefined;
  return JSON.parse(record.originalAttributes) as Record<string, string>;
}

/** Subscriptions are named `<function>--<topic>` (functions/pipeline.ts subscriptionName): the topic is what follows. */
export function topicOfSubscription(subscription: string): string {
  const short = subscription.slice(subscription.lastIndexOf('/') + 1);
  return short.includes('--') ? short.slice(short.indexOf('--') + 2) : '';
}

export type ReplayTarget = Pick<DeadLetterRecord, 'assetId' | 'step' | 'notReplayable'>;

/** What a replay of this dead event would re-open, or why replaying it makes no sense. */
export function replayTargetOf(event: RawEvent | undefined, deps: Deps): ReplayTarget {
  const none = (notReplayable: string | null): ReplayTarget => ({ assetId: null, step: null, notReplayable });
  if (!event) return none('not an event mediaflow can read');
  const validated = deps.validator.validate(event.type, event.data);
  if (!validated.ok) return none(`not a valid ${event.type}`);
  if (stepOfWorkOrderType(event.type) !== undefined) {
    const order = validated.value as WorkOrder;
    return { assetId: order.assetId, step: order.step, notReplayable: null };
  }
  switch (event.type) {
    case EventType.stepCompleted: {
      const result = validated.value as StepCompleted;
      return { assetId: result.assetId, step: result.step, notReplayable: null };
    }
    case EventType.stepFailed:
      return none('a step failure: replaying it could only fail its asset again');
    case EventType.objectFinalized:
      return { assetId: uploadRequest(validated.value as ObjectFinalized, deps.config.defaultProfile).assetId, step: PROBE_STEP, notReplayable: null };
    case EventType.ingestRequested:
      return {
        assetId: partnerRequest(validated.value as IngestRequested, undefined, deps.config.defaultProfile).assetId,
        step: PROBE_STEP,
        notReplayable: null,
      };
    default:
      return none(null);
  }
}

/** Whether this record can be replayed, from what it holds (records written before replay existed hold less). */
export function whyNotReplayable(record: Partial<DeadLetterRecord>): string | undefined {
  if (record.notReplayable) return record.notReplayable;
  if (record.payloadComplete === undefined) return 'recorded before replay existed: the message was not kept whole';
  if (!record.payloadComplete) return `the message was ${record.payloadBytes ?? '?'} bytes; records keep whole messages up to ${PAYLOAD_LIMIT_BYTES}`;
  if (!record.topic) return `its source subscription '${record.sourceSubscription ?? ''}' does not name its topic`;
  if (typeof record.originalAttributes !== 'string') return 'its attributes were too large to keep';
  return undefined;
}

/** A record for a dead delivery of `event` (undefined: not an event we can read). */
export function deadLetterFields(
  delivery: Delivery,
  sourceSubscription: string,
  event: RawEvent | undefined,
  deps: Deps,
): Pick<
  DeadLetterRecord,
  'payload' | 'payloadEncoding' | 'payloadBytes' | 'payloadComplete' | 'topic' | 'originalAttributes' | 'assetId' | 'step' | 'notReplayable'
> {
  const topic = topicOfSubscription(sourceSubscription) || null;
  return { ...storedPayload(delivery.data), topic, originalAttributes: storedAttributes(delivery.attributes), ...replayTargetOf(event, deps) };
}
