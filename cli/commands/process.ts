/**
 * `mediaflow process <files or dirs…>`: uploads each file into the embedded ingest bucket, which emits the same
 * finalize notification GCS would, then follows the assets to a settled state and reports them.
 */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { productionSteps } from '../../functions/registry.ts';
import { buildPipeline } from '../../functions/pipeline.ts';
import { assetPath, uploadAssetId } from '../../shared/domain/asset-id.ts';
import type { AssetDoc } from '../../shared/domain/asset.ts';
import { PROFILE_METADATA } from '../../shared/domain/ingest-request.ts';
import { isTerminal } from '../../shared/domain/state-machine.ts';
import { createEmbeddedRuntime, type EmbeddedRuntime } from '../../shared/runtime/embedded.ts';
import { cliConfig, UsageError } from '../options.ts';
import { assetView, currentStep, elapsed, table } from '../view.ts';

export interface ProcessOptions {
  readonly paths: readonly string[];
  readonly out?: string;
  readonly json: boolean;
  readonly profile?: string;
  readonly verbose: boolean;
}

/** How often the CLI looks at the store while the pipeline runs. */
const PROGRESS_POLL_MS = 200;
/** After the bus goes quiet, how long a non-settled asset may stay so before it is reported as stalled. */
const STALL_GRACE_MS = 2_000;

interface Upload {
  readonly file: string;
  readonly objectName: string;
  assetId?: string;
}

export async function processCommand(options: ProcessOptions): Promise<number> {
  if (options.paths.length === 0) throw new UsageError('process needs at least one file or directory');
  const uploads = await collectUploads(options.paths);
  if (uploads.length === 0) throw new UsageError('no files found in the given paths');
  const config = cliConfig(options.out, options.verbose);
  const runtime = createEmbeddedRuntime({ config, steps: productionSteps, pipeline: buildPipeline, env: process.env });
  try {
    // Fail before uploading anything when ffmpeg is missing: every asset would fail the same way.
    await runtime.deps.mediaTools();
    for (const upload of uploads) {
      const meta = await runtime.blobs.upload(upload.file, { bucket: config.buckets.ingest, name: upload.objectName }, options.profile ? { metadata: { [PROFILE_METADATA]: options.profile } } : {});
      upload.assetId = uploadAssetId(meta.bucket, meta.name, meta.generation);
    }
    const assets = await follow(runtime, uploads, options.json);
    report(assets, uploads, config.dataDir, options.json);
    return assets.every((asset) => asset?.status === 'READY') ? 0 : 1;
  } finally {
    await runtime.close();
  }
}

/** Files as given, directories walked recursively; object names keep the directory's own name as a prefix. */
async function collectUploads(paths: readonly string[]): Promise<Upload[]> {
  const uploads: Upload[] = [];
  const taken = new Set<string>();
  const add = (file: string, objectName: string): void => {
    let name = objectName;
    for (let n = 2; taken.has(name); n += 1) name = objectName.replace(/(\.[^./]*)?$/, `~${n}$1`);
    taken.add(name);
    uploads.push({ file, objectName: name });
  };
  for (const given of paths) {
    const info = await stat(given).catch(() => undefined);
    if (!info) throw new UsageError(`no such file or directory: ${given}`);
    if (info.isFile()) {
      add(path.resolve(given), path.basename(given));
      continue;
    }
    const root = path.resolve(given);
    const entries = await readdir(root, { recursive: true, withFileTypes: true });
    for (const entry of entries.filter((item) => item.isFile() && !item.name.startsWith('.')).sort((a, b) => a.parentPath.localeCompare(b.parentPath) || a.name.localeCompare(b.name))) {
      const file = path.join(entry.parentPath, entry.name);
      add(file, path.posix.join(path.basename(root), ...path.relative(root, file).split(path.sep)));
    }
  }
  return uploads;
}

async function follow(runtime: EmbeddedRuntime, uploads: readonly Upload[], quiet: boolean): Promise<(AssetDoc | undefined)[]> {
  const lastSeen = new Map<string, string>();
  let quietSince: number | undefined;
  for (;;) {
    const idle = await Promise.race([runtime.idle().then(() => true), sleep(PROGRESS_POLL_MS).then(() => false)]);
    const assets = await Promise.all(uploads.map((upload) => runtime.store.get<AssetDoc>(assetPath(upload.assetId!))));
    if (!quiet) printChanges(assets, uploads, lastSeen);
    if (assets.every((asset) => asset !== undefined && isTerminal(asset.status))) return assets;
    if (!idle) {
      quietSince = undefined;
      continue;
    }
    quietSince ??= Date.now();
    // Nothing left to deliver but an asset has not settled: a lost message or a bug. Say so instead of hanging.
    if (Date.now() - quietSince > STALL_GRACE_MS) return assets;
    await sleep(PROGRESS_POLL_MS);
  }
}

function printChanges(assets: readonly (AssetDoc | undefined)[], uploads: readonly Upload[], lastSeen: Map<string, string>): void {
  assets.forEach((asset, index) => {
    const upload = uploads[index]!;
    const line = asset ? `${asset.status}${currentStep(asset) ? ` · ${currentStep(asset)}` : ''}` : 'uploaded';
    if (lastSeen.get(upload.objectName) === line) return;
    lastSeen.set(upload.objectName, line);
    process.stderr.write(`  [${String(index + 1).padStart(String(uploads.length).length)}/${uploads.length}] ${upload.objectName}: ${line}\n`);
  });
}

function report(assets: readonly (AssetDoc | undefined)[], uploads: readonly Upload[], dataDir: string, json: boolean): void {
  if (json) {
    assets.forEach((asset, index) => {
      const view = asset ? assetView(asset) : { id: uploads[index]!.assetId, status: 'MISSING', error: { step: 'ingest', code: 'NOT_RECEIVED', message: 'no asset document was created' } };
      process.stdout.write(`${JSON.stringify(view)}\n`);
    });
    return;
  }
  const rows = assets.map((asset, index) => {
    if (!asset) return [uploads[index]!.objectName, '-', 'MISSING', '-', 'no asset document was created'];
    const status = isTerminal(asset.status) ? asset.status : `${asset.status} (stalled)`;
    const detail = asset.error ? `${asset.error.step}: ${asset.error.code}: ${asset.error.message}` : Object.keys(asset.steps).join(', ');
    return [uploads[index]!.objectName, asset.kind ?? '-', status, elapsed(asset), detail];
  });
  process.stdout.write(`\n${table(['file', 'kind', 'status', 'time', 'steps / error'], rows)}\n`);
  const ready = assets.filter((asset) => asset?.status === 'READY').length;
  process.stdout.write(`\n${ready}/${assets.length} READY. State and buckets: ${dataDir}\nInspect: mediaflow status --out ${dataDir} [asset id]\n`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
