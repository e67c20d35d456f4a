/**
 * Publishes CloudEvents in binary content mode over Pub/Sub (the CloudEvents Pub/Sub protocol binding):
 * the context goes into `ce-*` attributes and the payload is the message data, so a subscriber can route and
 * filter on attributes without parsing the body. Event ids are deterministic, so consumers can dedupe.
 */
import type { Publisher } from '../ports/bus.ts';

export interface OutgoingEvent {
  readonly type: string;
  readonly id: string;
  /** Which function published it, as a URI reference: `//mediaflow/<function>`. */
  readonly source: string;
  readonly subject?: string;
  readonly time: Date;
  readonly data: unknown;
}

export function sourceOf(functionName: string): string {
  return `//mediaflow/${functionName}`;
}

export async function publishEvent(bus: Publisher, topic: string, event: OutgoingEvent): Promise<string> {
  return bus.publish(topic, {
    data: Buffer.from(JSON.stringify(event.data)),
    attributes: {
      'ce-specversion': '1.0',
      'ce-type': event.type,
      'ce-id': event.id,
      'ce-source': event.source,
      'ce-time': event.time.toISOString(),
      ...(event.subject ? { 'ce-subject': event.subject } : {}),
      'content-type': 'application/json',
    },
  });
}
