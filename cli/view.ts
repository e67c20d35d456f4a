/**
 * How an asset looks outside the store: the CLI's table rows and its --json objects. One shape for both, so
 * the JSON a script reads and the table a person reads never disagree.
 */
import { collectOutputs, type AssetDoc } from '../shared/domain/asset.ts';
import type { AssetCost, CostFigures } from '../shared/domain/cost.ts';
import { displayWidth, ELLIPSIS, padToWidth, printable, truncateEnd, truncateMiddle } from './terminal-text.ts';

export interface AssetView {
  readonly id: string;
  readonly source: AssetDoc['source'];
  readonly kind: AssetDoc['kind'];
  readonly status: string;
  readonly steps: Record<string, { status: string; attempts: number; durationMs: number | null; error: { code: string; message: string } | null }>;
  readonly outputs: ReturnType<typeof collectOutputs>;
  readonly error: AssetDoc['error'];
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly completedAt: Date | null;
  /** What processing cost so far (shared/domain/cost.ts); null before any step reported usage. */
  readonly cost: AssetCost | null;
}

export function assetView(asset: AssetDoc): AssetView {
  const steps: AssetView['steps'] = {};
  for (const [name, state] of Object.entries(asset.steps)) {
    steps[name] = { status: state.status, attempts: state.attempts, durationMs: state.durationMs, error: state.error };
  }
  return {
    id: asset.id,
    source: asset.source,
    kind: asset.kind,
    status: asset.status,
    steps,
    outputs: collectOutputs(asset),
    error: asset.error,
    createdAt: asset.createdAt,
    updatedAt: asset.updatedAt,
    completedAt: asset.completedAt,
    cost: asset.cost ?? null,
  };
}

/** Dollars to the precision a per-asset estimate has: `$0.0123`, `$1.23`, `<$0.0001`. */
export function formatUsd(usd: number): string {
  if (usd === 0) return '$0';
  if (usd < 0.0001) return '<$0.0001';
  return usd < 1 ? `$${Number(usd.toPrecision(3))}` : `$${usd.toFixed(2)}`;
}

