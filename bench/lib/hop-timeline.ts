/**
 * Per-hop latency from the moments deliveries settled, for a pipeline whose functions run in other processes.
 * There the bench never sees a delivery's publishTime, only the 'delivery handled' line a function logs as it
 * settles. So a hop is timed from the settle of the delivery that caused it (the upload finishing, for the first
 * hop) to its own settle: Pub/Sub's delivery, the wait in the queue and the handler, less whatever the previous
 * handler still did after publishing. Every event id names its asset, step and shard, which is what ties the
 * settles of one asset into a chain.
 */
import { uploadAssetId } from '../../shared/domain/asset-id.ts';
import { PROBE_STEP, type StepRegistry } from '../../shared/domain/step.ts';
import { createLogger, type Logger } from '../../shared/observability/log.ts';
import { logs } from '../../shared/observability/messages.ts';
import type { Delivery } from '../../shared/ports/bus.ts';

export interface Settle {
  readonly eventId: string;
  /** Epoch milliseconds. */
  readonly at: number;
}

export type HopEvent =
  | { readonly kind: 'ingest'; readonly assetId: string }
  | { readonly kind: 'order'; readonly assetId: string; readonly step: string; readonly shard: number }
  | { readonly kind: 'result'; readonly assetId: string; readonly step: string; readonly shard: number };

/** Wall-clock milliseconds with sub-millisecond resolution, comparable with the `time` of another process's log line. */
export function epochMs(): number {
  return performance.timeOrigin + performance.now();
}

/** `asset|step|shard` is a work order; `…/completed` or `…/failed` its result (shared/domain/asset-id.ts, worker.ts). */
const stepEventId = /^(.*)\|([^|/]+)\|(\d+)(\/(?:completed|failed))?$/;

export function classifyEvent(eventId: string): HopEvent {
  const match = stepEventId.exec(eventId);
  // Anything else is an ingest event, whose id is the asset id itself.
  if (!match) return { kind: 'ingest', assetId: eventId };
  const [, assetId = '', step = '', shard = '0', result] = match;
  return { kind: result ? 'result' : 'order', assetId, step, shard: Number(shard) };
}

export function hopLabel(event: HopEvent): string {
  if (event.kind === 'ingest') return 'upload → ingest';
  if (event.kind === 'order') return `coordinator → ${event.step}`;
  return `${event.step === PROBE_STEP ? 'ingest' : event.step} → coordinator`;
}

/** The hops of a chain in the order they happen, for the steps as registered. */
export function chainLabels(steps: StepRegistry): string[] {
  const probe: HopEvent = { kind: 'result', assetId: '', step: PROBE_STEP, shard: 0 };
  return [
    hopLabel({ kind: 'ingest', assetId: '' }),
    hopLabel(probe),
    ...[...steps.keys()].flatMap((step) => [
      hopLabel({ kind: 'order', assetId: '', step, shard: 0 }),
      hopLabel({ kind: 'result', assetId: '', step, shard: 0 }),
    ]),
  ];
}

/** The event id the edge will decode from a delivery: ce-id, or for a GCS notification the id ingest derives from it. */
export function eventIdOf(delivery: Delivery): string {
  const { attributes } = delivery;
  return attributes['ce-id'] ?? uploadAssetId(attributes.bucketId ?? '', attributes.objectId ?? '', attributes.objectGeneration ?? '');
}

/** A log helper's message text, taken from the helper itself so a rewording cannot silently empty the figures. */
function messageOf(emit: (log: Logger) => void): string {
  let line = '';
  emit(createLogger('debug', {}, (written) => (line = written)));
  return (JSON.parse(line) as { message: string }).message;
}

const handledMessage = messageOf((log) => logs.deliveryHandled(log, 'done'));
const retryMessage = messageOf((log) => logs.deliveryWillRetry(log, 'x'));

export interface ParsedLog {
  readonly settles: Settle[];
  /** Deliveries that failed transiently and were handed back for redelivery. */
  readonly retries: number;
  /** JSON lines that did not parse, e.g. cut where the pipe's read split them; their settles are lost. */
  readonly unreadable: number;
}

