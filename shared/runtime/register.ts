/**
 * Registers functions with functions-framework as `cloudEvent` functions. Throw means retry: the framework
 * answers 500 and Pub/Sub redelivers. Return means ack: 204, also for duplicates, rejected events and recorded
 * permanent failures.
 */
import * as functions from '@google-cloud/functions-framework';
import { deliveryFromCloudEvent } from './cloud-event.ts';
import type { Deps } from './deps.ts';
import type { FunctionDefinition } from './handler.ts';

export function registerCloudEventFunctions(definitions: readonly FunctionDefinition[], deps: () => Promise<Deps>): void {
  for (const definition of definitions) {
    functions.cloudEvent(definition.name, async (event: functions.CloudEvent<unknown>) => {
      await definition.handle(deliveryFromCloudEvent(event), await deps());
    });
  }
}
