/**
 * `mediaflow status [id]`: what ops would read in the Firestore console, from the terminal. Without an id it
 * lists assets, newest first, and what the listed ones cost; with one it shows the steps, their CPU and cost, the error and the
 * history.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createFirestoreDocumentStore } from '../../shared/adapters/gcp/document-store.ts';
import { SqliteDocumentStore } from '../../shared/adapters/local/document-store.ts';
import type { AssetDoc } from '../../shared/domain/asset.ts';
import type { CostFigures } from '../../shared/domain/cost.ts';
import { collections } from '../../shared/domain/collections.ts';
import type { DocumentStore, DocData } from '../../shared/ports/document-store.ts';
import { STATE_FILE } from '../../shared/runtime/embedded.ts';
import { cliConfig, UsageError } from '../options.ts';
import { printable, terminalWidth, wrap } from '../terminal-text.ts';
import { assetView, currentStep, elapsed, formatCost, formatDuration, formatSeconds, formatUsd, table, tableMessage } from '../view.ts';

/** Labels ('asset', 'status', 'reprocess', ...) take this many columns in the detail view; their values wrap beside them. */
const DETAIL_LABEL_WIDTH = 11;
const HISTORY_INDENT = '  ';

export interface StatusOptions {
  readonly id?: string;
  readonly out?: string;
  readonly json: boolean;
  readonly status?: string;
  readonly limit: number;
}

