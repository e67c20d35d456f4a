/**
 * A no-op chain through the embedded runtime: N small uploads, each going ingest → coordinator → noop →
 * coordinator → noop2 → coordinator → READY. Probing and the steps do nothing, so what is measured is the
 * orchestration: notifications, validation, SQLite transactions, the outbox, scratch folders and the bus.
 *
 * The baseline is a bare LocalBus with the same subscriptions and concurrency, whose handlers only publish the
 * next hop: the floor the bus itself sets, which the pipeline's figures are divided by.
 */
import { MEDIA_STEP_NEEDS } from '../shared/runtime/needs.ts';
import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { table } from '../cli/view.ts';
import { buildPipeline } from '../functions/pipeline.ts';
import { LocalBus } from '../shared/adapters/local/bus.ts';
import { loadConfig, workTopic, type Config, type Env } from '../shared/config/config.ts';
import { createStepRegistry, orders, type StepDefinition, type StepRegistry } from '../shared/domain/step.ts';
import type { ProbeSummary } from '../shared/media/classify.ts';
import type { MediaTools } from '../shared/media/tools.ts';
import type { DeliveryHandler } from '../shared/ports/bus.ts';
import { createEmbeddedRuntime } from '../shared/runtime/embedded.ts';
import { formatCount, formatFixed, formatMs, formatRatio, positiveIntFromEnv, type Bench } from './lib/bench.ts';
import { HopRecorder, measureProcess, type HopStats, type ProcessCost } from './lib/measure.ts';

const DEFAULT_ASSETS = 1000;
const WARM_UP_ASSETS = 50;
const ASSET_BYTES = 64;
/**
 * Small, so a retry would cost milliseconds rather than Pub/Sub's seconds, yet large enough that no ack deadline
 * (the no-op steps': 45 s × scale) expires while a 1,000-asset burst queues up; redeliveries are reported.
 */
const TIME_SCALE = 0.01;

function noopStep(name: string, dependsOn: readonly string[]): StepDefinition {
  return {
    name,
    dependsOn,
    timeoutMs: 30_000,
    recipeVersion: '1',
    needs: MEDIA_STEP_NEEDS,
    paramsSchema: { type: 'object' },
    outputsSchema: { type: 'object' },
    plan: () => orders({}),
    params: () => ({}),
    run: () => Promise.resolve({ outputs: {} }),
  };
}

const steps = createStepRegistry([noopStep('noop', []), noopStep('noop2', ['noop'])]);

/** A 1×1 PNG as ffprobe would summarize it, so the plan is made without running ffprobe. */
const cannedProbe: ProbeSummary = {
  kind: 'image',
  formatName: 'png_pipe',
  durationSeconds: null,
  sizeBytes: ASSET_BYTES,
  bitRate: null,
  streams: [{ index: 0, type: 'video', codec: 'png', width: 1, height: 1, attachedPicture: false }],
  tags: {},
  display: { width: 1, height: 1 },
  animated: false,
  warnings: [],
};

const cannedTools: MediaTools = {
  ffmpeg: '/bench/ffmpeg',
  ffprobe: '/bench/ffprobe',
  versions: { ffmpeg: 'bench', ffprobe: 'bench' },
  sourceDemuxers: 'mov',
};

/** Only the knobs the bench pins, plus concurrency so it can be varied; the rest of the environment stays out. */
function benchEnv(): Env {
  return {
    MEDIAFLOW_LOG_LEVEL: 'silent',
    MEDIAFLOW_EMBEDDED_TIME_SCALE: String(TIME_SCALE),
    MEDIAFLOW_EMBEDDED_CONCURRENCY: process.env.MEDIAFLOW_EMBEDDED_CONCURRENCY,
  };
}

/**
 * The topics one asset's messages pass through, in order. The steps form a single chain in registration
 * order, so each runs after the previous one's result; the last hop is the coordinator's asset-ready event.
 */
