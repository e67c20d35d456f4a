/**
 * Publishes CloudEvents in binary content mode over Pub/Sub (the CloudEvents Pub/Sub protocol binding):
 * the context goes into `ce-*` attributes and the payload is the message data, so a subscriber can route and
 * filter on attributes without parsing the body. Event ids are deterministic, so consumers can dedupe.
 * The CloudEvents SDK builds and validates each event (cloudevents.ts).
 */
import type { Publisher } from '../ports/bus.ts';
import { binaryMessage, type OutgoingEvent } from './cloudevents.ts';

export type { OutgoingEvent } from './cloudevents.ts';

export function sourceOf(functionName: string): string {
  return `//mediaflow/${functionName}`;
}

export async function publishEvent(bus: Publisher, topic: string, event: OutgoingEvent): Promise<string> {
  return bus.publish(topic, binaryMessage(event));
}
