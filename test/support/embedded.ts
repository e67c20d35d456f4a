/**
 * A real embedded runtime in a temp folder, for integration tests: real bus, real SQLite store, real folders,
 * real ffprobe. Tests add steps and fault injection through the same options production code uses.
 */
import { MEDIA_STEP_NEEDS } from '../../shared/runtime/needs.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { buildPipeline } from '../../functions/pipeline.ts';
import { productionSteps } from '../../functions/registry.ts';
import { checksumStep } from '../../functions/checksum/step.ts';
import { loadConfig } from '../../shared/config/config.ts';
import { assetPath, uploadAssetId } from '../../shared/domain/asset-id.ts';
import type { AssetDoc } from '../../shared/domain/asset.ts';
import type { DocData } from '../../shared/ports/document-store.ts';
import { createStepRegistry, shardedOrders, skip, type PlanContext, type StepDefinition, type StepRegistry } from '../../shared/domain/step.ts';
import type { BlobMetadata, WriteOptions } from '../../shared/ports/blob-store.ts';
import type { Delivery, DeliveryHandler } from '../../shared/ports/bus.ts';
import { createEmbeddedRuntime, type EmbeddedOptions, type EmbeddedRuntime } from '../../shared/runtime/embedded.ts';

export interface TestRuntime extends EmbeddedRuntime {
  readonly dataDir: string;
  /** Every message published to the asset-events topic, in order. */
  readonly assetEvents: Delivery[];
  /** Deliveries per function, counted before the handler runs. */
  readonly deliveries: Map<string, number>;
  asset(id: string): Promise<AssetDoc | undefined>;
  dispose(): Promise<void>;
}

/**
 * Orchestration tests run the cheapest real step only: what they check (retries, duplicates, fan-in, ordering)
 * does not depend on which media steps exist, and encoding thumbnails for each case would only slow them down.
 * Suites about a media step pass their own registry.
 */
export const orchestrationSteps: StepRegistry = createStepRegistry([checksumStep]);

export interface TestRuntimeOptions {
  readonly steps?: StepRegistry;
  readonly env?: Readonly<Record<string, string>>;
  readonly wrapHandler?: EmbeddedOptions['wrapHandler'];
  readonly wrapDeps?: EmbeddedOptions['wrapDeps'];
  /**
   * Start on this data directory (state and buckets) instead of a fresh one, as a redeploy starts on the same
   * project; dispose() then leaves it for the caller to remove.
   */
  readonly dataDir?: string;
}

