/**
 * Reprocessing against first processing, in one process on the embedded runtime with the production steps:
 *
 *   first run          N photos uploaded and run to READY (probe, checksum, thumbnail, tag): the baseline;
 *   reprocess          `mediaflow reprocess --step thumbnail` over all of them, unbounded: thumbnail and tag re-run
 *                      beside the live outputs, then switch;
 *   reprocess at R/s   the same again at the rate limit, which bounds the wall time from below (N / R).
 *
 * CPU is what the pipeline's own meter recorded on the assets (their `cost`, children included), so it is the same
 * figure `mediaflow cost` reports. Tag runs without Vertex here (it records why and costs little).
 *
 *   npm run bench -- reprocess
 *   BENCH_REPROCESS_ASSETS=100 BENCH_REPROCESS_RATE=20 npm run bench -- reprocess
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { table } from '../cli/view.ts';
import { productionSteps } from '../functions/registry.ts';
import { buildPipeline } from '../functions/pipeline.ts';
import { newJob, runJob, startRuns } from '../functions/coordinator/reprocess-job.ts';
import { photoJpeg } from '../scripts/sample-media/sample-images.ts';
import { loadConfig } from '../shared/config/config.ts';
import { uploadAssetId } from '../shared/domain/asset-id.ts';
import type { AssetDoc } from '../shared/domain/asset.ts';
import { collections } from '../shared/domain/collections.ts';
import { createEmbeddedRuntime, type EmbeddedRuntime } from '../shared/runtime/embedded.ts';
import { formatFixed, formatRatio, positiveIntFromEnv, type Bench } from './lib/bench.ts';

const DEFAULT_ASSETS = 40;
const DEFAULT_RATE = 20;
/** A phone-sized still would make the figures the encoder's; this keeps them the pipeline's. */
const PHOTO = { width: 1280, height: 960 };
/** Unbounded for the purpose: far above what two cores start. */
const UNBOUNDED_RATE = 1_000_000;

interface Phase {
  readonly name: string;
  readonly wallSeconds: number;
  readonly cpuSeconds: number;
}

export const reprocessBench: Bench = {
  name: 'reprocess',
  async run() {
    const count = positiveIntFromEnv('BENCH_REPROCESS_ASSETS', DEFAULT_ASSETS);
    const rate = positiveIntFromEnv('BENCH_REPROCESS_RATE', DEFAULT_RATE);
    const media = await mkdtemp(path.join(os.tmpdir(), 'mediaflow-bench-media-'));
    const dataDir = path.join(os.tmpdir(), `mediaflow-bench-${randomUUID()}`);
    const runtime = createEmbeddedRuntime({
      config: loadConfig({ MEDIAFLOW_LOG_LEVEL: 'silent', PATH: process.env.PATH }, { dataDir }),
      steps: productionSteps,
      pipeline: buildPipeline,
      env: { PATH: process.env.PATH },
    });
    try {
      const files = await Promise.all(Array.from({ length: count }, (_, i) => photoJpeg('ffmpeg', path.join(media, `p${i}.jpg`), PHOTO)));
      const ids: string[] = [];
      const phases: Phase[] = [];
      phases.push(
        await phase('first run', runtime, ids, async () => {
          for (const file of files) {
            const meta = await runtime.blobs.upload(file, { bucket: runtime.deps.config.buckets.ingest, name: path.basename(file) });
            ids.push(uploadAssetId(meta.bucket, meta.name, meta.generation));
          }
        }),
      );
      for (const [name, perSecond] of [
        ['reprocess', UNBOUNDED_RATE],
        [`reprocess at ${rate}/s`, rate],
      ] as const) {
        phases.push(
          await phase(name, runtime, ids, async () => {
            const job = newJob(runtime.deps, { step: 'thumbnail', kind: null, where: null, ratePerSecond: perSecond, by: 'bench' });
            const done = await runJob(runtime.deps, job, { start: startRuns(runtime.deps, job) });
            if (done.counts.started !== count) throw new Error(`the job started ${done.counts.started} runs of ${count}`);
          }),
        );
      }
      const assets = await docs(runtime, ids);
      const updated = assets.filter((asset) => asset.lastReprocess?.status === 'SUCCEEDED').length;
      if (updated !== count) throw new Error(`${updated} of ${count} assets ended their last reprocess SUCCEEDED`);
      const [baseline] = phases;
      const rows = phases.map((p) => [
        p.name,
        String(count),
        formatFixed(p.wallSeconds, 2),
        formatFixed(count / p.wallSeconds, 1),
        formatRatio(p.wallSeconds, baseline!.wallSeconds),
        formatFixed(p.cpuSeconds, 2),
        formatFixed((p.cpuSeconds / count) * 1000, 0),
        formatRatio(p.cpuSeconds, baseline!.cpuSeconds),
      ]);
      return [
        `${count} photos of ${PHOTO.width}×${PHOTO.height}; the reprocess re-runs thumbnail and tag; the rate-limited one cannot take less than ${formatFixed(count / rate, 2)} s`,
        table(['phase', 'assets', 'wall s', 'assets/s', 'wall vs first run', 'recorded CPU s', 'CPU ms/asset', 'CPU vs first run'], rows),
      ].join('\n');
    } finally {
      await runtime.close();
      await rm(dataDir, { recursive: true, force: true });
      await rm(media, { recursive: true, force: true });
    }
  },
};

/** Runs `work`, waits for the pipeline to be quiet, and reads what it cost from the assets' own records. */
async function phase(name: string, runtime: EmbeddedRuntime, ids: readonly string[], work: () => Promise<void>): Promise<Phase> {
  const before = ids.length === 0 ? 0 : recordedCpu(await docs(runtime, ids));
  const started = performance.now();
  await work();
  await runtime.idle();
  const wallSeconds = (performance.now() - started) / 1000;
  return { name, wallSeconds, cpuSeconds: recordedCpu(await docs(runtime, ids)) - before };
}

async function docs(runtime: EmbeddedRuntime, ids: readonly string[]): Promise<AssetDoc[]> {
  const found = await Promise.all(ids.map((id) => runtime.store.get<AssetDoc>(collections.assets.doc(id))));
  return found.filter((asset): asset is AssetDoc => asset !== undefined);
}

function recordedCpu(assets: readonly AssetDoc[]): number {
  return assets.reduce((sum, asset) => sum + (asset.cost?.total.cpuSeconds ?? 0), 0);
}