/** The embedded runtime's SQLite file, or Firestore (the emulator too) when MEDIAFLOW_RUNTIME=gcp. */
export async function withStateStore<T>(out: string | undefined, fn: (store: DocumentStore) => Promise<T>): Promise<T> {
  const config = cliConfig(out, false);
  const store = config.runtime === 'gcp' ? createFirestoreDocumentStore({ projectId: config.projectId }) : openEmbeddedState(config.dataDir);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

function openEmbeddedState(dataDir: string): DocumentStore {
  const file = path.join(dataDir, STATE_FILE);
  if (!existsSync(file)) throw new UsageError(`no mediaflow state at ${dataDir} (run \`mediaflow process\` first, or pass --out)`);
  return SqliteDocumentStore.open(file);
}

export async function statusCommand(options: StatusOptions): Promise<number> {
  return withStateStore(options.out, async (store) => {
    if (options.id) return showAsset(store, options.id, options.json);
    const { queries } = collections.assets;
    const query = options.status
      ? queries.withStatusNewestFirst.query({ status: options.status.toUpperCase() }, { limit: options.limit })
      : queries.newestFirst.query({}, { limit: options.limit });
    const assets = (await store.list<AssetDoc>(collections.assets.path(), query)).map((snapshot) => snapshot.data);
    if (options.json) {
      for (const asset of assets) process.stdout.write(`${JSON.stringify(assetView(asset))}\n`);
      return 0;
    }
    const rows = assets.map((asset) => [
      asset.id,
      asset.kind ?? '-',
      asset.status,
      currentStep(asset) || '-',
      elapsed(asset),
      asset.error ? tableMessage(`${asset.error.code}: ${asset.error.message}`) : '',
    ]);
    process.stdout.write(`${table(['asset', 'kind', 'status', 'step', 'time', 'error'], rows, { width: terminalWidth(), nameColumn: 0 })}\n`);
    process.stdout.write(`\n${await summary(store)}\n${costLine(assets)}`);
    return 0;
  });
}

async function summary(store: DocumentStore): Promise<string> {
  const counts: string[] = [];
  for (const status of ['RECEIVED', 'PROCESSING', 'READY', 'FAILED', 'REJECTED']) {
    const count = await store.count(collections.assets.path(), collections.assets.queries.withStatus.query({ status }));
    if (count > 0) counts.push(`${count} ${status}`);
  }
  return counts.length > 0 ? counts.join(', ') : 'no assets';
}

async function showAsset(store: DocumentStore, id: string, json: boolean): Promise<number> {
  const asset = await store.get<AssetDoc>(collections.assets.doc(id));
  if (!asset) throw new UsageError(`no asset with id '${id}'`);
  if (json) {
    const reprocess = { reprocess: asset.reprocess ?? null, lastReprocess: asset.lastReprocess ?? null };
    process.stdout.write(`${JSON.stringify({ ...assetView(asset), ...reprocess, probe: asset.probe, history: asset.history })}\n`);
    return 0;
  }
  const width = terminalWidth();
  // Outputs a reprocess made live under their own version folder: a column only for assets that have some.
  const versioned = Object.values(asset.steps).some((step) => step.outputVersion !== undefined);
  // The detail view is where long text is read in full, so it wraps instead of cutting; labels stay in their column.
  const field = (label: string, text: string): string[] =>
    wrap(printable(text), width - DETAIL_LABEL_WIDTH).map((line, index) => `${(index === 0 ? label : '').padEnd(DETAIL_LABEL_WIDTH)}${line}`);
  const lines = [
    ...field('asset', asset.id),
    ...field('status', `${asset.status}${asset.error ? ` (${asset.error.step}: ${asset.error.code}: ${asset.error.message})` : ''}`),
    ...field('kind', `${asset.kind ?? '-'}   profile ${asset.profile}`),
    ...field('source', `${asset.source.uri}#${asset.source.generation} via ${asset.source.via}`),
    ...field('created', `${asset.createdAt.toISOString()}   completed ${asset.completedAt?.toISOString() ?? '-'}`),
    ...field('cost', asset.cost ? `${formatCost(asset.cost.total)} (estimate at the list prices of ${asset.cost.pricesAsOf})` : '-'),
    ...reprocessLines(asset).flatMap((text, index) => field(index === 0 ? 'reprocess' : '', text)),
    '',
    table(
      ['step', 'status', 'attempts', 'time', 'cpu', 'cost', ...(versioned ? ['version'] : []), 'outputs / error'],
      Object.entries(asset.steps).map(([name, step]) => [
        name,
        step.status,
        String(step.attempts),
        step.durationMs === null ? '-' : formatDuration(step.durationMs),
        stepCost(asset, name, (figures) => formatSeconds(figures.cpuSeconds)),
        stepCost(asset, name, (figures) => formatUsd(figures.usd)),
        ...(versioned ? [step.outputVersion ?? '-'] : []),
        step.error ? tableMessage(`${step.error.code}: ${step.error.message}`) : compact(step.outputs),
      ]),
      { width },
    ),
    '',
    'history',
    ...asset.history.flatMap((entry) => {
      const text = `${entry.at.toISOString()}  ${entry.event}${entry.step ? ` ${entry.step}` : ''}${entry.detail ? `: ${entry.detail}` : ''}`;
      return wrap(printable(text), width - HISTORY_INDENT.length).map((line) => `${HISTORY_INDENT}${line}`);
    }),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

/** A reprocess in flight on the asset, then how the last one ended; nothing for an asset never reprocessed. */
function reprocessLines(asset: AssetDoc): string[] {
  const lines: string[] = [];
  const run = asset.reprocess;
  if (run) {
    const steps = Object.entries(run.steps).map(([name, state]) => `${name} ${state.status}`);
    lines.push(`job ${run.job} (step ${run.step}, by ${run.by}) in flight since ${run.startedAt.toISOString()}: ${steps.join(', ')}`);
  }
  const last = asset.lastReprocess;
  if (last) {
    const error = last.error ? ` (${last.error.step}: ${last.error.code}: ${last.error.message}; outputs unchanged)` : '';
    lines.push(`${run ? 'last: ' : ''}job ${last.job} (step ${last.step}) ${last.status} at ${last.at.toISOString()}${error}`);
  }
  return lines;
}

/** What the listed assets cost, in one line (per asset: `status <id>`; over time and by group: `mediaflow cost`). */
function costLine(assets: readonly AssetDoc[]): string {
  const costed = assets.filter((asset) => asset.cost);
  if (costed.length === 0) return '';
  const total = costed.reduce((sum, asset) => sum + asset.cost!.total.usd, 0);
  const cpu = costed.reduce((sum, asset) => sum + asset.cost!.total.cpuSeconds, 0);
  return `listed: ${formatSeconds(cpu)} CPU, ~${formatUsd(total)} for ${costed.length} asset${costed.length === 1 ? '' : 's'} with recorded usage (mediaflow cost sums by kind, partner or profile)\n`;
}

/** A step's cost figure for its row, or '-' when it reported no usage. */
function stepCost(asset: AssetDoc, step: string, format: (figures: CostFigures) => string): string {
  const figures = asset.cost?.steps[step];
  return figures ? format(figures) : '-';
}

/** Outputs on one line, long values shortened; the full record is in --json. */
function compact(outputs: DocData | null): string {
  if (!outputs) return '';
  const text = JSON.stringify(outputs);
  return text.length > 100 ? `${text.slice(0, 97)}...` : text;
}
