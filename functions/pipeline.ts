/**
 * The pipeline's wiring: which function listens on which topic, with which ack deadline, retry policy and
 * dead-letter topic. The embedded runtime subscribes from this list; the local cloud and Terraform are checked
 * against it, so the deadlines come from the same named timeouts everywhere.
 */
import { workTopic, type Config } from '../shared/config/config.ts';
import type { StepRegistry } from '../shared/domain/step.ts';
import type { SubscriptionSpec } from '../shared/ports/bus.ts';
import type { FunctionDefinition } from '../shared/runtime/handler.ts';
import { workerFunction } from '../shared/runtime/worker.ts';
import { ackDeadlineSeconds } from '../shared/runtime/ack-deadline.ts';
import { coordinatorFunction } from './coordinator/run.ts';
import { deadletterFunction } from './deadletter/run.ts';
import { ingestFunction } from './ingest/run.ts';
import { WATCHDOG_TIMEOUT_MS, watchdogFunction } from './watchdog/run.ts';

export { ACK_DEADLINE_MARGIN_SECONDS, ackDeadlineSeconds, MAX_ACK_DEADLINE_SECONDS } from '../shared/runtime/ack-deadline.ts';

/** Download and ffprobe of a large upload. */
export const INGEST_TIMEOUT_MS = 120_000;
/** A few small reads and one transaction. */
export const COORDINATOR_TIMEOUT_MS = 60_000;
export const DEADLETTER_TIMEOUT_MS = 60_000;
export interface PipelineFunction {
  readonly definition: FunctionDefinition;
  readonly timeoutMs: number;
  readonly topics: readonly string[];
}

export interface Pipeline {
  readonly functions: readonly PipelineFunction[];
  readonly topics: readonly string[];
  readonly subscriptions: readonly (SubscriptionSpec & { readonly function: string })[];
}

/** `<function>--<topic>`: the dead-letter handler reads the function back out of the name. */
export function subscriptionName(functionName: string, topic: string): string {
  return `${functionName}--${topic}`;
}

export function buildPipeline(config: Config, steps: StepRegistry, options: { maxConcurrency?: number } = {}): Pipeline {
  const functions: PipelineFunction[] = [
    { definition: ingestFunction, timeoutMs: INGEST_TIMEOUT_MS, topics: [config.topics.uploads, config.topics.ingestRequests] },
    { definition: coordinatorFunction, timeoutMs: COORDINATOR_TIMEOUT_MS, topics: [config.topics.stepResults] },
    { definition: deadletterFunction, timeoutMs: DEADLETTER_TIMEOUT_MS, topics: [config.topics.deadLetters] },
    { definition: watchdogFunction, timeoutMs: WATCHDOG_TIMEOUT_MS, topics: [config.topics.watchdogTicks] },
    ...[...steps.values()].map((step) => ({ definition: workerFunction(step), timeoutMs: step.timeoutMs, topics: [workTopic(config, step.name)] })),
  ];
  const subscriptions = functions.flatMap((fn) =>
    fn.topics.map((topic) => ({
      function: fn.definition.name,
      name: subscriptionName(fn.definition.name, topic),
      topic,
      ackDeadlineSeconds: ackDeadlineSeconds(fn.timeoutMs),
      maxDeliveryAttempts: config.retry.maxDeliveryAttempts,
      minimumBackoffSeconds: config.retry.minimumBackoffSeconds,
      maximumBackoffSeconds: config.retry.maximumBackoffSeconds,
      // The dead-letter sink has no dead-letter topic of its own: it retries until it can record the message.
      ...(topic === config.topics.deadLetters ? {} : { deadLetterTopic: config.topics.deadLetters }),
      maxConcurrency: options.maxConcurrency ?? 1,
    })),
  );
  const topics = [...new Set([...functions.flatMap((fn) => fn.topics), config.topics.assetEvents])].sort();
  return { functions, topics, subscriptions };
}