/** The settles and retries in a function's structured log output (one JSON object per line). */
export function parseFunctionLog(output: string): ParsedLog {
  const settles: Settle[] = [];
  let retries = 0;
  let unreadable = 0;
  for (const line of output.split('\n')) {
    if (!line.startsWith('{')) continue;
    let entry: { message?: unknown; eventId?: unknown; time?: unknown };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      unreadable++;
      continue;
    }
    if (entry.message === retryMessage) retries++;
    if (entry.message === handledMessage && typeof entry.eventId === 'string' && typeof entry.time === 'string') {
      settles.push({ eventId: entry.eventId, at: Date.parse(entry.time) });
    }
  }
  return { settles, retries, unreadable };
}

export interface HopTimeline {
  /** Milliseconds per hop, keyed by hopLabel. */
  readonly hops: Map<string, number[]>;
  /** Upload finished → the asset's last delivery settled. */
  readonly endToEnd: number[];
  readonly lastSettle: number;
  /** Settles of an event already settled once: redeliveries that found their work done. */
  readonly duplicates: number;
  /** Assets whose chain has a gap: a settle not (yet) logged, or lost. */
  readonly incomplete: number;
}

interface AssetSettles {
  ingest?: number;
  readonly orders: Map<string, Map<number, number>>;
  readonly results: Map<string, Map<number, number>>;
  last: number;
}

/**
 * Ties settles to the uploads (asset id → epoch ms the upload finished) and times each hop from its cause:
 * ingest from the upload, the probe result from ingest, a work order from the last result of the steps it
 * depends on (the probe, for a step with none), and a step's result from its work order. Settles of other
 * assets (a warm-up's) are ignored.
 */
export function buildTimeline(settles: readonly Settle[], uploads: ReadonlyMap<string, number>, steps: StepRegistry): HopTimeline {
  const byAsset = new Map<string, AssetSettles>();
  const seen = new Set<string>();
  let duplicates = 0;
  for (const settle of [...settles].sort((a, b) => a.at - b.at)) {
    // The first settle is the one the chain waited for; a later one is a redelivery of finished work.
    if (seen.has(settle.eventId)) {
      duplicates++;
      continue;
    }
    seen.add(settle.eventId);
    const event = classifyEvent(settle.eventId);
    if (!uploads.has(event.assetId)) continue;
    let asset = byAsset.get(event.assetId);
    if (!asset) {
      asset = { orders: new Map(), results: new Map(), last: settle.at };
      byAsset.set(event.assetId, asset);
    }
    asset.last = Math.max(asset.last, settle.at);
    if (event.kind === 'ingest') asset.ingest = settle.at;
    else {
      const into = event.kind === 'order' ? asset.orders : asset.results;
      const shards = into.get(event.step) ?? new Map<number, number>();
      shards.set(event.shard, settle.at);
      into.set(event.step, shards);
    }
  }

  const hops = new Map<string, number[]>();
  const record = (event: HopEvent, from: number | undefined, to: number): boolean => {
    if (from === undefined) return false;
    const samples = hops.get(hopLabel(event)) ?? [];
    samples.push(to - from);
    hops.set(hopLabel(event), samples);
    return true;
  };
  const endToEnd: number[] = [];
  let incomplete = 0;
  for (const [assetId, uploadDone] of uploads) {
    const asset = byAsset.get(assetId);
    if (!asset || asset.ingest === undefined) {
      incomplete++;
      continue;
    }
    let complete = record({ kind: 'ingest', assetId }, uploadDone, asset.ingest);
    const probeResult = asset.results.get(PROBE_STEP)?.get(0);
    complete = probeResult !== undefined && record({ kind: 'result', assetId, step: PROBE_STEP, shard: 0 }, asset.ingest, probeResult) && complete;
    for (const [step, shards] of asset.orders) {
      const dependsOn = steps.get(step)?.dependsOn ?? [];
      const causes = (dependsOn.length > 0 ? dependsOn : [PROBE_STEP]).flatMap((dependency) => [...(asset.results.get(dependency)?.values() ?? [])]);
      const dispatched = causes.length > 0 ? Math.max(...causes) : undefined;
      for (const [shard, at] of shards) {
        complete = record({ kind: 'order', assetId, step, shard }, dispatched, at) && complete;
        const result = asset.results.get(step)?.get(shard);
        complete = result !== undefined && record({ kind: 'result', assetId, step, shard }, at, result) && complete;
      }
    }
    endToEnd.push(asset.last - uploadDone);
    if (!complete) incomplete++;
  }
  const lastSettles = [...byAsset.values()].map((asset) => asset.last);
  return {
    hops,
    endToEnd,
    lastSettle: lastSettles.length > 0 ? Math.max(...lastSettles) : Number.NaN,
    duplicates,
    incomplete,
  };
}
