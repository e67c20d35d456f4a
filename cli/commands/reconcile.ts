/**
 * `mediaflow reconcile [--prefix P] [--since T] [--rate N] [--dry-run]`: ingests the objects of the ingest bucket that
 * have no asset, by sending the notification the bucket would have sent (shared/runtime/reconcile.ts). On the
 * embedded runtime it then runs them to the end, like `process`; with MEDIAFLOW_RUNTIME=gcp it publishes to the
 * uploads topic and returns, and `mediaflow status` follows them. A second run finds nothing to do.
 */
import { buildPipeline } from '../../functions/pipeline.ts';
import { productionSteps } from '../../functions/registry.ts';
import type { AssetDoc } from '../../shared/domain/asset.ts';
import { collections } from '../../shared/domain/collections.ts';
import { createEmbeddedRuntime } from '../../shared/runtime/embedded.ts';
import { createGcpDeps } from '../../shared/runtime/gcp.ts';
import { DEFAULT_RECONCILE_RATE_PER_SECOND, reconcileIngestBucket, type ReconcileReport } from '../../shared/runtime/reconcile.ts';
import { cliConfig, parseSince, UsageError } from '../options.ts';
import { table } from '../view.ts';

export interface ReconcileCommandOptions {
  readonly out?: string;
  readonly json: boolean;
  readonly verbose: boolean;
  readonly prefix?: string;
  readonly since?: string;
  readonly rate?: string;
  readonly dryRun: boolean;
}

export async function reconcileCommand(options: ReconcileCommandOptions): Promise<number> {
  const rate = options.rate === undefined ? DEFAULT_RECONCILE_RATE_PER_SECOND : Number(options.rate);
  if (!(rate > 0) || !Number.isFinite(rate)) throw new UsageError(`--rate must be a number of notifications per second above 0, got '${options.rate}'`);
  const since = parseSince(options.since, new Date());
  const reconcile = { ...(options.prefix ? { prefix: options.prefix } : {}), ...(since ? { since } : {}), dryRun: options.dryRun, ratePerSecond: rate };
  const config = cliConfig(options.out, options.verbose);
  if (config.runtime === 'gcp') {
    const deps = createGcpDeps(config, productionSteps, process.env);
    try {
      print(await reconcileIngestBucket(deps, reconcile), [], options);
    } finally {
      await deps.store.close();
    }
    return 0;
  }
  const runtime = createEmbeddedRuntime({ config, steps: productionSteps, pipeline: buildPipeline, env: process.env });
  try {
    if (!options.dryRun) await runtime.deps.mediaTools();
    const report = await reconcileIngestBucket(runtime.deps, reconcile);
    await runtime.idle();
    const assets = await Promise.all(report.assetIds.map((id) => runtime.store.get<AssetDoc>(collections.assets.doc(id))));
    print(report, assets, options);
    return assets.every((asset) => asset?.status === 'READY') ? 0 : 1;
  } finally {
    await runtime.close();
  }
}

function print(report: ReconcileReport, assets: readonly (AssetDoc | undefined)[], options: ReconcileCommandOptions): void {
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ ...report, statuses: assets.map((asset) => asset?.status ?? null) })}\n`);
    return;
  }
  const verb = options.dryRun ? 'would ingest' : 'ingested';
  process.stdout.write(
    `${report.listed} objects listed, ${report.skipped} skipped (older than --since, or derivatives), ${report.withAsset} already have their asset; ${verb} ${report.missingCount}\n`,
  );
  if (report.missingCount === 0) return;
  const rows = report.missing.map((name, index) => [name, assets[index]?.status ?? (options.dryRun ? '-' : 'sent')]);
  process.stdout.write(`${table(['object', 'status'], rows)}\n`);
  if (report.missingCount > report.missing.length) process.stdout.write(`… and ${report.missingCount - report.missing.length} more\n`);
}
