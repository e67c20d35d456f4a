/**
 * The whole pipeline on the local cloud: emulators and fake-gcs-server, buckets, topics, subscriptions with
 * dead-letter topics and retry policies, and every function as its own functions-framework process on its own
 * port. `npm run dev` runs it for people; the GCP end-to-end suites run it for tests.
 *
 * Delivery to the functions is pushed by this process from pull subscriptions (push-forwarder.ts), not by the
 * emulator: the emulator strands push messages under a retry policy (docs/local-cloud-emulator.md).
 */
import type { PubSub } from '@google-cloud/pubsub';
import path from 'node:path';
import { buildPipeline, type Pipeline } from '../../functions/pipeline.ts';
import { productionSteps } from '../../functions/registry.ts';
import { createStorageClient } from '../../shared/adapters/gcp/blob-store.ts';
import { createPubSubClient, ensureSubscription, ensureTopic } from '../../shared/adapters/gcp/pubsub.ts';
import { loadConfig, type Config } from '../../shared/config/config.ts';
import { freePort, listening, startLocalCloud, startServer, type LocalCloud, type RunningServer } from './local-cloud.ts';
import { startPushForwarder, type ForwarderStats, type PushForwarder } from './push-forwarder.ts';

const repoRoot = path.resolve(import.meta.dirname, '..', '..');
const frameworkMain = path.join(repoRoot, 'node_modules', '@google-cloud', 'functions-framework', 'build', 'src', 'main.js');

/**
 * How messages reach the functions (docs/local-cloud-emulator.md has the measurements behind the default):
 *  - `forwarded-pull` (default): pull subscriptions with the production retry and dead-letter policies, pushed
 *    to the functions by this process. Redelivery and dead-lettering behave as configured.
 *  - `push`: the emulator's own push, as deployed. Strands messages after failed pushes; for reproducing that.
 *  - `push-without-retry-policy`: the emulator's push with no retry policy. Dead-letters correctly, but
 *    redelivers about once a second, so a function down for more than ~4 s has its messages dead-lettered.
 */
export const LOCAL_DELIVERIES = ['forwarded-pull', 'push', 'push-without-retry-policy'] as const;
export type LocalDelivery = (typeof LOCAL_DELIVERIES)[number];

/**
 * Per subscription: what the emulator's own push does (measured: at most 2 pushes in flight per subscription,
 * docs/local-cloud-emulator.md), so the functions see the same load shape as with push.
 */
export const FORWARD_CONCURRENCY = 2;

/** MEDIAFLOW_LOCAL_DELIVERY picks the delivery for `npm run dev`, the GCP suites and the benches. */
export function localDeliveryFromEnv(env: NodeJS.ProcessEnv = process.env): LocalDelivery {
  const value = env.MEDIAFLOW_LOCAL_DELIVERY;
  if (value === undefined || value === '') return 'forwarded-pull';
  if ((LOCAL_DELIVERIES as readonly string[]).includes(value)) return value as LocalDelivery;
  throw new Error(`MEDIAFLOW_LOCAL_DELIVERY must be one of ${LOCAL_DELIVERIES.join(', ')} (got ${value})`);
}

export interface GcpStack {
  readonly cloud: LocalCloud;
  readonly config: Config;
  readonly pipeline: Pipeline;
  /** Environment a client (or a function) needs to reach this stack. */
  readonly env: Record<string, string>;
  readonly functionUrls: ReadonlyMap<string, string>;
  readonly delivery: LocalDelivery;
  /** Subscription name → the URL its messages are POSTed to (by the emulator or by the forwarder). */
  readonly pushEndpoints: ReadonlyMap<string, string>;
  /** `forwarded-pull` only: per subscription, what its forwarder has done so far. */
  forwarderStats(): ReadonlyMap<string, ForwarderStats>;
  /** Kills a function's process group and starts it again on the same port. */
  restartFunction(name: string): Promise<void>;
  stopFunction(name: string): Promise<void>;
  startFunction(name: string): Promise<void>;
  /** Recent output of a function's process. */
  functionOutput(name: string): string;
  stop(): Promise<void>;
}

export interface GcpStackOptions {
  readonly projectId?: string;
  /** Reuse servers that are already running (a test run's global setup); they are then not stopped here. */
  readonly cloud?: Omit<LocalCloud, 'stop'>;
  /** Extra environment for the functions (log level, retry knobs...). */
  readonly functionEnv?: Readonly<Record<string, string>>;
  /** Default: MEDIAFLOW_LOCAL_DELIVERY, else `forwarded-pull`. */
  readonly delivery?: LocalDelivery;
  /** `forwarded-pull` only: deliveries in flight per subscription (default FORWARD_CONCURRENCY). */
  readonly forwardConcurrency?: number;
  readonly log?: (line: string) => void;
}