function chainTopics(config: Config, registry: StepRegistry): string[] {
  const workHops = [...registry.keys()].flatMap((step) => [workTopic(config, step), config.topics.stepResults]);
  return [config.topics.uploads, config.topics.stepResults, ...workHops, config.topics.assetEvents];
}

interface RunResult {
  readonly assets: number;
  readonly deliveries: number;
  readonly redeliveries: number;
  readonly cost: ProcessCost;
  readonly hops: Map<string, HopStats>;
}

async function runPipeline(assets: number): Promise<RunResult> {
  const env = benchEnv();
  const dataDir = path.join(os.tmpdir(), `mediaflow-bench-${randomUUID()}`);
  const config = loadConfig(env, { dataDir });
  const recorder = new HopRecorder();
  const runtime = createEmbeddedRuntime({
    config,
    steps,
    pipeline: (c, s) => buildPipeline(c, s),
    env,
    probe: () => Promise.resolve(cannedProbe),
    mediaTools: () => Promise.resolve(cannedTools),
    wrapHandler: (subscription, handler) => recorder.wrap(subscription.function, handler),
  });
  try {
    const payload = Buffer.alloc(ASSET_BYTES, 0x2a);
    const cost = await measureProcess(async () => {
      // All at once: each write's finalize notification lands on the uploads topic, so this is a burst of uploads.
      await Promise.all(Array.from({ length: assets }, (_, i) => runtime.blobs.write({ bucket: config.buckets.ingest, name: `bench/${i}.png` }, payload)));
      await runtime.idle();
    });
    const ready = await runtime.store.count('assets', { where: [['status', '==', 'READY']] });
    if (ready !== assets) {
      const total = await runtime.store.count('assets');
      throw new Error(`pipeline run: ${ready} of ${assets} assets are READY (${total} assets exist, ${recorder.failures} deliveries failed)`);
    }
    return { assets, deliveries: recorder.deliveries, redeliveries: recorder.redeliveries, cost, hops: recorder.stats() };
  } finally {
    await runtime.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

async function runBaseline(assets: number): Promise<RunResult> {
  const config = loadConfig(benchEnv(), { dataDir: os.tmpdir() });
  const route = chainTopics(config, steps);
  const bus = new LocalBus({ timeScale: config.embeddedTimeScale, projectId: config.projectId });
  const recorder = new HopRecorder();
  // The hop index rides along in an attribute: the coordinator's subscription sees three hops of each chain.
  const forward: DeliveryHandler = async (delivery) => {
    const hop = Number(delivery.attributes.hop) + 1;
    const topic = route[hop];
    if (topic === undefined) throw new Error(`baseline: no hop ${hop} after ${delivery.topic}`);
    await bus.publish(topic, { data: delivery.data, attributes: { hop: String(hop) } });
  };
  for (const subscription of buildPipeline(config, steps).subscriptions) {
    bus.subscribe({ ...subscription, maxConcurrency: config.embeddedConcurrency }, recorder.wrap(subscription.function, forward));
  }
  try {
    const payload = Buffer.alloc(ASSET_BYTES, 0x2a);
    const cost = await measureProcess(async () => {
      await Promise.all(Array.from({ length: assets }, () => bus.publish(route[0]!, { data: payload, attributes: { hop: '0' } })));
      await bus.idle();
    });
    // Every topic but the last has a subscriber, so a complete chain is one delivery per topic but the last.
    const expected = assets * (route.length - 1);
    if (recorder.deliveries !== expected) throw new Error(`baseline run: ${recorder.deliveries} deliveries, expected ${expected}`);
    return { assets, deliveries: recorder.deliveries, redeliveries: recorder.redeliveries, cost, hops: recorder.stats() };
  } finally {
    await bus.close();
  }
}

function summaryTable(baseline: RunResult, pipeline: RunResult): string {
  const eventsPerSecond = (run: RunResult): number => run.deliveries / run.cost.wallSeconds;
  const assetsPerSecond = (run: RunResult): number => run.assets / run.cost.wallSeconds;
  const cpuPerDeliveryUs = (run: RunResult): number => (run.cost.cpuSeconds * 1e6) / run.deliveries;
  const rows: [string, (run: RunResult) => number, (value: number) => string][] = [
    ['deliveries', (run) => run.deliveries, formatCount],
    ['redeliveries', (run) => run.redeliveries, formatCount],
    ['wall time (s)', (run) => run.cost.wallSeconds, (value) => formatFixed(value, 2)],
    ['events/s', eventsPerSecond, formatCount],
    ['assets/s', assetsPerSecond, formatCount],
    ['CPU (s)', (run) => run.cost.cpuSeconds, (value) => formatFixed(value, 2)],
    ['CPU per delivery (µs)', cpuPerDeliveryUs, formatCount],
    ['peak RSS (MB)', (run) => run.cost.peakRssMb, formatCount],
  ];
  return table(
    ['metric', 'baseline', 'pipeline', 'pipeline/baseline'],
    rows.map(([label, figure, format]) => [label, format(figure(baseline)), format(figure(pipeline)), formatRatio(figure(pipeline), figure(baseline))]),
  );
}

function latencyTable(baseline: RunResult, pipeline: RunResult): string {
  const rows: string[][] = [];
  for (const [name, run] of [
    ['baseline', baseline],
    ['pipeline', pipeline],
  ] as const) {
    for (const [fn, stats] of run.hops) {
      const { latency, handler } = stats;
      rows.push([
        name,
        fn,
        formatCount(stats.deliveries),
        formatMs(latency.p50),
        formatMs(latency.p99),
        formatMs(latency.max),
        formatMs(handler.p50),
        formatMs(handler.p99),
      ]);
    }
  }
  return table(['run', 'function', 'deliveries', 'p50 ms', 'p99 ms', 'max ms', 'handler p50 ms', 'handler p99 ms'], rows);
}

function hopComparisonTable(baseline: RunResult, pipeline: RunResult): string {
  const rows: string[][] = [];
  for (const [fn, piped] of pipeline.hops) {
    const base = baseline.hops.get(fn);
    if (!base) continue;
    const { p50: b50, p99: b99 } = base.latency;
    const { p50, p99 } = piped.latency;
    rows.push([fn, formatMs(b50), formatMs(p50), formatRatio(p50, b50), formatMs(b99), formatMs(p99), formatRatio(p99, b99)]);
  }
  return table(['function', 'p50 baseline', 'p50 pipeline', 'ratio', 'p99 baseline', 'p99 pipeline', 'ratio'], rows);
}

export const embeddedChainBench: Bench = {
  name: 'embedded-chain',
  async run() {
    const assets = positiveIntFromEnv('BENCH_ASSETS', DEFAULT_ASSETS);
    // Baseline first: peak RSS is a process high-water mark, so the lighter run must be measured before the heavier.
    // Each warm-up runs in its own bus or runtime (and temp dir), so JIT and module state are warm, the data is not.
    await runBaseline(WARM_UP_ASSETS);
    const baseline = await runBaseline(assets);
    await runPipeline(WARM_UP_ASSETS);
    const pipeline = await runPipeline(assets);

    const config = loadConfig(benchEnv(), { dataDir: os.tmpdir() });
    const chain = ['ingest', 'coordinator', ...[...steps.keys()].flatMap((step) => [step, 'coordinator'])].join(' → ');
    return [
      `${formatCount(assets)} assets of ${ASSET_BYTES} B uploaded at once (warm-up ${WARM_UP_ASSETS}), ${chain}`,
      `concurrency ${config.embeddedConcurrency} per subscription (MEDIAFLOW_EMBEDDED_CONCURRENCY) · time scale ${TIME_SCALE} · probe and media tools canned`,
      '',
      summaryTable(baseline, pipeline),
      '',
      'Latency per function: publishTime → handler settled, so it includes the wait in the queue behind the burst.',
      latencyTable(baseline, pipeline),
      '',
      'Per hop, pipeline vs baseline:',
      hopComparisonTable(baseline, pipeline),
    ].join('\n');
  },
};
