/**
 * Load with faults on the local cloud (issue 16): small JPEG uploads through fake-gcs-server while function
 * processes are killed and restarted on a timer, with duplicate upload notifications injected. Reports what
 * the goal says must be 0 (lost, stuck and duplicated assets and terminal events) next to throughput and latency.
 *
 *   npm run bench -- gcp-faults
 *   BENCH_GCP_UPLOADS=500 npm run bench -- gcp-faults
 *
 * Knobs: BENCH_GCP_UPLOADS (60), BENCH_GCP_RESTART_EVERY_S (20), BENCH_GCP_DUPLICATE_EVERY (5: every fifth upload
 * notification is published a second time), MEDIAFLOW_LOCAL_DELIVERY (scripts/local-cloud/gcp-stack.ts).
 *
 * Restarts go round the functions, every other one the coordinator (every asset crosses it several times), the
 * first after FIRST_RESTART_MS. They continue until every asset is terminal or the terminal count has not moved
 * for FAULT_STALL_MS; the run then settles without faults until nothing has changed for STALL_MS. Nothing here
 * re-drives lost work: a watchdog or reconciler is what should bring those figures to 0.
 */
import { PubSub, type Message } from '@google-cloud/pubsub';
import type { Storage } from '@google-cloud/storage';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { table } from '../cli/view.ts';
import { EventType } from '../events/catalog.ts';
import { startGcpStack, type GcpStack } from '../scripts/local-cloud/gcp-stack.ts';
import type { ForwarderStats } from '../scripts/local-cloud/push-forwarder.ts';
import { jpegImage } from '../scripts/sample-media/sample-media.ts';
import { createStorageClient } from '../shared/adapters/gcp/blob-store.ts';
import { createFirestoreDocumentStore, type FirestoreDocumentStore } from '../shared/adapters/gcp/document-store.ts';
import { assetPath, uploadAssetId } from '../shared/domain/asset-id.ts';
import type { AssetDoc } from '../shared/domain/asset.ts';
import { collections } from '../shared/domain/collections.ts';
import { AssetStatus, isTerminal, StepStatus } from '../shared/domain/state-machine.ts';
import { formatCount, formatFixed, formatMs, positiveIntFromEnv, type Bench } from './lib/bench.ts';
import { epochMs } from './lib/hop-timeline.ts';
import { summarize } from './lib/measure.ts';
import { objectNames, uploadAll, withStackEnv } from './gcp-stack.bench.ts';

const PROJECT_ID = 'mediaflow-bench-faults';
const IMAGE = { width: 320, height: 240 } as const;
const DEFAULT_UPLOADS = 60;
const DEFAULT_RESTART_EVERY_S = 20;
const DEFAULT_DUPLICATE_EVERY = 5;
/** Faults go on until every asset is terminal, or until the terminal count has not moved for this long. */
const FAULT_STALL_MS = 60_000;
const FIRST_RESTART_MS = 5_000;
/** With faults over, the run ends when the terminal count has not moved for this long (or all are terminal). */
const STALL_MS = 90_000;
const POLL_MS = 1_000;
/** Terminal events can trail the document write that made the asset terminal. */
const EVENT_CATCH_UP_MS = 5_000;
const TERMINAL_EVENTS: ReadonlySet<string> = new Set([EventType.assetReady, EventType.assetFailed]);

interface TerminalEvent {
  readonly id: string;
  readonly type: string;
  readonly publishTime: number;
}

interface FaultRun {
  readonly uploads: number;
  readonly delivery: string;
  readonly restarts: readonly { readonly name: string; readonly ms: number }[];
  readonly restartFailures: readonly string[];
  readonly duplicatesInjected: number;
  readonly uploadSeconds: number;
  /** First upload started → last asset terminal. */
  readonly wallSeconds: number;
  readonly assets: ReadonlyMap<string, AssetDoc | undefined>;
  readonly uploadDone: ReadonlyMap<string, number>;
  readonly events: ReadonlyMap<string, readonly TerminalEvent[]>;
  readonly deadLetters: number;
  /** Rejection records by function and reason. */
  readonly rejections: ReadonlyMap<string, number>;
  readonly deadLetterMessages: ReadonlyMap<string, number>;
  readonly forwarders: ReadonlyMap<string, ForwarderStats>;
  readonly stackErrors: readonly string[];
}

