/**
 * The production pipeline on the local cloud against the same pipeline in the embedded runtime: 100 small JPEGs,
 * each going ingest (download + ffprobe) → coordinator → checksum → coordinator → READY, with the production
 * steps and the real ffprobe in both. The emulator stack runs every function as its own functions-framework
 * process behind Pub/Sub emulator push subscriptions, with state in the Firestore emulator and objects in
 * fake-gcs-server, so the ratio is what the process boundaries and the emulated services cost on this machine.
 *
 * The embedded runtime is the baseline and runs first, in this process. Hops are timed the same way in both
 * (bench/lib/hop-timeline.ts): from the settle of the delivery that caused a hop to the settle of its own
 * delivery, because the functions' logs on the stack carry when a delivery settled but not when it was published.
 */
import type { Storage } from '@google-cloud/storage';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { table } from '../cli/view.ts';
import { buildPipeline } from '../functions/pipeline.ts';
import { productionSteps } from '../functions/registry.ts';
import { startGcpStack, type GcpStack } from '../scripts/local-cloud/gcp-stack.ts';
import { jpegImage } from '../scripts/sample-media/sample-media.ts';
import { createFirestoreDocumentStore, type FirestoreDocumentStore } from '../shared/adapters/gcp/document-store.ts';
import { createStorageClient } from '../shared/adapters/gcp/blob-store.ts';
import { loadConfig, type Env } from '../shared/config/config.ts';
import { assetPath, uploadAssetId } from '../shared/domain/asset-id.ts';
import type { AssetDoc } from '../shared/domain/asset.ts';
import { AssetStatus, isTerminal } from '../shared/domain/state-machine.ts';
import type { DocumentStore } from '../shared/ports/document-store.ts';
import { createEmbeddedRuntime } from '../shared/runtime/embedded.ts';
import { formatCount, formatFixed, formatMs, formatRatio, positiveIntFromEnv, type Bench } from './lib/bench.ts';
import {
  buildTimeline,
  chainLabels,
  classifyEvent,
  epochMs,
  eventIdOf,
  hopLabel,
  parseFunctionLog,
  type HopTimeline,
  type Settle,
} from './lib/hop-timeline.ts';
import { summarize } from './lib/measure.ts';
import { processTreeCpuSeconds } from './lib/process-tree.ts';

const DEFAULT_ASSETS = 100;
const WARM_UP_ASSETS = 5;
const UPLOAD_CONCURRENCY = 8;
const IMAGE = { width: 320, height: 240 } as const;
const PROJECT_ID = 'mediaflow-bench';
/** After the last upload; a healthy run of 100 small images settles in well under a minute even on the stack. */
const SETTLE_TIMEOUT_MS = 120_000;
const POLL_MS = 250;
/** The last settle's log line can trail the Firestore write that made the asset terminal by a moment. */
const LOG_CATCH_UP_MS = 5_000;
/** The stack's retry knobs (scripts/local-cloud/gcp-stack.ts), so a retry costs the same real time in both runtimes. */
const RETRY_ENV = { MEDIAFLOW_MIN_BACKOFF_SECONDS: '1', MEDIAFLOW_MAX_BACKOFF_SECONDS: '10' } as const;

interface RunResult {
  readonly assets: number;
  /** First upload started → last delivery settled. */
  readonly wallSeconds: number;
  /** This process and everything it started, over the same span; undefined without /proc. */
  readonly cpuSeconds: number | undefined;
  readonly retries: number;
  readonly timeline: HopTimeline;
  /** publishTime → settled per hop; only where the bench sees the deliveries (the embedded runtime). */
  readonly publishToSettle?: ReadonlyMap<string, readonly number[]>;
}

interface Uploaded {
  readonly started: number;
  /** Asset id → epoch ms its upload finished. */
  readonly done: Map<string, number>;
}

/** Uploads `names` a few at a time, as a client with a small connection pool would; `put` returns the asset id. */
export async function uploadAll(names: readonly string[], put: (name: string) => Promise<string>): Promise<Uploaded> {
  const started = epochMs();
  const done = new Map<string, number>();
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let index = next++; index < names.length; index = next++) {
      const assetId = await put(names[index]!);
      done.set(assetId, epochMs());
    }
  };
  await Promise.all(Array.from({ length: Math.min(UPLOAD_CONCURRENCY, names.length) }, worker));
  return { started, done };
}

export function objectNames(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, index) => `${prefix}/${String(index).padStart(3, '0')}.jpg`);
}

