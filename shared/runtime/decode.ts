/**
 * Turns a bus delivery into a CloudEvent candidate. Every wire form a handler can receive is recognised here,
 * once, so handlers never look at attributes or raw bytes:
 *  - CloudEvents binary mode over Pub/Sub (`ce-*` attributes, data = payload), what mediaflow publishes;
 *  - CloudEvents structured mode (`application/cloudevents+json`, or a JSON body carrying specversion/type/id);
 *  - GCS notifications (payloadFormat JSON_API_V1), normalized to com.mediaflow.object.finalized.v1;
 *  - a plain JSON payload, typed by the subscription it arrived on (partners publishing bare JSON).
 */
import { EventType } from '../../events/catalog.ts';
import type { Delivery } from '../ports/bus.ts';
import { binaryContext, cloudEventProblem, isBinaryMode, isStructuredMode, SPEC_VERSION } from './cloudevents.ts';
import { normalizeStorageObject } from './storage-object.ts';

export interface RawEvent {
  readonly id: string;
  readonly source: string;
  readonly type: string;
  readonly subject?: string;
  readonly time?: string;
  readonly data: unknown;
}

export type Decoded =
  | { readonly status: 'event'; readonly event: RawEvent }
  | { readonly status: 'ignored'; readonly reason: string }
  | { readonly status: 'invalid'; readonly reason: string };

/** What Eventarc delivers for a GCS upload; its data is the same object resource a notification carries. */
export const eventarcFinalizedType = 'google.cloud.storage.object.v1.finalized';

export function decodeDelivery(delivery: Delivery, defaultType: string | undefined): Decoded {
  const attributes = delivery.attributes;
  if (attributes.payloadFormat !== undefined && attributes.eventType !== undefined) return decodeStorageNotification(delivery);
  const text = delivery.data.toString('utf8');
  let data: unknown;
  try {
    data = text.length === 0 ? undefined : JSON.parse(text);
  } catch (error) {
    return { status: 'invalid', reason: `message data is not JSON: ${(error as Error).message}` };
  }
  // The checks below stay ours where the SDK's reading differs (cloudevents.ts): its deserializer would take
  // a missing ce-specversion for 1.0, accept 0.3, wrap non-JSON data in quotes and invent a missing id.
  if (isBinaryMode(attributes)) {
    const context = binaryContext(attributes);
    if (context.specversion !== SPEC_VERSION) return { status: 'invalid', reason: `unsupported CloudEvents specversion '${context.specversion ?? ''}'` };
    if (data === undefined) return { status: 'invalid', reason: 'message data is empty' };
    return envelope(context, data);
  }
  if (isStructuredMode(attributes, data)) {
    // The content type alone can say structured: the body must still be the event's JSON object.
    if (!isJsonObject(data)) return { status: 'invalid', reason: 'a structured-mode CloudEvent must be a JSON object' };
    const { data: eventData, ...context } = data;
    if (context.specversion !== SPEC_VERSION) return { status: 'invalid', reason: `unsupported CloudEvents specversion '${String(context.specversion)}'` };
    return envelope(context, eventData);
  }
  if (!defaultType) return { status: 'invalid', reason: 'message is not a CloudEvent and this subscription has no default type' };
  if (data === undefined) return { status: 'invalid', reason: 'message data is empty' };
  return { status: 'event', event: { id: delivery.messageId, source: `//pubsub.googleapis.com/topics/${delivery.topic}`, type: defaultType, data } };
}

/**
 * The context as received, checked: required attributes first (ours: the SDK would fill in a random id), then
 * the SDK's validation of the whole event. The RawEvent keeps the received strings, time included.
 */
function envelope(context: Readonly<Record<string, unknown>>, data: unknown): Decoded {
  const { id, source, type, subject, time } = context;
  const missing = Object.entries({ id, source, type })
    .filter(([, value]) => typeof value !== 'string' || value === '')
    .map(([name]) => name);
  if (missing.length > 0) return { status: 'invalid', reason: `CloudEvent is missing required attribute(s): ${missing.join(', ')}` };
  const problem = cloudEventProblem(context, data);
  if (problem !== undefined) return { status: 'invalid', reason: problem };
  if (type === eventarcFinalizedType) {
    if (data === undefined || data === null) return { status: 'invalid', reason: 'message data is empty' };
    return eventarcFinalized(source as string, subject, time, data);
  }
  return {
    status: 'event',
    event: {
      id: id as string,
      source: source as string,
      type: type as string,
      ...(typeof subject === 'string' ? { subject } : {}),
      ...(typeof time === 'string' ? { time } : {}),
      data,
    },
  };
}

/** https://cloud.google.com/storage/docs/pubsub-notifications: attributes name the event, data is the object resource. */
function decodeStorageNotification(delivery: Delivery): Decoded {
  const { eventType, payloadFormat, bucketId, objectId, objectGeneration } = delivery.attributes;
  if (eventType !== 'OBJECT_FINALIZE') return { status: 'ignored', reason: `storage event ${eventType ?? ''} is not a finalize` };
  if (payloadFormat !== 'JSON_API_V1') {
    return { status: 'invalid', reason: `storage notification payloadFormat '${payloadFormat ?? ''}' carries no object resource; configure JSON_API_V1` };
  }
  let resource: unknown;
  try {
    resource = JSON.parse(delivery.data.toString('utf8'));
  } catch (error) {
    return { status: 'invalid', reason: `storage notification data is not JSON: ${(error as Error).message}` };
  }
  return {
    status: 'event',
    event: {
      // The same object generation is the same event, however many times GCS notifies it.
      id: `${bucketId ?? ''}/${objectId ?? ''}#${objectGeneration ?? ''}`,
      source: `//storage.googleapis.com/projects/_/buckets/${bucketId ?? ''}`,
      type: EventType.objectFinalized,
      subject: `objects/${objectId ?? ''}`,
      ...(delivery.attributes.eventTime ? { time: delivery.attributes.eventTime } : {}),
      data: normalizeStorageObject(resource, 'pubsub-notification'),
    },
  };
}

/** Eventarc's storage event, normalized like the notification so both forms of one upload look the same. */
function eventarcFinalized(source: string, subject: unknown, time: unknown, resource: unknown): Decoded {
  const data = normalizeStorageObject(resource, 'eventarc');
  return {
    status: 'event',
    event: {
      id: `${String(data.bucket)}/${String(data.name)}#${String(data.generation)}`,
      source,
      type: EventType.objectFinalized,
      ...(typeof subject === 'string' ? { subject } : {}),
      ...(typeof time === 'string' ? { time } : {}),
      data,
    },
  };
}

function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
