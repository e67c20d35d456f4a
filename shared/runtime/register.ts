/**
 * Registers functions with functions-framework as `cloudEvent` functions. Throw means retry: the framework
 * answers 500 and Pub/Sub redelivers. Return means ack: 204, also for duplicates, rejected events and recorded
 * permanent failures. In front of each, the HTTP guard (http-guard.ts) acks and records what never becomes a
 * CloudEvent: malformed bodies, wrong content, wrong methods.
 */
import * as functions from '@google-cloud/functions-framework';
import { createHash } from 'node:crypto';
import { errorMessage } from '../errors.ts';
import type { Delivery } from '../ports/bus.ts';
import { deliveryFromCloudEvent, topicOfSource, type FrameworkCloudEvent } from './cloud-event.ts';
import type { Deps } from './deps.ts';
import { guardFrameworkServer } from './framework-server.ts';
import { recordRejection, type FunctionDefinition } from './handler.ts';
import { HTTP_SUBSCRIPTION, httpGuard, REFUSED_BODY_BYTES } from './http-guard.ts';

const MESSAGE_ID_HEX_CHARS = 32;

export function registerCloudEventFunctions(definitions: readonly FunctionDefinition[], deps: () => Promise<Deps>): void {
  for (const definition of definitions) {
    const userFunction = async (event: functions.CloudEvent<unknown>): Promise<void> => {
      // The framework hands over the event as a plain object; a copy of its fields is the record conversion reads.
      const frameworkEvent: FrameworkCloudEvent = { ...event };
      let delivery: Delivery;
      try {
        delivery = deliveryFromCloudEvent(frameworkEvent);
      } catch (error) {
        // Conversion is pure: an event it cannot read (say, message.data a number) will never read; ack it.
        await refuseUnreadable(definition.name, frameworkEvent, error, await deps());
        return;
      }
      await definition.handle(delivery, await deps());
    };
    functions.cloudEvent(definition.name, userFunction);
    guardFrameworkServer(userFunction, (app) => httpGuard({ name: definition.name, deps }, app));
  }
}

async function refuseUnreadable(functionName: string, event: FrameworkCloudEvent, error: unknown, deps: Deps): Promise<void> {
  const json = Buffer.from(JSON.stringify(event));
  const delivery: Delivery = {
    // The same event redelivered is the same message, so its record is written once.
    messageId: `http-${createHash('sha256').update(json).digest('hex').slice(0, MESSAGE_ID_HEX_CHARS)}`,
    publishTime: deps.clock.now(),
    data: json.subarray(0, REFUSED_BODY_BYTES),
    attributes: {},
    deliveryAttempt: 0,
    subscription: HTTP_SUBSCRIPTION,
    topic: topicOfSource(typeof event.source === 'string' ? event.source : ''),
  };
  await recordRejection(functionName, delivery, deps, {
    reason: 'INVALID_EVENT',
    eventId: typeof event.id === 'string' ? event.id : null,
    type: typeof event.type === 'string' ? event.type : null,
    issues: [{ path: '', message: `the CloudEvent cannot be read as a delivery: ${errorMessage(error)}` }],
  });
}