function countBy<T>(items: readonly T[], key: (item: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return counts;
}

function wait(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Count queries, not a read per asset: polling 500 documents a second would load the emulator being measured. */
async function terminalCount(store: FirestoreDocumentStore): Promise<number> {
  const terminal = Object.values(AssetStatus).filter(isTerminal);
  const counts = await Promise.all(terminal.map((status) => store.count(collections.assets.path(), { where: [['status', '==', status]] })));
  return counts.reduce((sum, count) => sum + count, 0);
}

async function runFaults(image: string, names: readonly string[], restartEveryMs: number, duplicateEvery: number): Promise<FaultRun> {
  let stack: GcpStack | undefined;
  let store: FirestoreDocumentStore | undefined;
  let pubsub: PubSub | undefined;
  const stackLog: string[] = [];
  try {
    stack = await startGcpStack({ projectId: PROJECT_ID, log: (line) => stackLog.push(line) });
    const running = stack;
    return await withStackEnv(running.cloud.env, async () => {
      const storage: Storage = createStorageClient({ apiEndpoint: running.cloud.storageEndpoint, projectId: running.cloud.projectId });
      store = createFirestoreDocumentStore({ projectId: running.cloud.projectId });
      const assets = store;
      const client = new PubSub({ projectId: running.cloud.projectId });
      pubsub = client;
      const tag = randomUUID().slice(0, 8);

      // Terminal events, as a consumer of the asset-events topic sees them.
      const events = new Map<string, TerminalEvent[]>();
      const [eventTap] = await client.topic(running.config.topics.assetEvents).createSubscription(`bench-events-${tag}`);
      eventTap.on('message', (message: Message) => {
        const type = message.attributes['ce-type'] ?? '';
        const assetId = message.attributes['ce-subject'] ?? '';
        if (TERMINAL_EVENTS.has(type)) {
          events.set(assetId, [...(events.get(assetId) ?? []), { id: message.attributes['ce-id'] ?? '', type, publishTime: message.publishTime.getTime() }]);
        }
        message.ack();
      });
      // What reached the dead-letter topic, by the subscription it came from.
      const deadLetterMessages = new Map<string, number>();
      const [deadLetterTap] = await client.topic(running.config.topics.deadLetters).createSubscription(`bench-dead-letters-${tag}`);
      deadLetterTap.on('message', (message: Message) => {
        const source = message.attributes.CloudPubSubDeadLetterSourceSubscription ?? '(unknown)';
        deadLetterMessages.set(source, (deadLetterMessages.get(source) ?? 0) + 1);
        message.ack();
      });
      // Duplicate notifications: every n-th object's finalize notification is published again, as GCS may do.
      const notified = new Set<string>();
      let duplicatesInjected = 0;
      const uploadsTopic = client.topic(running.config.topics.uploads);
      const [notificationTap] = await uploadsTopic.createSubscription(`bench-notifications-${tag}`);
      notificationTap.on('message', (message: Message) => {
        message.ack();
        const object = `${message.attributes.objectId}#${message.attributes.objectGeneration}`;
        if (notified.has(object)) return;
        notified.add(object);
        if (notified.size % duplicateEvery !== 0) return;
        duplicatesInjected++;
        void uploadsTopic.publishMessage({ data: Buffer.from(message.data), attributes: { ...message.attributes } });
      });

      const bucket = storage.bucket(running.config.buckets.ingest);
      const ids: string[] = [];
      const put = async (name: string): Promise<string> => {
        const [object] = await bucket.upload(image, { destination: name, resumable: false });
        return uploadAssetId(running.config.buckets.ingest, name, String(object.metadata.generation));
      };

      // Restarts: round the functions, the coordinator every other time.
      const others = running.pipeline.functions.map((fn) => fn.definition.name).filter((name) => name !== 'coordinator');
      const restarts: { name: string; ms: number }[] = [];
      const restartFailures: string[] = [];
      let faulting = true;
      let allTerminal = false;
      const faults = (async () => {
        for (let round = 0; faulting; round++) {
          // The first fault comes early, so that even a short run has one.
          await wait(round === 0 ? Math.min(FIRST_RESTART_MS, restartEveryMs) : restartEveryMs);
          if (!faulting) break;
          const name = round % 2 === 0 ? 'coordinator' : others[Math.floor(round / 2) % others.length]!;
          const started = performance.now();
          try {
            await running.restartFunction(name);
            restarts.push({ name, ms: performance.now() - started });
          } catch (error) {
            // A function that cannot start again (a broken working tree, say) ends the faults, not the report.
            restartFailures.push(`${name}: ${String(error).split('\n')[0]}`);
          }
        }
      })();

      const uploaded = await uploadAll(names, put);
      const uploadsFinishedAt = Date.now();
      const uploadSeconds = (uploadsFinishedAt - uploaded.started) / 1000;
      ids.push(...uploaded.done.keys());

      let lastCount = -1;
      let lastChange = Date.now();
      let lastTerminalAt = uploaded.started;
      for (;;) {
        const count = await terminalCount(assets);
        if (count !== lastCount) {
          lastCount = count;
          lastChange = Date.now();
          lastTerminalAt = epochMs();
        }
        allTerminal = count === ids.length;
        if (faulting && (allTerminal || Date.now() - lastChange > FAULT_STALL_MS)) {
          faulting = false;
          lastChange = Date.now();
        }
        if (allTerminal || (!faulting && Date.now() - lastChange > STALL_MS)) break;
        await wait(POLL_MS);
      }
      faulting = false;
      await faults;
      await wait(EVENT_CATCH_UP_MS);
      await Promise.all([eventTap.close(), deadLetterTap.close(), notificationTap.close()]);

      const docs = new Map<string, AssetDoc | undefined>();
      for (const id of ids) docs.set(id, (await assets.get<AssetDoc>(assetPath(id))) ?? undefined);
      return {
        uploads: ids.length,
        delivery: running.delivery,
        restarts,
        restartFailures,
        duplicatesInjected,
        uploadSeconds,
        wallSeconds: (lastTerminalAt - uploaded.started) / 1000,
        assets: docs,
        uploadDone: uploaded.done,
        events,
        deadLetters: await assets.count(collections.deadLetters.path()),
        rejections: countBy(
          await assets.list<{ function: string; reason: string }>(collections.rejections.path()),
          (record) => `${record.data.function}: ${record.data.reason.slice(0, 60)}`,
        ),
        deadLetterMessages,
        forwarders: running.forwarderStats(),
        stackErrors: stackLog.filter((line) => line.startsWith('forwarder ')),
      };
    });
  } finally {
    await pubsub?.close();
    await store?.close();
    await stack?.stop();
  }
}

function report(run: FaultRun): string {
  const docs = [...run.assets];
  const lost = docs.filter(([, doc]) => !doc).map(([id]) => id);
  const stuck = docs.filter(([, doc]) => doc && !isTerminal(doc.status));
  const ready = docs.filter(([, doc]) => doc?.status === AssetStatus.READY).length;
  const failed = docs.filter(([, doc]) => doc?.status === AssetStatus.FAILED);
  const failureCodes = new Map<string, number>();
  for (const [, doc] of failed) {
    const code = `${doc!.error?.code ?? '?'} (${doc!.error?.step ?? '?'})`;
    failureCodes.set(code, (failureCodes.get(code) ?? 0) + 1);
  }
  const terminalDocs = docs.filter(([, doc]) => doc && isTerminal(doc.status));
  const noEvent = terminalDocs.filter(([id]) => (run.events.get(id) ?? []).length === 0).length;
  const eventsFor = (id: string): readonly TerminalEvent[] => run.events.get(id) ?? [];
  const duplicateIds = docs.filter(([id]) => new Set(eventsFor(id).map((event) => event.id)).size > 1).length;
  const redelivered = docs.filter(([id]) => eventsFor(id).length > new Set(eventsFor(id).map((event) => event.id)).size).length;
  const conflicting = docs.filter(([id]) => new Set(eventsFor(id).map((event) => event.type)).size > 1).length;
  const latencies = terminalDocs.flatMap(([id, doc]) => {
    const done = run.uploadDone.get(id);
    const completed = doc!.completedAt ? new Date(doc!.completedAt).getTime() : undefined;
    return done !== undefined && completed !== undefined ? [completed - done] : [];
  });
  const latency = summarize(latencies);
  const restartMs = summarize(run.restarts.map((restart) => restart.ms));
  const stuckByStep = new Map<string, number>();
  for (const [, doc] of stuck) {
    const pending = Object.entries(doc!.steps)
      .filter(([, step]) => step.status !== StepStatus.SUCCEEDED)
      .map(([name, step]) => `${name} ${step.status}`)
      .join(', ');
    const key = `${doc!.status}: ${pending || '(no pending step)'}`;
    stuckByStep.set(key, (stuckByStep.get(key) ?? 0) + 1);
  }
  const rows: [string, string][] = [
    ['uploads', formatCount(run.uploads)],
    ['READY', formatCount(ready)],
    ['FAILED', `${formatCount(failed.length)}${failureCodes.size > 0 ? ` (${[...failureCodes].map(([code, n]) => `${code}: ${n}`).join(', ')})` : ''}`],
    ['lost (no asset document)', formatCount(lost.length)],
    ['stuck (not terminal)', formatCount(stuck.length)],
    ['terminal without a terminal event', formatCount(noEvent)],
    ['assets with >1 terminal event id (duplicated)', formatCount(duplicateIds)],
    ['assets with a terminal event delivered twice (same id)', formatCount(redelivered)],
    ['assets with both ready and failed events', formatCount(conflicting)],
    ['duplicate notifications injected', formatCount(run.duplicatesInjected)],
    [
      'function restarts (p50 / max ms)',
      `${formatCount(run.restarts.length)} (${run.restarts.length > 0 ? `${formatMs(restartMs.p50)} / ${formatMs(restartMs.max)}` : '–'})`,
    ],
    [
      'dead-lettered messages (by source)',
      `${formatCount([...run.deadLetterMessages.values()].reduce((a, b) => a + b, 0))}${
        run.deadLetterMessages.size > 0 ? ` (${[...run.deadLetterMessages].map(([source, n]) => `${source.split('/').pop()}: ${n}`).join(', ')})` : ''
      }`,
    ],
    ['deadLetters records', formatCount(run.deadLetters)],
    ['rejections records', formatCount([...run.rejections.values()].reduce((a, b) => a + b, 0))],
    ['upload phase (s)', formatFixed(run.uploadSeconds, 1)],
    ['first upload → last terminal (s)', formatFixed(run.wallSeconds, 1)],
    ['terminal assets/min', formatCount((terminalDocs.length / run.wallSeconds) * 60)],
    ['upload done → terminal p50 / p99 / max (ms)', `${formatMs(latency.p50)} / ${formatMs(latency.p99)} / ${formatMs(latency.max)}`],
  ];
  return [
    table(['metric', 'value'], rows),
    ...(stuckByStep.size > 0 ? ['', 'stuck assets by status and unfinished steps:', ...[...stuckByStep].map(([key, n]) => `  ${n} × ${key}`)] : []),
    ...(lost.length > 0 ? ['', `lost (first 5): ${lost.slice(0, 5).join(', ')}`] : []),
    ...(run.rejections.size > 0 ? ['', 'rejections by function and reason:', ...[...run.rejections].map(([key, n]) => `  ${n} × ${key}`)] : []),
    '',
    ...(run.forwarders.size > 0
      ? [
          '',
          'forwarders (subscription: forwarded / acked / nacked / in flight / subscriber errors), where anything was forwarded:',
          ...[...run.forwarders]
            .filter(([, stats]) => stats.forwarded > 0)
            .map(([name, stats]) => `  ${name}: ${stats.forwarded} / ${stats.acked} / ${stats.nacked} / ${stats.inFlight} / ${stats.errors}`),
          ...run.stackErrors.slice(0, 5).map((line) => `  ${line}`),
        ]
      : []),
    '',
    `restarts: ${run.restarts.map((restart) => restart.name).join(', ') || 'none'}`,
    ...run.restartFailures.map((failure) => `restart FAILED: ${failure}`),
  ].join('\n');
}

export const gcpFaultsBench: Bench = {
  name: 'gcp-faults',
  async run() {
    const uploads = positiveIntFromEnv('BENCH_GCP_UPLOADS', DEFAULT_UPLOADS);
    const restartEveryS = positiveIntFromEnv('BENCH_GCP_RESTART_EVERY_S', DEFAULT_RESTART_EVERY_S);
    const duplicateEvery = positiveIntFromEnv('BENCH_GCP_DUPLICATE_EVERY', DEFAULT_DUPLICATE_EVERY);
    const scratch = await mkdtemp(path.join(os.tmpdir(), 'mediaflow-bench-faults-'));
    try {
      const image = await jpegImage('ffmpeg', path.join(scratch, 'small.jpg'), IMAGE);
      const { size } = await stat(image);
      const run = await runFaults(image, objectNames('faults', uploads), restartEveryS * 1000, duplicateEvery);
      return [
        `${formatCount(uploads)} JPEGs of ${IMAGE.width}×${IMAGE.height} (${formatCount(size)} B) uploaded 8 at a time to fake-gcs-server; delivery: ${run.delivery}`,
        `faults: a function process restarted (SIGTERM, SIGKILL after 5 s, started again) ${FIRST_RESTART_MS / 1000} s in, then every ${restartEveryS} s, the coordinator every other time,`,
        `until all terminal or ${FAULT_STALL_MS / 1000} s without progress; every ${duplicateEvery}th object's upload notification published twice.`,
        `settle: until all terminal, or ${STALL_MS / 1000} s without a change once faults stopped. No watchdog or reconciler runs.`,
        'latency: upload finished → the asset document completedAt. Events: a pull subscription on the asset-events topic.',
        '',
        report(run),
      ].join('\n');
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  },
};