/** Bytes in the largest unit that keeps a number above 1: `482 KB`, `1.2 GB` (decimal units, like GCS's console). */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return unit === 0 ? `${bytes} B` : `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

/** Seconds with the precision they deserve: `0.042 s`, `3.1 s`, `412 s`. */
export function formatSeconds(seconds: number): string {
  if (seconds < 1) return `${seconds.toFixed(3)} s`;
  return seconds < 100 ? `${seconds.toFixed(1)} s` : `${Math.round(seconds)} s`;
}

/** One line of cost figures: `4.2 s CPU, 19.6 GiB-s, 3.1 MB read, 1.2 MB written, 1234 tokens, ~$0.0021`. */
export function formatCost(figures: CostFigures): string {
  const tokens = figures.inputTokens + figures.outputTokens;
  return [
    `${formatSeconds(figures.cpuSeconds)} CPU`,
    `${figures.gbSeconds.toFixed(1)} GiB-s`,
    `${formatBytes(figures.bytesRead)} read`,
    `${formatBytes(figures.bytesWritten)} written`,
    ...(tokens > 0 ? [`${tokens} tokens (${figures.inputTokens} in, ${figures.outputTokens} out)`] : []),
    `~${formatUsd(figures.usd)}`,
  ].join(', ');
}

/** The step a person wants to see while an asset is in flight: the first that is not done. */
export function currentStep(asset: AssetDoc): string {
  if (asset.status === 'RECEIVED') return 'probe';
  for (const name of asset.plan) {
    const state = asset.steps[name];
    if (state && state.status !== 'SUCCEEDED') return `${name} ${state.status.toLowerCase()}`;
  }
  return '';
}

export function elapsed(asset: AssetDoc): string {
  const end = asset.completedAt ?? asset.updatedAt;
  return formatDuration(end.getTime() - asset.createdAt.getTime());
}

export function formatDuration(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** The free-text column keeps at least this many columns (or half the room it shares with a name column). */
const MIN_FREE_TEXT_WIDTH = 32;
/** A shortened name column still shows this much of each name. */
const MIN_NAME_WIDTH = 24;
const COLUMN_GAP = '  ';

export interface TableOptions {
  /**
   * Terminal columns to fit (the CLI passes terminalWidth()); the last (free-text) column is cut with an ellipsis
   * to make the table fit. Without it nothing is cut: benches write their tables to files.
   */
  readonly width?: number;
  /**
   * A column of names or ids that may be shortened in the middle when names and free text together do not fit (a
   * 1 KiB object name): the names give up room until the free text has half of it. Every other column is
   * structured and is never cut.
   */
  readonly nameColumn?: number;
}

/**
 * A plain-text table: columns padded to their widest cell, no borders, so it copies cleanly into an issue. Every
 * cell is made printable, since names and messages come from users; --json is where the exact text is.
 */
export function table(headers: readonly string[], rows: readonly (readonly string[])[], options: TableOptions = {}): string {
  const width = options.width ?? Number.POSITIVE_INFINITY;
  const cells = rows.map((row) => headers.map((_, column) => printable(row[column] ?? '')));
  const widths = headers.map((header, column) => Math.max(displayWidth(header), ...cells.map((row) => displayWidth(row[column]!))));
  const last = headers.length - 1;
  const gaps = COLUMN_GAP.length * last;
  const structured = (): number => widths.slice(0, last).reduce((sum, columnWidth) => sum + columnWidth, 0) + gaps;
  const name = options.nameColumn;
  if (name !== undefined && name !== last) {
    // Names and the message share what the other columns leave; only the overflow comes out of the names, and
    // only as far as the message's share needs it.
    const shared = width - (structured() - widths[name]!) - COLUMN_GAP.length;
    const messageShare = Math.max(MIN_FREE_TEXT_WIDTH, Math.floor(shared / 2));
    const overflow = structured() + Math.min(widths[last]!, messageShare) - width;
    const floor = Math.max(displayWidth(headers[name]!), MIN_NAME_WIDTH);
    if (overflow > 0) widths[name] = Math.min(widths[name]!, Math.max(floor, widths[name]! - overflow));
  }
  widths[last] = Math.max(displayWidth(headers[last]!), Math.min(widths[last]!, width - structured()));
  const fitted = cells.map((row) =>
    row.map((cell, column) => (column === last ? truncateEnd(cell, widths[last]!) : column === name ? truncateMiddle(cell, widths[column]!) : cell)),
  );
  const line = (row: readonly string[]): string =>
    row
      .map((cell, column) => padToWidth(cell, widths[column]!))
      .join(COLUMN_GAP)
      .trimEnd();
  return [line(headers), line(widths.map((columnWidth) => '-'.repeat(columnWidth))), ...fitted.map(line)].join('\n');
}

/** Quoted values longer than this inside a message are shortened in tables, so the reason after them stays in view. */
const LONG_QUOTE_CHARS = 40;
const LONG_QUOTE = new RegExp(`"([^"]{${LONG_QUOTE_CHARS + 1},})"`, 'g');
/** Characters kept at each end of a shortened quote: enough to recognise a name and its extension. */
const QUOTE_KEEP = 12;

/**
 * Error text for a table cell, where the reason must come early: the row's own name, quoted in the message, is
 * dropped (the row shows it), and any other long quoted value is cut in the middle.
 */
export function tableMessage(message: string, rowName?: string): string {
  const withoutName = rowName === undefined ? message : message.replaceAll(` ${JSON.stringify(rowName)}`, '');
  return withoutName.replace(LONG_QUOTE, (_, quoted: string) => {
    const chars = Array.from(quoted);
    return `"${chars.slice(0, QUOTE_KEEP).join('')}${ELLIPSIS}${chars.slice(-QUOTE_KEEP).join('')}"`;
  });
}
