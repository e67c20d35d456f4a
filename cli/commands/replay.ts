/**
 * `mediaflow dead-letters replay [--id ID | --function F | --since T] [--dry-run] [--force]`: publishes dead messages
 * again to their topics (functions/deadletter/replay.ts), re-opening the assets they failed. On the embedded runtime
 * the pipeline runs in this process until it is quiet, so the command reports where each asset ended; with
 * MEDIAFLOW_RUNTIME=gcp it publishes through Pub/Sub and returns (follow the assets with `mediaflow status`).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { buildPipeline } from '../../functions/pipeline.ts';
import { productionSteps } from '../../functions/registry.ts';
import { replayDeadLetters, type ReplayPorts, type ReplayResult, type ReplaySelection } from '../../functions/deadletter/replay.ts';
import { createFirestoreDocumentStore } from '../../shared/adapters/gcp/document-store.ts';
import { createPubSubClient, PubSubPublisher } from '../../shared/adapters/gcp/pubsub.ts';
import type { AssetDoc } from '../../shared/domain/asset.ts';
import { collections } from '../../shared/domain/collections.ts';
import type { Publisher } from '../../shared/ports/bus.ts';
import { systemClock } from '../../shared/ports/clock.ts';
import type { DocumentStore } from '../../shared/ports/document-store.ts';
import { createEmbeddedRuntime, STATE_FILE } from '../../shared/runtime/embedded.ts';
import { cliConfig, operator, parseSince, UsageError } from '../options.ts';
import { terminalWidth } from '../terminal-text.ts';
import { table, tableMessage } from '../view.ts';
import { withStateStore } from './status.ts';

export interface ReplayCommandOptions {
  readonly out?: string;
  readonly json: boolean;
  readonly verbose: boolean;
  readonly id?: string;
  readonly function?: string;
  readonly since?: string;
  readonly dryRun: boolean;
  readonly force: boolean;
}

/** A dry run publishes nothing; this publisher says so if it is ever asked. */
const refusingPublisher: Publisher = {
  publish: () => Promise.reject(new Error('a dry run publishes nothing')),
};

export async function replayCommand(options: ReplayCommandOptions): Promise<number> {
  const selection = selectionOf(options);
  const config = cliConfig(options.out, options.verbose);
  const replayOptions = { dryRun: options.dryRun, force: options.force, by: operator() };
  let results: ReplayResult[];
  let statuses = new Map<string, string>();
  if (options.dryRun) {
    results = await withStateStore(options.out, (store) => replayDeadLetters({ store, bus: refusingPublisher, clock: systemClock }, selection, replayOptions));
    statuses = await withStateStore(options.out, (store) => assetStatuses(store, results));
  } else if (config.runtime === 'gcp') {
    const store = createFirestoreDocumentStore({ projectId: config.projectId });
    const pubsub = createPubSubClient({ projectId: config.projectId });
    try {
      const ports: ReplayPorts = { store, bus: new PubSubPublisher(pubsub), clock: systemClock };
      results = await replayDeadLetters(ports, selection, replayOptions);
      statuses = await assetStatuses(store, results);
    } finally {
      await store.close();
      await pubsub.close();
    }
  } else {
    if (!existsSync(path.join(config.dataDir, STATE_FILE)))
      throw new UsageError(`no mediaflow state at ${config.dataDir} (run \`mediaflow process\` first, or pass --out)`);
    const runtime = createEmbeddedRuntime({ config, steps: productionSteps, pipeline: buildPipeline, env: process.env });
    try {
      results = await replayDeadLetters({ store: runtime.store, bus: runtime.bus, clock: runtime.deps.clock }, selection, replayOptions);
      // The replayed messages run here, like `process` runs its uploads: the command ends when the pipeline is quiet.
      await runtime.idle();
      statuses = await assetStatuses(runtime.store, results);
    } finally {
      await runtime.close();
    }
  }
  if (selection.id !== undefined && results.length === 0) throw new UsageError(`no dead letter with id '${selection.id}'`);
  report(results, statuses, { json: options.json, dryRun: options.dryRun, waited: !options.dryRun && config.runtime !== 'gcp' });
  // 1 when an asset this replay concerns is not READY at the end (embedded), or a record could not be replayed at all.
  const unreplayable = results.some((result) => result.action === 'skipped' && result.asset === 'none' && !result.reason?.startsWith('already replayed'));
  const notReady = !options.dryRun && config.runtime !== 'gcp' && [...statuses.values()].some((status) => status !== 'READY');
  return unreplayable || notReady ? 1 : 0;
}

function selectionOf(options: ReplayCommandOptions): ReplaySelection {
  if (options.id === undefined && options.function === undefined && options.since === undefined)
    throw new UsageError('replay needs --id ID, --function F or --since T (list them with `mediaflow dead-letters`)');
  if (options.id !== undefined && (options.function !== undefined || options.since !== undefined))
    throw new UsageError('--id names one record: leave out --function and --since');
  const since = parseSince(options.since, new Date());
  return {
    ...(options.id !== undefined ? { id: options.id } : {}),
    ...(options.function !== undefined ? { function: options.function } : {}),
    ...(since ? { since } : {}),
  };
}

async function assetStatuses(store: DocumentStore, results: readonly ReplayResult[]): Promise<Map<string, string>> {
  const statuses = new Map<string, string>();
  for (const assetId of new Set(results.map((result) => result.assetId).filter((id): id is string => id !== null))) {
    const asset = await store.get<AssetDoc>(collections.assets.doc(assetId));
    statuses.set(assetId, asset?.status ?? 'MISSING');
  }
  return statuses;
}

function report(results: readonly ReplayResult[], statuses: ReadonlyMap<string, string>, how: { json: boolean; dryRun: boolean; waited: boolean }): void {
  if (how.json) {
    for (const result of results)
      process.stdout.write(`${JSON.stringify({ ...result, assetStatus: result.assetId ? (statuses.get(result.assetId) ?? null) : null })}\n`);
    return;
  }
  if (results.length === 0) {
    process.stdout.write('no dead letters match\n');
    return;
  }
  const rows = results.map((result) => [
    result.sourceSubscription,
    result.assetId ?? '-',
    result.step ?? '-',
    result.action,
    result.asset,
    result.assetId ? (statuses.get(result.assetId) ?? '-') : '-',
    tableMessage(result.reason ?? ''),
  ]);
  process.stdout.write(
    `${table(['subscription', 'asset', 'step', 'action', 'effect', 'asset now', 'reason'], rows, { width: terminalWidth(), nameColumn: 1 })}\n`,
  );
  const replayed = results.filter((result) => result.action === 'replayed').length;
  const tail = how.dryRun
    ? `dry run: ${results.filter((result) => result.action === 'would replay').length} would be replayed, nothing was changed`
    : `${replayed} replayed${how.waited ? '' : ' (published; follow the assets with `mediaflow status`)'}`;
  process.stdout.write(`\n${tail}\n`);
}
