/**
 * `mediaflow process <files or dirs…>`: uploads each file into the embedded ingest bucket, which emits the same
 * finalize notification GCS would, then follows the assets to a settled state and reports them.
 */
import { productionSteps } from '../../functions/registry.ts';
import { buildPipeline } from '../../functions/pipeline.ts';
import { assetPath, uploadAssetId } from '../../shared/domain/asset-id.ts';
import type { AssetDoc } from '../../shared/domain/asset.ts';
import { PROFILE_METADATA } from '../../shared/domain/ingest-request.ts';
import { isTerminal } from '../../shared/domain/state-machine.ts';
import { createEmbeddedRuntime, type EmbeddedRuntime } from '../../shared/runtime/embedded.ts';
import { collectUploads, uploadFailure, type Upload } from '../inputs.ts';
import { uploadOrResume } from '../resume.ts';
import { InputErrorCode } from '../object-name.ts';
import { cliConfig, UsageError } from '../options.ts';
import { printable, terminalWidth, truncateMiddle } from '../terminal-text.ts';
import { assetView, currentStep, elapsed, table, tableMessage } from '../view.ts';

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
/** Progress lines shorten names to this many columns, so each stays one line in a terminal. */
const PROGRESS_NAME_WIDTH = 60;

export async function processCommand(options: ProcessOptions): Promise<number> {
  if (options.paths.length === 0) throw new UsageError('process needs at least one file or directory');
  const uploads = await collectUploads(options.paths);
  if (uploads.length === 0) throw new UsageError('no files found in the given paths');
  // Nothing given exists: a typo in the command, not a batch with a bad file in it.
  if (uploads.every((upload) => upload.problem?.code === InputErrorCode.NOT_FOUND))
    throw new UsageError(`no such file or directory: ${options.paths.join(', ')}`);
  const config = cliConfig(options.out, options.verbose);
  const runtime = createEmbeddedRuntime({ config, steps: productionSteps, pipeline: buildPipeline, env: process.env });
  try {
    // Fail before uploading anything when ffmpeg is missing: every asset would fail the same way.
    await runtime.deps.mediaTools();
    const metadata: Record<string, string> = options.profile ? { [PROFILE_METADATA]: options.profile } : {};
    const target = { blobs: runtime.blobs, bus: runtime.bus, uploadsTopic: config.topics.uploads, bucket: config.buckets.ingest };
    for (const upload of uploads.filter((item) => !item.problem)) {
      // One file the store refuses (a name too long for the disk, a file that vanished) is that file's row only.
      try {
        // Re-running the same command after a kill resumes: the same file is the same asset, not a new version.
        const meta = await uploadOrResume(target, upload.file, upload.objectName, metadata);
        upload.assetId = uploadAssetId(meta.bucket, meta.name, meta.generation);
      } catch (error) {
        upload.problem = uploadFailure(error);
      }
    }
    const assets = await follow(runtime, uploads, options.json);
    report(assets, uploads, config.dataDir, options.json);
    return assets.every((asset) => asset?.status === 'READY') ? 0 : 1;
  } finally {
    await runtime.close();
  }
}

async function follow(runtime: EmbeddedRuntime, uploads: readonly Upload[], quiet: boolean): Promise<(AssetDoc | undefined)[]> {
  const lastSeen = new Map<string, string>();
  let quietSince: number | undefined;
  for (;;) {
    const idle = await Promise.race([runtime.idle().then(() => true), sleep(PROGRESS_POLL_MS).then(() => false)]);
    const assets = await Promise.all(uploads.map(async (upload) => (upload.assetId ? runtime.store.get<AssetDoc>(assetPath(upload.assetId)) : undefined)));
    if (!quiet) printChanges(assets, uploads, lastSeen);
    if (assets.every((asset, index) => uploads[index]!.problem || (asset !== undefined && isTerminal(asset.status)))) return assets;
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
    const line = upload.problem
      ? `${upload.problem.status} · ${upload.problem.code}`
      : asset
        ? `${asset.status}${currentStep(asset) ? ` · ${currentStep(asset)}` : ''}`
        : 'uploaded';
    // Keyed by position: two inputs may share a name when neither could be uploaded.
    const key = String(index);
    if (lastSeen.get(key) === line) return;
    lastSeen.set(key, line);
    process.stderr.write(
      `  [${String(index + 1).padStart(String(uploads.length).length)}/${uploads.length}] ${truncateMiddle(printable(upload.objectName), PROGRESS_NAME_WIDTH)}: ${line}\n`,
    );
  });
}

function report(assets: readonly (AssetDoc | undefined)[], uploads: readonly Upload[], dataDir: string, json: boolean): void {
  if (json) {
    assets.forEach((asset, index) => process.stdout.write(`${JSON.stringify(jsonView(asset, uploads[index]!))}\n`));
    return;
  }
  const rows = assets.map((asset, index) => {
    const upload = uploads[index]!;
    const { problem } = upload;
    if (problem) return [upload.objectName, '-', problem.status, '-', tableMessage(`${problem.code}: ${problem.message}`, upload.objectName)];
    if (!asset) return [upload.objectName, '-', 'MISSING', '-', 'no asset document was created'];
    const status = isTerminal(asset.status) ? asset.status : `${asset.status} (stalled)`;
    const detail = asset.error ? tableMessage(`${asset.error.step}: ${asset.error.code}: ${asset.error.message}`) : Object.keys(asset.steps).join(', ');
    return [upload.objectName, asset.kind ?? '-', status, elapsed(asset), detail];
  });
  process.stdout.write(`\n${table(['file', 'kind', 'status', 'time', 'steps / error'], rows, { width: terminalWidth(), nameColumn: 0 })}\n`);
  const ready = assets.filter((asset) => asset?.status === 'READY').length;
  process.stdout.write(
    `\n${ready}/${assets.length} READY. State and buckets: ${printable(dataDir)}\nInspect: mediaflow status --out ${printable(dataDir)} [asset id]\n`,
  );
}

/** One object per input, in input order; an input that never became an asset says which file and why. */
function jsonView(asset: AssetDoc | undefined, upload: Upload): object {
  if (upload.problem) {
    const { status, code, message } = upload.problem;
    return { id: null, file: upload.file, name: upload.objectName, status, error: { step: 'upload', code, message } };
  }
  if (asset) return assetView(asset);
  return { id: upload.assetId, status: 'MISSING', error: { step: 'ingest', code: 'NOT_RECEIVED', message: 'no asset document was created' } };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