/** Every asset READY, or an error naming the ones that are not: a figure from a broken run is no figure. */
async function requireReady(store: DocumentStore, assetIds: Iterable<string>, runtime: string): Promise<void> {
  const problems: string[] = [];
  for (const id of assetIds) {
    const asset = await store.get<AssetDoc>(assetPath(id));
    if (asset?.status !== AssetStatus.READY) problems.push(`${id}: ${asset ? `${asset.status} ${JSON.stringify(asset.steps)}` : 'no document'}`);
  }
  if (problems.length > 0) throw new Error(`${runtime}: ${problems.length} assets are not READY:\n  ${problems.slice(0, 10).join('\n  ')}`);
}

function cpuSince(before: number | undefined): number | undefined {
  const after = processTreeCpuSeconds();
  return before === undefined || after === undefined ? undefined : after - before;
}

function embeddedEnv(): Env {
  return {
    MEDIAFLOW_LOG_LEVEL: 'silent',
    // Backoffs at full length, as on the emulator: the embedded default shortens them.
    MEDIAFLOW_EMBEDDED_TIME_SCALE: '1',
    MEDIAFLOW_EMBEDDED_CONCURRENCY: process.env.MEDIAFLOW_EMBEDDED_CONCURRENCY,
    ...RETRY_ENV,
  };
}