export async function startGcpStack(options: GcpStackOptions = {}): Promise<GcpStack> {
  const projectId = options.projectId ?? 'mediaflow-dev';
  const log = options.log ?? (() => undefined);
  const delivery = options.delivery ?? localDeliveryFromEnv();
  const baseEnv: Record<string, string> = {
    MEDIAFLOW_RUNTIME: 'gcp',
    GOOGLE_CLOUD_PROJECT: projectId,
    MEDIAFLOW_INGEST_BUCKET: 'mediaflow-ingest',
    MEDIAFLOW_DERIVATIVES_BUCKET: 'mediaflow-derivatives',
    MEDIAFLOW_PARTNER_BUCKETS: 'partner-drop',
    // The emulator's retry policy is real; keep its minimum short so a redelivery shows up in seconds.
    MEDIAFLOW_MIN_BACKOFF_SECONDS: '1',
    MEDIAFLOW_MAX_BACKOFF_SECONDS: '10',
    ...options.functionEnv,
  };
  const config = loadConfig(baseEnv);
  const pipeline = buildPipeline(config, productionSteps);
  const cloud: LocalCloud = options.cloud
    ? { ...options.cloud, stop: () => Promise.resolve() }
    : await startLocalCloud({ projectId, notificationTopic: config.topics.uploads, notificationBucket: config.buckets.ingest, log });
  const env = { ...baseEnv, ...cloud.env };
  // The provisioning clients below (and any client the caller makes) find the emulators the way the Google
  // libraries always do: through these variables. This process exists to run the stack, so it adopts them.
  Object.assign(process.env, cloud.env);
  const processes = new Map<string, RunningServer>();
  const ports = new Map<string, number>();
  const urls = new Map<string, string>();
  const endpoints = new Map<string, string>();
  const forwarders: PushForwarder[] = [];
  let forwardClient: PubSub | undefined;
  const stopForwarders = async (): Promise<void> => {
    await Promise.all(forwarders.splice(0).map((forwarder) => forwarder.close()));
    await forwardClient?.close();
  };
  try {
    for (const fn of pipeline.functions) {
      const port = await freePort();
      ports.set(fn.definition.name, port);
      urls.set(fn.definition.name, `http://127.0.0.1:${port}`);
    }
    for (const subscription of pipeline.subscriptions) {
      endpoints.set(subscription.name, pushEndpoint(urls.get(subscription.function)!, cloud.projectId, subscription.topic));
    }
    await provision(cloud, config, pipeline, delivery, endpoints);
    log(`buckets            ${[config.buckets.ingest, config.buckets.derivatives, ...config.buckets.partner].join(', ')}`);
    log(`topics             ${pipeline.topics.join(', ')}`);
    const start = async (name: string): Promise<void> => {
      const port = ports.get(name)!;
      const server = await startServer(
        `function ${name}`,
        urls.get(name)!,
        process.execPath,
        [
          '--disable-warning=ExperimentalWarning',
          frameworkMain,
          `--target=${name}`,
          `--source=${path.join(repoRoot, 'functions', 'index.ts')}`,
          '--signature-type=cloudevent',
          `--port=${port}`,
        ],
        { ...process.env, ...env, NODE_ENV: 'production' },
        () => listening(port),
      );
      processes.set(name, server);
    };
    await Promise.all(pipeline.functions.map((fn) => start(fn.definition.name)));
    for (const [name, url] of urls) log(`function ${name.padEnd(11)} ${url}`);
    if (delivery === 'forwarded-pull') {
      const client = createPubSubClient({ projectId: cloud.projectId });
      forwardClient = client;
      for (const subscription of pipeline.subscriptions) {
        forwarders.push(
          startPushForwarder(client, subscription, endpoints.get(subscription.name)!, {
            maxInFlight: options.forwardConcurrency ?? FORWARD_CONCURRENCY,
            onError: (error) => log(`forwarder ${subscription.name}: ${error.message}`),
          }),
        );
      }
    }
    log(`delivery           ${delivery}`);
    return {
      cloud,
      config,
      pipeline,
      env,
      functionUrls: urls,
      delivery,
      pushEndpoints: endpoints,
      forwarderStats: () => new Map(forwarders.map((forwarder) => [forwarder.subscription, forwarder.stats()])),
      async restartFunction(name) {
        await processes.get(name)?.stop();
        await start(name);
      },
      async stopFunction(name) {
        await processes.get(name)?.stop();
      },
      startFunction: start,
      functionOutput: (name) => processes.get(name)?.output() ?? '',
      async stop() {
        await stopForwarders();
        await Promise.all([...processes.values()].map((server) => server.stop()));
        await cloud.stop();
      },
    };
  } catch (error) {
    await stopForwarders();
    await Promise.all([...processes.values()].map((server) => server.stop()));
    await cloud.stop();
    throw error;
  }
}

/**
 * Buckets, topics, and one subscription per (function, topic), each with its dead-letter topic and retry policy
 * (none for `push-without-retry-policy`); a push subscription unless the stack forwards pulls itself.
 */
async function provision(
  cloud: LocalCloud,
  config: Config,
  pipeline: Pipeline,
  delivery: LocalDelivery,
  endpoints: ReadonlyMap<string, string>,
): Promise<void> {
  const storage = createStorageClient({ apiEndpoint: cloud.storageEndpoint, projectId: cloud.projectId });
  for (const bucket of [config.buckets.ingest, config.buckets.derivatives, ...config.buckets.partner]) {
    const [exists] = await storage.bucket(bucket).exists();
    if (!exists) await storage.createBucket(bucket);
  }
  const pubsub = createPubSubClient({ projectId: cloud.projectId });
  for (const topic of [...pipeline.topics, config.topics.deadLetters]) await ensureTopic(pubsub, topic);
  for (const subscription of pipeline.subscriptions) {
    const endpoint = delivery === 'forwarded-pull' ? undefined : endpoints.get(subscription.name);
    await ensureSubscription(pubsub, subscription, endpoint, { retryPolicy: delivery !== 'push-without-retry-policy' });
  }
  await pubsub.close();
}

/** The topic goes in the path: functions-framework puts it into the CloudEvent source only from there. */
export function pushEndpoint(functionUrl: string, projectId: string, topic: string): string {
  return `${functionUrl}/projects/${projectId}/topics/${topic}`;
}