export async function startTestRuntime(options: TestRuntimeOptions = {}): Promise<TestRuntime> {
  const dataDir = options.dataDir ?? (await mkdtemp(path.join(os.tmpdir(), 'mediaflow-test-')));
  const config = loadConfig(
    {
      PATH: process.env.PATH,
      MEDIAFLOW_LOG_LEVEL: 'silent',
      // Pub/Sub's 10 s backoff scaled to 10 ms: retries stay observable, tests stay fast.
      MEDIAFLOW_EMBEDDED_TIME_SCALE: '0.001',
      MEDIAFLOW_PARTNER_BUCKETS: 'partner-drop',
      ...options.env,
    },
    { dataDir },
  );
  const deliveries = new Map<string, number>();
  const runtime = createEmbeddedRuntime({
    config,
    steps: options.steps ?? orchestrationSteps,
    pipeline: buildPipeline,
    env: { PATH: process.env.PATH },
    ...(options.wrapDeps ? { wrapDeps: options.wrapDeps } : {}),
    wrapHandler: (subscription, handler) => {
      const counted: DeliveryHandler = async (delivery) => {
        deliveries.set(subscription.function, (deliveries.get(subscription.function) ?? 0) + 1);
        await handler(delivery);
      };
      return options.wrapHandler?.(subscription, counted) ?? counted;
    },
  });
  const assetEvents: Delivery[] = [];
  runtime.bus.subscribe(
    {
      name: 'test-tap--asset-events',
      topic: config.topics.assetEvents,
      ackDeadlineSeconds: 60,
      maxDeliveryAttempts: 5,
      minimumBackoffSeconds: 0,
      maximumBackoffSeconds: 0,
      maxConcurrency: 1,
    },
    async (delivery) => {
      assetEvents.push(delivery);
    },
  );
  return {
    ...runtime,
    dataDir,
    assetEvents,
    deliveries,
    asset: (id) => runtime.store.get<AssetDoc>(assetPath(id)),
    async dispose() {
      await runtime.close();
      if (options.dataDir === undefined) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Uploads a file to the ingest bucket, as a user would, and returns its asset once the pipeline has gone quiet. */
export async function uploadAndSettle(
  rt: TestRuntime,
  file: string,
  name: string,
  options: WriteOptions = {},
): Promise<{ id: string; meta: BlobMetadata; asset: AssetDoc | undefined }> {
  const meta = await rt.blobs.upload(file, { bucket: rt.deps.config.buckets.ingest, name }, options);
  await rt.idle();
  const id = uploadAssetId(meta.bucket, meta.name, meta.generation);
  return { id, meta, asset: await rt.asset(id) };
}

/** The orchestration steps plus the given test steps. */
export function withSteps(...extra: StepDefinition[]): StepRegistry {
  return createStepRegistry([...orchestrationSteps.values(), ...extra]);
}

/** What a test may say about a step's planning, each part optional: whether it applies, its shards, their params. */
export interface TestStepOptions extends Partial<Omit<StepDefinition, 'plan' | 'params'>> {
  readonly appliesTo?: (context: PlanContext) => boolean;
  readonly shardCount?: (context: PlanContext) => number;
  readonly params?: (context: PlanContext, shardIndex: number) => DocData;
  readonly plan?: StepDefinition['plan'];
}

/** A step for tests: applies to everything, no params, behaviour supplied by the test. */
export function testStep(name: string, run: StepDefinition['run'], options: TestStepOptions = {}): StepDefinition {
  const { appliesTo, shardCount, params, plan, ...overrides } = options;
  const planned: StepDefinition['plan'] =
    plan ?? ((context) => ((appliesTo?.(context) ?? true) ? shardedOrders(shardCount?.(context) ?? 1, (shard) => params?.(context, shard) ?? {}) : skip()));
  return {
    name,
    dependsOn: [],
    timeoutMs: 30_000,
    recipeVersion: 'test',
    needs: MEDIA_STEP_NEEDS,
    paramsSchema: { type: 'object' },
    outputsSchema: { type: 'object' },
    plan: planned,
    params: (context, shardIndex) => {
      const decided = planned(context);
      if (decided.kind !== 'orders') throw new Error(`${name} has no work orders for ${context.assetId}`);
      return decided.params(shardIndex);
    },
    run,
    ...overrides,
  };
}

/** Cost figures measured from the clock and the CPU: they differ between two runs of the same work. */
const MEASURED = new Set(['cpuSeconds', 'wallSeconds', 'vcpuSeconds', 'gbSeconds', 'usd']);

/** Replaces what differs between two otherwise identical runs (clock readings, generations, measured cost), so documents can be compared. */
export function normalizeDoc(value: unknown): unknown {
  if (value instanceof Date) return '<date>';
  if (Array.isArray(value)) return value.map(normalizeDoc);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [
        key,
        key === 'durationMs'
          ? '<ms>'
          : MEASURED.has(key)
            ? '<measured>'
            : typeof item === 'string'
              ? item.replace(/\d{13,19}/g, '<gen>').replace(/\d{4}-\d\d-\d\dT[\d:.]+Z/g, '<date>')
              : normalizeDoc(item),
      ]),
    );
  }
  return value;
}

/**
 * A runtime with the production steps' validator and real adapters but no subscriptions: for tests that call one
 * function's handle() directly and look at what it recorded or published, with nothing else reacting.
 */
export function useUnwiredRuntime(): { readonly deps: () => EmbeddedRuntime['deps'] } {
  let dataDir = '';
  let runtime: EmbeddedRuntime | undefined;
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'mediaflow-contract-'));
    runtime = createEmbeddedRuntime({
      config: loadConfig({ MEDIAFLOW_LOG_LEVEL: 'silent' }, { dataDir }),
      steps: productionSteps,
      pipeline: () => ({ functions: [], subscriptions: [] }),
      env: {},
    });
  });
  afterAll(async () => {
    await runtime?.close();
    await rm(dataDir, { recursive: true, force: true });
  });
  return { deps: () => runtime!.deps };
}
