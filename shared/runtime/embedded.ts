/**
 * The embedded runtime: the whole pipeline in one process with nothing from the cloud. Buckets are folders,
 * the bus is in-process (with Pub/Sub's retry, backoff and dead-letter behaviour), and the store is SQLite.
 * The functions are the same objects that run on Cloud Run; only the adapters differ.
 */
import path from 'node:path';
import { EventValidator } from '../../events/catalog.ts';
import { SqliteDocumentStore } from '../adapters/local/document-store.ts';
import { LocalBlobStore } from '../adapters/local/blob-store.ts';
import { LocalBus } from '../adapters/local/bus.ts';
import { SqliteBusJournal } from '../adapters/local/bus-journal.ts';
import { appendEvent, loggedEvent } from '../adapters/local/event-log.ts';
import { finalizeNotification } from './storage-notification.ts';
import type { Config } from '../config/config.ts';
import type { StepRegistry } from '../domain/step.ts';
import { probeMedia, REMOTE_MAX_BOX_READS } from '../media/probe.ts';
import { resolveMediaTools, type MediaTools } from '../media/tools.ts';
import { createLogger, type Logger } from '../observability/log.ts';
import { logs } from '../observability/messages.ts';
import type { DeliveryHandler, SubscriptionSpec } from '../ports/bus.ts';
import { systemClock, type Clock } from '../ports/clock.ts';
import { once, type Deps } from './deps.ts';
import type { FunctionDefinition } from './handler.ts';

export interface EmbeddedPipeline {
  readonly functions: readonly { readonly definition: FunctionDefinition }[];
  readonly subscriptions: readonly (SubscriptionSpec & { readonly function: string })[];
}

export interface EmbeddedOptions {
  readonly config: Config;
  readonly steps: StepRegistry;
  /** Builds the wiring from the config (functions/pipeline.ts); injected so shared/ does not depend on functions/. */
  readonly pipeline: (config: Config, steps: StepRegistry) => EmbeddedPipeline;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly clock?: Clock;
  readonly log?: Logger;
  /** Replaces ffprobe, for benchmarks of the orchestration alone. */
  readonly probe?: Deps['probe'];
  readonly mediaTools?: () => Promise<MediaTools>;
  /** The dependencies one function sees, so tests can inject faults into one function's store or bus. */
  readonly wrapDeps?: (functionName: string, deps: Deps) => Deps;
  /** Wraps every subscription's handler, so tests can inject faults or count deliveries. */
  readonly wrapHandler?: (subscription: SubscriptionSpec & { readonly function: string }, handler: DeliveryHandler) => DeliveryHandler;
}

export interface EmbeddedRuntime {
  readonly deps: Deps;
  readonly bus: LocalBus;
  readonly store: SqliteDocumentStore;
  readonly blobs: LocalBlobStore;
  /** Resolves when no message is queued, in flight or waiting for a retry. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

export const STATE_FILE = 'state.sqlite';
export const BUCKETS_DIR = 'buckets';
/** What a partner subscribed to the asset-events topic would have received, one JSON event per line. */
export const ASSET_EVENTS_FILE = 'asset-events.jsonl';
/** The embedded partner's subscription; its messages are journaled like every other. */
const EVENT_LOG_SUBSCRIPTION = 'event-log--asset-events';
/** Appending a line takes milliseconds; this only bounds a wedged disk. */
const EVENT_LOG_ACK_DEADLINE_SECONDS = 60;

export function createEmbeddedRuntime(options: EmbeddedOptions): EmbeddedRuntime {
  const { config, steps } = options;
  const clock = options.clock ?? systemClock;
  const log = options.log ?? createLogger(config.logLevel, { runtime: 'embedded' });
  const stateFile = path.join(config.dataDir, STATE_FILE);
  const store = SqliteDocumentStore.open(stateFile);
  // Messages live in the state file too: a process killed half-way leaves them there, and the next one delivers them.
  const journal = SqliteBusJournal.open(stateFile);
  const bus = new LocalBus({ clock, timeScale: config.embeddedTimeScale, ackDeadlineScale: 1, projectId: config.projectId, journal });
  // GCS notifications exist only for the ingest bucket: derivatives never re-enter the pipeline.
  const blobs = new LocalBlobStore({
    root: path.join(config.dataDir, BUCKETS_DIR),
    buckets: [...new Set([config.buckets.ingest, config.buckets.derivatives, ...config.buckets.partner])],
    clock,
    onFinalize: async (meta) => {
      if (meta.bucket === config.buckets.ingest) await bus.publish(config.topics.uploads, finalizeNotification(meta));
    },
  });
  const validator = new EventValidator(new Map([...steps.values()].map((step) => [step.name, step.paramsSchema])));
  const deps: Deps = {
    config,
    blobs,
    bus,
    store,
    clock,
    log,
    validator,
    steps,
    mediaTools: options.mediaTools ?? once(() => resolveMediaTools(options.env)),
    probe: options.probe ?? ((input, bytes, tools) => probeMedia(input, bytes, tools, { maxBoxReads: REMOTE_MAX_BOX_READS })),
  };
  const pipeline = options.pipeline(config, steps);
  const definitions = new Map(pipeline.functions.map((fn) => [fn.definition.name, fn.definition]));
  for (const subscription of pipeline.subscriptions) {
    const definition = definitions.get(subscription.function);
    if (!definition) throw new Error(`subscription ${subscription.name} names unknown function ${subscription.function}`);
    const functionDeps = options.wrapDeps?.(subscription.function, deps) ?? deps;
    const handler: DeliveryHandler = async (delivery) => {
      await definition.handle(delivery, functionDeps);
    };
    bus.subscribe({ ...subscription, maxConcurrency: config.embeddedConcurrency }, options.wrapHandler?.(subscription, handler) ?? handler);
  }
  const eventLog = path.join(config.dataDir, ASSET_EVENTS_FILE);
  bus.subscribe(
    {
      name: EVENT_LOG_SUBSCRIPTION,
      topic: config.topics.assetEvents,
      ackDeadlineSeconds: EVENT_LOG_ACK_DEADLINE_SECONDS,
      maxDeliveryAttempts: config.retry.maxDeliveryAttempts,
      minimumBackoffSeconds: config.retry.minimumBackoffSeconds,
      maximumBackoffSeconds: config.retry.maximumBackoffSeconds,
      maxConcurrency: 1,
    },
    (delivery) => appendEvent(eventLog, loggedEvent(delivery, clock.now())),
  );
  const stopWatchdog = tickWatchdog(bus, config);
  const recovered = bus.recover();
  if (recovered > 0) logs.messagesRecovered(log, recovered);
  return {
    deps,
    bus,
    store,
    blobs,
    idle: () => bus.idle(),
    async close() {
      stopWatchdog();
      await bus.close();
      journal.close();
      await store.close();
    },
  };
}

/**
 * Cloud Scheduler's part on one machine: a tick on the watchdog's topic every interval. The timer does not keep
 * the process alive, and a tick is an ordinary message, so it is journaled and delivered like any other.
 */
function tickWatchdog(bus: LocalBus, config: Config): () => void {
  if (config.embeddedWatchdogIntervalSeconds === 0) return () => undefined;
  const timer = setInterval(() => {
    // A tick refused by a bus that is closing is no loss: the sweep it would have run is the next tick's.
    bus.publish(config.topics.watchdogTicks, { data: Buffer.from(JSON.stringify({ tick: true })), attributes: {} }).catch(() => undefined);
  }, config.embeddedWatchdogIntervalSeconds * 1000);
  timer.unref();
  return () => clearInterval(timer);
}
