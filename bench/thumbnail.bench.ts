/**
 * The thumbnail step's image path on its reference workload: a 12 MP photo into the default derivative set
 * (5 sizes × AVIF, WebP, JPEG), many times. Every variant produces the same 15 files with the same encoder
 * settings, so the differences are in decoding and scheduling only:
 *
 *   ours             the step's own renderImage: one decode at the largest size, a resize cascade, parallel encodes,
 *                    as the container should run it (jemalloc preloaded, see functions/thumbnail/sharp.ts); also
 *                    with glibc's malloc, and with sharp's concurrency at the core count, which the container avoids;
 *   (a) vipsthumbnail  Debian's libvips-tools, one run per size and format: the limit of the same library used naively;
 *   (b) naive sharp    one pipeline per size and a clone() per format, which reads like one decode per size but
 *                      decodes again for every clone;
 *   (b') per size      sharp decoding once per size for real (to raw pixels, then three encodes).
 *
 * Each sharp variant runs in a child process of its own, so its peak RSS is its own and sharp's process-wide
 * settings (concurrency, allocator) cannot leak from one variant into the next. Without libjemalloc2 installed,
 * every variant runs on glibc's malloc and the report says so.
 */
import { execFile, fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { table } from '../cli/view.ts';
import { encode } from '../functions/thumbnail/encoders.ts';
import { renderImage } from '../functions/thumbnail/image.ts';
import { makePlaceholder } from '../functions/thumbnail/placeholder.ts';
import { resolveProfile } from '../functions/thumbnail/profiles.ts';
import { sharp } from '../functions/thumbnail/sharp.ts';
import { photoJpeg } from '../scripts/sample-media/sample-images.ts';
import { resolveMediaTools } from '../shared/media/tools.ts';
import { formatFixed, formatRatio, positiveIntFromEnv, type Bench } from './lib/bench.ts';
import { processTreeCpuSeconds } from './lib/process-tree.ts';

const run = promisify(execFile);
const DEFAULT_IMAGES = 8;
const WIDTH = 4000;
const HEIGHT = 3000;
/** A child's whole run; a machine needing longer than this is too busy for the figures to mean anything. */
const CHILD_TIMEOUT_MS = 15 * 60_000;
const GOALS = { vsVipsthumbnail: 1.5, vsNaive: 1.4, peakRssMb: 350 } as const;
const profile = resolveProfile('default');
const background = { r: 255, g: 255, b: 255 };

type Variant = 'ours' | 'ours-glibc' | 'ours-threads' | 'naive-clone' | 'naive-per-size';

/**
 * The allocator settings recommended for the container: freed pages go back to the OS within a second, from a
 * background thread, and two arenas are plenty for libuv's four pool threads. Measured here, 8 images each, in
 * turn: peak RSS 241 MB, against 328 MB with jemalloc's defaults and 486 MB (still climbing) with glibc's malloc,
 * at the same CPU per image within noise (1.90–1.97 s).
 */
const CONTAINER_MALLOC_CONF = 'narenas:2,background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0';

interface Figures {
  readonly images: number;
  readonly wallSeconds: number;
  readonly cpuSeconds: number;
  readonly peakRssMb: number | null;
  readonly bytesPerImage: number;
}

const LABELS: Record<Variant | 'vipsthumbnail', string> = {
  ours: 'ours: one decode + cascade, sharp concurrency 1',
  'ours-glibc': "ours on glibc's malloc",
  'ours-threads': "ours on glibc's malloc, sharp concurrency = cores",
  vipsthumbnail: '(a) vipsthumbnail, 15 runs per image',
  'naive-clone': '(b) naive sharp: pipeline per size, clone() per format',
  'naive-per-size': "(b') sharp, one decode per size to raw",
};

/** One image through a variant, in this process; returns the bytes written. */
async function processOnce(variant: Variant, file: string, scratchDir: string): Promise<number> {
  if (variant === 'naive-clone' || variant === 'naive-per-size') return naive(variant, file);
  const render = await renderImage(file, profile, {
    mediaTools: () => resolveMediaTools({ PATH: process.env.PATH }),
    scratchDir,
    signal: new AbortController().signal,
  });
  await makePlaceholder(render.stills.tiny, background);
  return render.stills.renditions.reduce((sum, rendition) => sum + rendition.data.length, 0);
}

async function naive(variant: 'naive-clone' | 'naive-per-size', file: string): Promise<number> {
  let bytes = 0;
  for (const size of profile.sizes) {
    const resized = sharp(file, { autoOrient: true }).resize(size, size, { fit: 'inside', withoutEnlargement: true, kernel: 'lanczos3' });
    if (variant === 'naive-clone') {
      const outputs = await Promise.all(
        profile.formats.map((settings) => {
          const clone = resized.clone();
          const encoded =
            settings.format === 'avif'
              ? clone.avif({ quality: settings.quality, effort: settings.effort, chromaSubsampling: '4:2:0' })
              : settings.format === 'webp'
                ? clone.webp({ quality: settings.quality, effort: settings.effort })
                : clone.jpeg({ quality: settings.quality, progressive: true, mozjpeg: false });
          return encoded.toBuffer();
        }),
      );
      bytes += outputs.reduce((sum, output) => sum + output.length, 0);
    } else {
      const { data, info } = await resized.raw().toBuffer({ resolveWithObject: true });
      const outputs = await Promise.all(
        profile.formats.map((settings) => encode({ data, width: info.width, height: info.height, channels: info.channels }, settings, { background })),
      );
      bytes += outputs.reduce((sum, output) => sum + output.length, 0);
    }
  }
  return bytes;
}

/** What one image cost a variant. */
interface Sample {
  readonly cpuSeconds: number;
  readonly wallSeconds: number;
  readonly bytes: number;
}

/** A variant ready to process one image at a time; `finish` returns its peak RSS (MB), when it can be known. */
interface Runner {
  next(): Promise<Sample>;
  finish(): Promise<number | null>;
  /** Stops it at once, after a failure elsewhere. */
  kill(): void;
}

type ToChild = 'image' | 'finish';
type FromChild = { ready: true } | { sample: Sample } | { peakRssMb: number };

/** The child side: warm up on one image, then process one per 'image' message until 'finish'. */
async function child(variant: Variant, file: string): Promise<void> {
  if (variant === 'ours-threads') sharp.concurrency(0);
  const scratchDir = await mkdtemp(path.join(os.tmpdir(), 'mediaflow-bench-thumb-'));
  const send = (message: FromChild): void => {
    process.send!(message);
  };
  await processOnce(variant, file, scratchDir);
  process.on('message', (message: ToChild) => {
    void (async () => {
      if (message === 'finish') {
        await rm(scratchDir, { recursive: true, force: true });
        send({ peakRssMb: process.resourceUsage().maxRSS / 1024 });
        process.disconnect();
        return;
      }
      const cpu = process.cpuUsage();
      const started = performance.now();
      const bytes = await processOnce(variant, file, scratchDir);
      const used = process.cpuUsage(cpu);
      send({ sample: { cpuSeconds: (used.user + used.system) / 1e6, wallSeconds: (performance.now() - started) / 1000, bytes } });
    })();
  });
  send({ ready: true });
}

/** A sharp variant in a child process of its own, driven over IPC. */
async function sharpRunner(variant: Variant, file: string, env: NodeJS.ProcessEnv): Promise<Runner> {
  const worker = fork(import.meta.filename, [variant, file], {
    env,
    execArgv: ['--disable-warning=ExperimentalWarning'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const queued: FromChild[] = [];
  let waiting: { resolve: (reply: FromChild) => void; reject: (error: Error) => void } | undefined;
  worker.on('message', (message: FromChild) => {
    if (waiting) waiting.resolve(message);
    else queued.push(message);
  });
  worker.on('exit', (code) => waiting?.reject(new Error(`bench child '${variant}' exited with code ${code}`)));
  const reply = async (): Promise<FromChild> => {
    if (queued.length > 0) return queued.shift()!;
    let timer: NodeJS.Timeout | undefined;
    try {
      return await new Promise<FromChild>((resolve, reject) => {
        waiting = { resolve, reject };
        timer = setTimeout(() => reject(new Error(`bench child '${variant}' did not answer within ${CHILD_TIMEOUT_MS} ms`)), CHILD_TIMEOUT_MS);
      });
    } finally {
      waiting = undefined;
      clearTimeout(timer);
    }
  };
  await reply();
  return {
    async next() {
      worker.send('image');
      return ((await reply()) as { sample: Sample }).sample;
    },
    async finish() {
      worker.send('finish');
      return ((await reply()) as { peakRssMb: number }).peakRssMb;
    },
    kill() {
      worker.kill();
    },
  };
}

/** vipsthumbnail's option strings for the profile's encoders; `strip` drops metadata as sharp does by default. */
function vipsSuffix(settings: (typeof profile.formats)[number]): string {
  switch (settings.format) {
    case 'avif':
      return `avif[Q=${settings.quality},effort=${settings.effort ?? 4},subsample-mode=on,bitdepth=8,compression=av1,strip]`;
    case 'webp':
      return `webp[Q=${settings.quality},effort=${settings.effort ?? 4},strip]`;
    case 'jpeg':
      return `jpg[Q=${settings.quality},optimize-coding,interlace,strip]`;
  }
}

/**
 * vipsthumbnail, every size × format of an image as its own run, as many at once as there are cores. CPU is the
 * whole process tree's (children are reaped into it); peak RSS comes from GNU time, when installed.
 */
async function vipsRunner(file: string, outDir: string): Promise<Runner> {
  const gnuTime = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;
  // sharp sets VIPSHOME for its bundled libvips; inherited, it sends Debian's libvips looking for its HEIF module there.
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => key !== 'VIPSHOME'));
  const base = path.basename(file, path.extname(file));
  const logs: string[] = [];
  const image = async (): Promise<void> => {
    const pending = profile.sizes.flatMap((size) => profile.formats.map((settings) => ({ size, settings })));
    const worker = async (): Promise<void> => {
      for (let job = pending.shift(); job; job = pending.shift()) {
        const args = [file, '--size', String(job.size), '-o', path.join(outDir, `%s-${job.size}.${vipsSuffix(job.settings)}`)];
        const log = path.join(outDir, `time-${logs.length}.txt`);
        logs.push(log);
        await (gnuTime ? run(gnuTime, ['-f', '%M', '-o', log, 'vipsthumbnail', ...args], { env }) : run('vipsthumbnail', args, { env }));
      }
    };
    await Promise.all(Array.from({ length: os.availableParallelism() }, worker));
  };
  await image();
  return {
    async next() {
      const cpu = processTreeCpuSeconds() ?? Number.NaN;
      const started = performance.now();
      await image();
      const wallSeconds = (performance.now() - started) / 1000;
      let bytes = 0;
      for (const size of profile.sizes)
        for (const extension of ['avif', 'webp', 'jpg']) bytes += (await stat(path.join(outDir, `${base}-${size}.${extension}`))).size;
      return { cpuSeconds: (processTreeCpuSeconds() ?? Number.NaN) - cpu, wallSeconds, bytes };
    },
    async finish() {
      if (!gnuTime) return null;
      let peak = 0;
      for (const log of logs) peak = Math.max(peak, Number((await readFile(log, 'utf8')).trim().split('\n').at(-1)) / 1024);
      return peak;
    },
    kill() {},
  };
}

async function vipsthumbnailVersion(): Promise<string | undefined> {
  try {
    return (await run('vips', ['--version'])).stdout.trim();
  } catch {
    return undefined;
  }
}

/** Debian's multiarch location of libjemalloc2; the bench adds the jemalloc variant only when it is installed. */
function jemallocPath(): string | undefined {
  const triplet = { x64: 'x86_64-linux-gnu', arm64: 'aarch64-linux-gnu' }[os.arch() as 'x64' | 'arm64'];
  const candidate = triplet ? `/usr/lib/${triplet}/libjemalloc.so.2` : undefined;
  return candidate && existsSync(candidate) ? candidate : undefined;
}

function report(results: Map<Variant | 'vipsthumbnail', Figures>, notes: string[]): string {
  const ours = results.get('ours')!;
  const perImage = (figures: Figures): number => figures.cpuSeconds / figures.images;
  const rows = [...results].map(([variant, figures]) => [
    LABELS[variant],
    formatFixed(figures.images / figures.wallSeconds, 2),
    formatFixed(perImage(figures), 2),
    figures.peakRssMb === null ? '–' : formatFixed(figures.peakRssMb, 0),
    formatFixed(figures.bytesPerImage / 1024, 0),
    formatRatio(perImage(figures), perImage(ours)),
  ]);
  const ratio = (variant: Variant | 'vipsthumbnail'): number | undefined => {
    const figures = results.get(variant);
    return figures ? perImage(figures) / perImage(ours) : undefined;
  };
  const goal = (label: string, value: number | undefined, target: number, higherIsBetter = true): string =>
    value === undefined
      ? `${label}: not measured`
      : `${label}: ${formatFixed(value, 2)} (goal ${higherIsBetter ? '≥' : '<'} ${target}) ${(higherIsBetter ? value >= target : value < target) ? 'met' : 'NOT met'}`;
  return [
    table(['variant', 'img/s', 'CPU-s/img', 'peak RSS MB', 'output KB/img', 'CPU/img vs ours'], rows),
    '',
    goal('CPU per image, (a) vipsthumbnail ÷ ours', ratio('vipsthumbnail'), GOALS.vsVipsthumbnail),
    goal('CPU per image, (b) naive sharp ÷ ours', ratio('naive-clone'), GOALS.vsNaive),
    goal("CPU per image, (b') one decode per size ÷ ours", ratio('naive-per-size'), GOALS.vsNaive),
    goal('peak RSS of ours, MB', ours.peakRssMb ?? undefined, GOALS.peakRssMb, false),
    ...notes,
  ].join('\n');
}

export const thumbnailBench: Bench = {
  name: 'thumbnail',
  async run() {
    const images = positiveIntFromEnv('BENCH_IMAGES', DEFAULT_IMAGES);
    const dir = await mkdtemp(path.join(os.tmpdir(), 'mediaflow-bench-thumbnail-'));
    const runners = new Map<Variant | 'vipsthumbnail', Runner>();
    try {
      const file = await photoJpeg('ffmpeg', path.join(dir, 'photo.jpg'), { width: WIDTH, height: HEIGHT });
      const notes: string[] = [];
      const jemalloc = jemallocPath();
      const container = jemalloc ? { ...process.env, LD_PRELOAD: jemalloc, MALLOC_CONF: CONTAINER_MALLOC_CONF } : process.env;
      notes.push(
        jemalloc
          ? `"ours", (b) and (b') run as the container should: LD_PRELOAD=${jemalloc} MALLOC_CONF=${CONTAINER_MALLOC_CONF}`
          : 'libjemalloc2 is not installed (apt-get install -y libjemalloc2): every variant ran on glibc malloc, so "ours" is not the container setup',
      );
      runners.set('ours', await sharpRunner('ours', file, container));
      if (jemalloc) runners.set('ours-glibc', await sharpRunner('ours', file, process.env));
      runners.set('ours-threads', await sharpRunner('ours-threads', file, process.env));
      const vips = await vipsthumbnailVersion();
      if (vips) runners.set('vipsthumbnail', await vipsRunner(file, dir));
      else notes.push('(a) skipped: vipsthumbnail not found; apt-get install -y libvips-tools');
      runners.set('naive-clone', await sharpRunner('naive-clone', file, container));
      runners.set('naive-per-size', await sharpRunner('naive-per-size', file, container));

      // Round robin, one image per variant per round: a neighbour's burst on a shared machine hits every variant alike.
      const samples = new Map<Variant | 'vipsthumbnail', Sample[]>([...runners.keys()].map((variant) => [variant, []]));
      for (let round = 0; round < images; round += 1) {
        for (const [variant, runner] of runners) samples.get(variant)!.push(await runner.next());
      }
      const results = new Map<Variant | 'vipsthumbnail', Figures>();
      for (const [variant, runner] of runners) {
        const taken = samples.get(variant)!;
        const sum = (pick: (sample: Sample) => number): number => taken.reduce((total, sample) => total + pick(sample), 0);
        results.set(variant, {
          images,
          wallSeconds: sum((x) => x.wallSeconds),
          cpuSeconds: sum((x) => x.cpuSeconds),
          peakRssMb: await runner.finish(),
          bytesPerImage: sum((x) => x.bytes) / images,
        });
      }
      runners.clear();
      const { size } = await stat(file);
      return [
        `${WIDTH}×${HEIGHT} JPEG (${formatFixed(size / 2 ** 20, 1)} MiB) → ${profile.sizes.join('/')} px × ${profile.formats.map((f) => `${f.format} q${f.quality}${f.effort === undefined ? '' : ` e${f.effort}`}`).join(', ')}`,
        `${images} images per variant after one warm-up, one image at a time, variants in turn · sharp ${sharp.versions.sharp} / libvips ${sharp.versions.vips}${vips ? ` · ${vips} for (a)` : ''}`,
        '',
        report(results, notes),
      ].join('\n');
    } finally {
      for (const runner of runners.values()) runner.kill();
      await rm(dir, { recursive: true, force: true });
    }
  },
};

if (import.meta.main) {
  const [variant, file] = process.argv.slice(2);
  await child(variant as Variant, file!);
}