async function runEmbedded(image: string, names: readonly string[]): Promise<RunResult> {
  const dataDir = path.join(os.tmpdir(), `mediaflow-bench-${randomUUID()}`);
  const config = loadConfig(embeddedEnv(), { dataDir });
  const settles: Settle[] = [];
  const publishToSettle = new Map<string, number[]>();
  let retries = 0;
  const runtime = createEmbeddedRuntime({
    config,
    steps: productionSteps,
    pipeline: (c, s) => buildPipeline(c, s),
    // Only for finding ffmpeg and ffprobe, as the CLI does.
    env: process.env,
    wrapHandler: (_subscription, handler) => async (delivery) => {
      try {
        await handler(delivery);
      } catch (error) {
        retries++;
        throw error;
      }
      const at = epochMs();
      const eventId = eventIdOf(delivery);
      settles.push({ eventId, at });
      const label = hopLabel(classifyEvent(eventId));
      publishToSettle.set(label, [...(publishToSettle.get(label) ?? []), at - delivery.publishTime.getTime()]);
    },
  });
  try {
    const cpuBefore = processTreeCpuSeconds();
    const uploaded = await uploadAll(names, async (name) => {
      const meta = await runtime.blobs.upload(image, { bucket: config.buckets.ingest, name });
      return uploadAssetId(meta.bucket, meta.name, meta.generation);
    });
    await runtime.idle();
    const cpuSeconds = cpuSince(cpuBefore);
    await requireReady(runtime.store, uploaded.done.keys(), 'embedded');
    const timeline = buildTimeline(settles, uploaded.done, productionSteps);
    if (timeline.incomplete > 0) throw new Error(`embedded: ${timeline.incomplete} assets have gaps in their recorded hops`);
    return { assets: names.length, wallSeconds: (timeline.lastSettle - uploaded.started) / 1000, cpuSeconds, retries, timeline, publishToSettle };
  } finally {
    await runtime.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** Assets in a terminal state, whichever: waiting only for READY would turn a failure into a timeout. */
async function terminalCount(store: DocumentStore): Promise<number> {
  const terminal = Object.values(AssetStatus).filter(isTerminal);
  const counts = await Promise.all(terminal.map((status) => store.count('assets', { where: [['status', '==', status]] })));
  return counts.reduce((sum, count) => sum + count, 0);
}

async function waitForTerminal(store: DocumentStore, expected: number, what: string): Promise<void> {
  const deadline = Date.now() + SETTLE_TIMEOUT_MS;
  for (;;) {
    const settled = await terminalCount(store);
    if (settled >= expected) return;
    if (Date.now() > deadline) {
      const byStatus = await Promise.all(
        Object.values(AssetStatus).map(async (status) => `${status} ${await store.count('assets', { where: [['status', '==', status]] })}`),
      );
      throw new Error(
        `emulator stack: ${what} did not settle within ${SETTLE_TIMEOUT_MS / 1000} s (${settled} of ${expected} terminal; ${byStatus.join(', ')})`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

function stackLogs(stack: GcpStack): { settles: Settle[]; retries: number; unreadable: number } {
  const parsed = stack.pipeline.functions.map((fn) => parseFunctionLog(stack.functionOutput(fn.definition.name)));
  return {
    settles: parsed.flatMap((log) => log.settles),
    retries: parsed.reduce((sum, log) => sum + log.retries, 0),
    unreadable: parsed.reduce((sum, log) => sum + log.unreadable, 0),
  };
}

/**
 * The Firestore client finds the emulator only through FIRESTORE_EMULATOR_HOST (and Pub/Sub through its own
 * variable), so this process takes the stack's variables while it talks to the stack, and gets its own back after.
 */
export async function withStackEnv<T>(env: Readonly<Record<string, string>>, work: () => Promise<T>): Promise<T> {
  const saved = new Map(Object.keys(env).map((key) => [key, process.env[key]]));
  Object.assign(process.env, env);
  try {
    return await work();
  } finally {
    for (const [key, value] of saved) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
}

async function runEmulatorStack(
  image: string,
  warmUpNames: readonly string[],
  names: readonly string[],
): Promise<RunResult & { readonly functions: number; readonly unreadable: number }> {
  let stack: GcpStack | undefined;
  let store: FirestoreDocumentStore | undefined;
  try {
    stack = await startGcpStack({ projectId: PROJECT_ID, functionEnv: { MEDIAFLOW_LOG_LEVEL: 'debug' } });
    const running = stack;
    return await withStackEnv(running.cloud.env, async () => {
      const storage: Storage = createStorageClient({ apiEndpoint: running.cloud.storageEndpoint, projectId: running.cloud.projectId });
      store = createFirestoreDocumentStore({ projectId: running.cloud.projectId });
      const assets = store;
      const bucket = storage.bucket(running.config.buckets.ingest);
      const put = async (name: string): Promise<string> => {
        const [object] = await bucket.upload(image, { destination: name, resumable: false });
        return uploadAssetId(running.config.buckets.ingest, name, String(object.metadata.generation));
      };
      // Cold function instances create their clients on first use, and the emulators warm up too.
      await uploadAll(warmUpNames, put);
      await waitForTerminal(assets, warmUpNames.length, 'the warm-up');

      const cpuBefore = processTreeCpuSeconds();
      const uploaded = await uploadAll(names, put);
      await waitForTerminal(assets, warmUpNames.length + names.length, `${names.length} assets`);
      const cpuSeconds = cpuSince(cpuBefore);
      await requireReady(assets, uploaded.done.keys(), 'emulator stack');
      let logged = stackLogs(running);
      let timeline = buildTimeline(logged.settles, uploaded.done, productionSteps);
      const catchUp = Date.now() + LOG_CATCH_UP_MS;
      while (timeline.incomplete > 0 && Date.now() < catchUp) {
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
        logged = stackLogs(running);
        timeline = buildTimeline(logged.settles, uploaded.done, productionSteps);
      }
      if (timeline.incomplete > 0) {
        throw new Error(`emulator stack: ${timeline.incomplete} assets have gaps in their logged hops (${logged.unreadable} log lines unreadable)`);
      }
      return {
        assets: names.length,
        wallSeconds: (timeline.lastSettle - uploaded.started) / 1000,
        cpuSeconds,
        retries: logged.retries,
        timeline,
        functions: running.pipeline.functions.length,
        unreadable: logged.unreadable,
      };
    });
  } finally {
    await store?.close();
    await stack?.stop();
  }
}

function summaryTable(embedded: RunResult, stack: RunResult): string {
  const assetsPerMinute = (run: RunResult): number => (run.assets / run.wallSeconds) * 60;
  const cpu = (run: RunResult): number => run.cpuSeconds ?? Number.NaN;
  const cpuPerAssetMs = (run: RunResult): number => (cpu(run) * 1000) / run.assets;
  const show = (format: (value: number) => string) => (value: number) => (Number.isFinite(value) ? format(value) : '–');
  const rows: [string, (run: RunResult) => number, (value: number) => string][] = [
    ['assets (all READY)', (run) => run.assets, formatCount],
    ['assets/min', assetsPerMinute, formatCount],
    ['wall time (s)', (run) => run.wallSeconds, (value) => formatFixed(value, 2)],
    ['end to end p50 (ms)', (run) => summarize(run.timeline.endToEnd).p50, formatMs],
    ['end to end p99 (ms)', (run) => summarize(run.timeline.endToEnd).p99, formatMs],
    ['CPU, all processes (s)', cpu, show((value) => formatFixed(value, 1))],
    ['CPU per asset (ms)', cpuPerAssetMs, show(formatCount)],
    ['retries', (run) => run.retries, formatCount],
    ['duplicate settles', (run) => run.timeline.duplicates, formatCount],
  ];
  return table(
    ['metric', 'embedded', 'emulator stack', 'emulator/embedded'],
    rows.map(([label, figure, format]) => [label, format(figure(embedded)), format(figure(stack)), formatRatio(figure(stack), figure(embedded))]),
  );
}

function orderedLabels(...timelines: HopTimeline[]): string[] {
  const present = new Set(timelines.flatMap((timeline) => [...timeline.hops.keys()]));
  const chain = chainLabels(productionSteps).filter((label) => present.has(label));
  return [...chain, ...[...present].filter((label) => !chain.includes(label))];
}

function hopTable(embedded: RunResult, stack: RunResult): string {
  const rows = orderedLabels(embedded.timeline, stack.timeline).map((label) => {
    const base = summarize(embedded.timeline.hops.get(label) ?? []);
    const emulated = summarize(stack.timeline.hops.get(label) ?? []);
    return [
      label,
      `${formatCount(base.count)} / ${formatCount(emulated.count)}`,
      formatMs(base.p50),
      formatMs(emulated.p50),
      formatRatio(emulated.p50, base.p50),
      formatMs(base.p99),
      formatMs(emulated.p99),
      formatRatio(emulated.p99, base.p99),
    ];
  });
  return table(['hop', 'samples', 'p50 embedded', 'p50 emulator', 'ratio', 'p99 embedded', 'p99 emulator', 'ratio'], rows);
}

function publishToSettleTable(embedded: RunResult): string {
  const rows = orderedLabels(embedded.timeline).flatMap((label) => {
    const samples = embedded.publishToSettle?.get(label);
    if (!samples) return [];
    const { p50, p99 } = summarize(samples);
    const settleToSettle = summarize(embedded.timeline.hops.get(label) ?? []);
    return [[label, formatMs(p50), formatMs(settleToSettle.p50), formatMs(p99), formatMs(settleToSettle.p99)]];
  });
  return table(['hop', 'p50 publish→settled', 'p50 settle→settle', 'p99 publish→settled', 'p99 settle→settle'], rows);
}

export const gcpStackBench: Bench = {
  name: 'gcp-stack',
  async run() {
    const count = positiveIntFromEnv('BENCH_ASSETS', DEFAULT_ASSETS);
    const scratch = await mkdtemp(path.join(os.tmpdir(), 'mediaflow-bench-media-'));
    try {
      const image = await jpegImage('ffmpeg', path.join(scratch, 'small.jpg'), IMAGE);
      const { size } = await stat(image);
      // Baseline first, with its own warm-up runtime, so JIT and the page cache are warm and its data is not.
      await runEmbedded(image, objectNames('warm-up', WARM_UP_ASSETS));
      const embedded = await runEmbedded(image, objectNames('bench', count));
      const stack = await runEmulatorStack(image, objectNames('warm-up', WARM_UP_ASSETS), objectNames('bench', count));

      const config = loadConfig(embeddedEnv(), { dataDir: os.tmpdir() });
      // Registered steps that do not apply to images (audio ones, say) have a worker on the stack but no hop here.
      const ran = [...productionSteps.keys()].filter((step) => embedded.timeline.hops.has(hopLabel({ kind: 'order', assetId: '', step, shard: 0 })));
      return [
        `${formatCount(count)} JPEGs of ${IMAGE.width}×${IMAGE.height} (${formatCount(size)} B) under distinct names, uploaded ${UPLOAD_CONCURRENCY} at a time after a warm-up of ${WARM_UP_ASSETS}`,
        `per asset: ingest (download + ffprobe) → coordinator, then for each step that applies (${ran.join(', ')}): coordinator → step → coordinator; READY at the last`,
        `embedded: this process, in-process bus, SQLite, folders, concurrency ${config.embeddedConcurrency} per subscription (MEDIAFLOW_EMBEDDED_CONCURRENCY)`,
        `emulator stack: ${stack.functions} functions-framework processes behind Pub/Sub emulator push subscriptions, Firestore emulator, fake-gcs-server; functions log at debug`,
        'wall time: first upload started → last delivery settled. CPU: this process and every process it started (emulators, functions, ffprobe) over that span.',
        '',
        summaryTable(embedded, stack),
        '',
        'Per hop, settle → settle: from the settle of the delivery that caused the hop (for the first hop, the upload',
        "finishing) to the settle of the hop's own delivery, i.e. Pub/Sub delivery + queueing + the handler. On the stack",
        "the settles are the functions' own 'delivery handled' log lines (which carry no publishTime); in the embedded",
        'runtime the moment its handler resolved. Samples: embedded / emulator.',
        hopTable(embedded, stack),
        ...(stack.unreadable > 0 ? [`(${stack.unreadable} log lines on the stack could not be parsed)`] : []),
        '',
        'Embedded only, where publishTime is visible: publish → settled (what embedded-chain reports) next to settle → settle,',
        'to show how close the hop definition above comes to it.',
        publishToSettleTable(embedded),
      ].join('\n');
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  },
};
