/**
 * `mediaflow cost [--since T] [--group-by kind|partner|profile] [--json]`: what processing cost, summed over the
 * assets touched since T, in total or per group. Each asset's `cost` is the coordinator's sum of what its step runs
 * reported (shared/domain/cost.ts); the dollars are an estimate at the list prices of shared/domain/prices.ts.
 */
import type { AssetDoc } from '../../shared/domain/asset.ts';
import { collections } from '../../shared/domain/collections.ts';
import { addFigures, ZERO_FIGURES, type CostFigures } from '../../shared/domain/cost.ts';
import type { DocumentStore } from '../../shared/ports/document-store.ts';
import { parseSince, UsageError } from '../options.ts';
import { terminalWidth } from '../terminal-text.ts';
import { formatBytes, formatSeconds, formatUsd, table } from '../view.ts';
import { withStateStore } from './status.ts';

export const GROUPINGS = ['kind', 'partner', 'profile'] as const;
export type Grouping = (typeof GROUPINGS)[number];

/** The newest assets read at most: far more than a day of a busy deployment; the output says when it was reached. */
export const COST_SCAN_LIMIT = 100_000;

export interface CostOptions {
  readonly out?: string;
  readonly json: boolean;
  readonly since?: string;
  readonly groupBy?: string;
}

export interface CostGroup {
  readonly group: string;
  readonly assets: number;
  /** Assets that reported no usage (processed before usage was recorded, or still RECEIVED). */
  readonly withoutCost: number;
  readonly figures: CostFigures;
}

export async function costCommand(options: CostOptions): Promise<number> {
  const grouping = parseGrouping(options.groupBy);
  const since = parseSince(options.since, new Date());
  return withStateStore(options.out, async (store) => {
    const { assets, capped } = await assetsSince(store, since);
    const groups = sumCosts(assets, grouping);
    if (options.json) {
      for (const group of groups) process.stdout.write(`${JSON.stringify({ ...(grouping ? { [grouping]: group.group } : {}), ...withoutName(group) })}\n`);
      return 0;
    }
    const rows = groups.map((group) => [
      group.group,
      String(group.assets),
      formatSeconds(group.figures.cpuSeconds),
      group.figures.gbSeconds.toFixed(1),
      formatBytes(group.figures.bytesRead),
      formatBytes(group.figures.bytesWritten),
      String(group.figures.inputTokens + group.figures.outputTokens),
      formatUsd(group.figures.usd),
    ]);
    const headers = [grouping ?? 'assets', 'count', 'cpu', 'GiB-s', 'read', 'written', 'tokens', 'estimate'];
    const scope = since ? `assets updated since ${since.toISOString()}` : 'all assets';
    process.stdout.write(`${table(headers, rows, { width: terminalWidth() })}\n\n`);
    const missing = groups.reduce((sum, group) => sum + group.withoutCost, 0);
    process.stdout.write(
      `${scope}: ${assets.length}${missing > 0 ? ` (${missing} with no recorded usage)` : ''}${capped ? `, only the newest ${COST_SCAN_LIMIT} read` : ''}. ` +
        'Estimate at list prices (shared/domain/prices.ts): Cloud Run vCPU and memory for the wall time, requests, storage operations, ' +
        'Pub/Sub and model tokens; billing is the source of truth.\n',
    );
    return 0;
  });
}

function withoutName(group: CostGroup): Omit<CostGroup, 'group'> {
  return { assets: group.assets, withoutCost: group.withoutCost, figures: group.figures };
}

export function parseGrouping(value: string | undefined): Grouping | undefined {
  if (value === undefined) return undefined;
  if (!(GROUPINGS as readonly string[]).includes(value)) throw new UsageError(`--group-by must be one of ${GROUPINGS.join(', ')}, got '${value}'`);
  return value as Grouping;
}

/** Assets updated since `since`, newest first (the query `mediaflow status` lists with). */
async function assetsSince(store: DocumentStore, since: Date | undefined): Promise<{ assets: AssetDoc[]; capped: boolean }> {
  const listed = await store.list<AssetDoc>(collections.assets.path(), collections.assets.queries.newestFirst.query({}, { limit: COST_SCAN_LIMIT }));
  const assets: AssetDoc[] = [];
  for (const { data } of listed) {
    if (since && data.updatedAt.getTime() < since.getTime()) break;
    assets.push(data);
  }
  return { assets, capped: listed.length === COST_SCAN_LIMIT && assets.length === listed.length };
}

/** Per group (or one `all` row without a grouping), most expensive first. */
export function sumCosts(assets: readonly AssetDoc[], grouping: Grouping | undefined): CostGroup[] {
  const groups = new Map<string, { assets: number; withoutCost: number; figures: CostFigures }>();
  for (const asset of assets) {
    const name = grouping ? groupOf(asset, grouping) : 'all';
    const group = groups.get(name) ?? { assets: 0, withoutCost: 0, figures: { ...ZERO_FIGURES } };
    group.assets += 1;
    if (asset.cost) group.figures = addFigures(group.figures, asset.cost.total);
    else group.withoutCost += 1;
    groups.set(name, group);
  }
  return [...groups.entries()].map(([group, sums]) => ({ group, ...sums })).sort((a, b) => b.figures.usd - a.figures.usd || a.group.localeCompare(b.group));
}

function groupOf(asset: AssetDoc, grouping: Grouping): string {
  switch (grouping) {
    case 'kind':
      return asset.kind ?? '(not probed)';
    case 'partner':
      return asset.source.partner ?? '(uploads)';
    case 'profile':
      return asset.profile;
  }
}
