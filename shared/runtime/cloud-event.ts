/**
 * What functions-framework hands a `cloudEvent` function, turned into the bus's Delivery so the same edge
 * (decode, validate, ack/retry) serves Cloud Run and the embedded runtime. The forms GCP really delivers:
 *  - `google.cloud.pubsub.topic.v1.messagePublished`: Eventarc's Pub/Sub trigger, and a raw push body the
 *    framework converted (its source names the topic only when the push URL path holds projects/P/topics/T);
 *  - a raw push body the framework did NOT recognise (it requires message.data, so an empty-data message, e.g.
 *    a GCS notification with payloadFormat NONE, arrives untouched, with no `type`);
 *  - any other CloudEvent, e.g. Eventarc's `google.cloud.storage.object.v1.finalized`, binary or structured.
 */
import type { Delivery } from '../ports/bus.ts';

export const PUBSUB_MESSAGE_PUBLISHED = 'google.cloud.pubsub.topic.v1.messagePublished';

/** The CloudEvent as the framework builds it: context attributes plus data, loosely typed at this edge. */
export type FrameworkCloudEvent = Readonly<Record<string, unknown>>;

interface PushMessage {
  readonly data?: string;
  readonly attributes?: Record<string, string>;
  readonly messageId?: string;
  readonly message_id?: string;
  readonly publishTime?: string;
  readonly publish_time?: string;
}

/** deliveryAttempt 0 means "unknown": neither the emulator nor the framework's conversion carries it. */
const UNKNOWN_ATTEMPT = 0;
const contextAttributes = ['id', 'source', 'type', 'specversion', 'subject', 'time', 'datacontenttype'] as const;

export function deliveryFromCloudEvent(event: FrameworkCloudEvent): Delivery {
  const data = event.data as Record<string, unknown> | undefined;
  if (event.type === PUBSUB_MESSAGE_PUBLISHED && data && typeof data.message === 'object') {
    return fromPushMessage(data.message as PushMessage, stringOr(data.subscription), topicOfSource(stringOr(event.source)), numberOr(data.deliveryAttempt));
  }
  if (event.type === undefined && typeof event.message === 'object' && event.message !== null) {
    return fromPushMessage(event.message, stringOr(event.subscription), '', numberOr(event.deliveryAttempt));
  }
  const attributes: Record<string, string> = {};
  for (const name of contextAttributes) {
    const value = event[name];
    if (typeof value === 'string') attributes[name === 'datacontenttype' ? 'content-type' : `ce-${name}`] = value;
  }
  const body = event.data;
  return {
    messageId: stringOr(event.id),
    publishTime: typeof event.time === 'string' ? new Date(event.time) : new Date(),
    data: Buffer.isBuffer(body) ? body : body === undefined ? Buffer.alloc(0) : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)),
    attributes,
    deliveryAttempt: UNKNOWN_ATTEMPT,
    subscription: 'eventarc',
    topic: '',
  };
}

function fromPushMessage(message: PushMessage, subscription: string, topic: string, deliveryAttempt: number): Delivery {
  const publishTime = message.publishTime ?? message.publish_time;
  return {
    messageId: message.messageId ?? message.message_id ?? '',
    publishTime: publishTime ? new Date(publishTime) : new Date(),
    data: Buffer.from(message.data ?? '', 'base64'),
    attributes: { ...(message.attributes ?? {}) },
    deliveryAttempt,
    subscription: subscription.slice(subscription.lastIndexOf('/') + 1),
    topic,
  };
}

/** `//pubsub.googleapis.com/projects/P/topics/T` → `T`; '' when the push URL did not carry it. */
export function topicOfSource(source: string): string {
  return /\/topics\/([^/]+)$/.exec(source)?.[1] ?? '';
}

function stringOr(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function numberOr(value: unknown): number {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : UNKNOWN_ATTEMPT;
}
