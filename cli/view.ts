/**
 * How an asset looks outside the store: the CLI's table rows and its --json objects. One shape for both, so
 * the JSON a script reads and the table a person reads never disagree.
 */
import { collectOutputs, type AssetDoc } from '../shared/domain/asset.ts';

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
  };
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

/** A plain-text table: columns padded to their widest cell, no borders, so it copies cleanly into an issue. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((header, column) => Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd();
  return [line(headers), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line)].join('\n');
}
