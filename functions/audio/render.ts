/**
 * The single-decode graph: one ffmpeg decodes the source once, prepares it (channels, 48 kHz, gain, limiter) and
 * splits it (asplit) into every consumer at once:
 *   - the measurement (ebur128 + silencedetect), printed on a pipe;
 *   - 16-bit mono PCM for the waveform peaks;
 *   - float PCM per rendition, each into its own encoder process, whose streamable copy feeds a QC process.
 *
 *   source ─ decode ─ prep ─ asplit ┬─ ebur128, silencedetect ─→ measurement
 *                                   ├─ mono s16 ─→ waveform peaks
 *                                   ├─ f32 ─→ AAC encoder ─┬─ .m4a
 *                                   │                      └─ ADTS → ebur128 (QC)
 *                                   └─ f32 ─→ Opus encoder ─┬─ .opus
 *                                                           └─ Ogg → ebur128 (QC)
 * Everything runs concurrently and is paced by the slowest encoder; the graph's own work is the decode.
 */
import { inputArgs, type MediaInput } from '../../shared/media/input.ts';
import { Transform } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type { ToolExit } from '../../shared/media/ffmpeg/exit.ts';
import { connect, counted, describeExit, errorCounts, messages, startFfmpeg, type FfmpegProcess } from './ffmpeg.ts';
import { encoderArgs, qcInputFormat, type RenditionSpec } from './encoders.ts';
import { loudnessFilter, LoudnessCollector, type LoudnessMeasurement } from './loudness.ts';
import { chain, PCM_SAMPLE_RATE, pcmSamples, pcmSeconds } from './pcm.ts';
import type { WaveformSettings } from './profiles.ts';
import { monoMixFilter, PeakAccumulator, samplesPerPixel, type WaveformJson } from './waveform.ts';

/** The first fd after stdin, stdout and stderr. */
const FIRST_EXTRA_FD = 3;
/** Decoder complaints quoted on the asset: the first few say what is wrong, the count says how much. */
const MAX_DECODE_WARNINGS = 3;

export interface RenderInput {
  readonly source: MediaInput;
  readonly streamIndex: number;
  /** Input seek, for a clip decoded on its own (the tagged-mode preview). */
  readonly startSeconds?: number;
  readonly durationSeconds?: number;
}

export interface RenderJob {
  readonly ffmpeg: string;
  readonly input: RenderInput;
  /** Filters from the decoded stream to the delivered signal. */
  readonly prepFilter: string;
  readonly channels: 1 | 2;
  /** Measure the prepared signal in the same graph. */
  readonly analysis: boolean;
  readonly waveform: WaveformSettings | null;
  readonly renditions: readonly RenditionSpec[];
  readonly signal: AbortSignal;
  /** Names the graph process in errors. */
  readonly label: string;
}

export interface RenderedRendition {
  readonly spec: RenditionSpec;
  /** Samples (per channel, at 48 kHz) of PCM the encoder received: the rendition's exact length. */
  readonly samples: number;
  /** The same in seconds. */
  readonly durationSeconds: number;
  readonly qc: LoudnessMeasurement;
}

export interface RenderResult {
  readonly analysis: LoudnessMeasurement | null;
  readonly waveform: WaveformJson | null;
  readonly renditions: readonly RenderedRendition[];
  /**
   * Samples (per channel, at 48 kHz) the graph delivered, counted on the waveform's PCM (or else the first
   * rendition's): the decode's sample-accurate length. null when the graph only measured.
   */
  readonly samples: number | null;
  readonly decodeWarnings: readonly string[];
}

/** A process of the graph failed. `decoder` tells whether the root cause is the graph (the source) or an encoder/QC. */
export class RenderError extends Error {
  readonly decoder: boolean;
  readonly exit: ToolExit;
  constructor(exit: ToolExit, decoder: boolean) {
    super(describeExit(exit));
    this.name = 'RenderError';
    this.exit = exit;
    this.decoder = decoder;
  }
}

export async function render(job: RenderJob): Promise<RenderResult> {
  // One signal for every process of this render: the step's timeout kills them all, and so does a process that could
  // not run, which would otherwise leave its peers waiting on a pipe until the timeout.
  const processes = new AbortController();
  const forward = (): void => processes.abort(job.signal.reason);
  if (job.signal.aborted) forward();
  job.signal.addEventListener('abort', forward, { once: true });
  try {
    return await renderWith(job, processes.signal);
  } catch (error) {
    processes.abort(error);
    throw error;
  } finally {
    job.signal.removeEventListener('abort', forward);
  }
}

async function renderWith(job: RenderJob, signal: AbortSignal): Promise<RenderResult> {
  const plan = planGraph(job);
  const graph = startFfmpeg(job.ffmpeg, plan.args, { label: job.label, signal, outputFds: plan.fdCount, logLevel: job.analysis ? 'info' : 'error' });
  const exits: Promise<TimedExit>[] = [timed(graph.exit)];
  const work: Promise<unknown>[] = [];

  const analysis = job.analysis ? collectLoudness(graph, plan.analysisFd) : undefined;
  if (analysis) work.push(analysis.done);
  const peaks = job.waveform ? new PeakAccumulator(samplesPerPixel(PCM_SAMPLE_RATE, job.waveform)) : undefined;
  if (peaks) work.push(consume(graph.output(plan.waveformFd), (chunk) => peaks.push(chunk)));

  const renditions = job.renditions.map((spec, index) => {
    const encoder = startFfmpeg(job.ffmpeg, encoderArgs(spec, job.channels), { label: `${spec.name} encoder`, signal, stdin: true, stdout: true });
    const qc = startFfmpeg(job.ffmpeg, qcArgs(spec, job.channels), { label: `${spec.name} QC`, signal, stdin: true, outputFds: 1, logLevel: 'info' });
    let bytes = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        bytes += chunk.length;
        callback(null, chunk);
      },
    });
    const measured = collectLoudness(qc, FIRST_EXTRA_FD);
    const qcExit = timed(qc.exit);
    exits.push(timed(encoder.exit), qcExit);
    work.push(connect(graph.output(plan.renditionFds[index]!), encoder.stdin, counter), connect(encoder.stdout, qc.stdin), measured.done);
    return { spec, measured, qcExit, bytes: () => bytes };
  });

  const settled = await Promise.all(exits);
  await Promise.all(work);
  const failure = rootFailure(settled, job.label);
  if (failure) throw failure;

  const graphExit = settled[0]!.exit;
  const rendered = await Promise.all(
    renditions.map(async ({ spec, measured, qcExit, bytes }) => ({
      spec,
      samples: pcmSamples(bytes(), job.channels),
      durationSeconds: pcmSeconds(bytes(), job.channels),
      qc: measured.finish((await qcExit).exit.stderr),
    })),
  );
  return {
    analysis: analysis ? analysis.finish(graphExit.stderr) : null,
    waveform: peaks && job.waveform ? peaks.finish(PCM_SAMPLE_RATE, job.waveform.bits) : null,
    renditions: rendered,
    samples: peaks ? peaks.samples : (rendered[0]?.samples ?? null),
    decodeWarnings: decodeWarnings(graphExit.stderr),
  };
}

interface GraphPlan {
  readonly args: string[];
  readonly fdCount: number;
  readonly analysisFd: number;
  readonly waveformFd: number;
  readonly renditionFds: readonly number[];
}

function planGraph(job: RenderJob): GraphPlan {
  let nextFd = FIRST_EXTRA_FD;
  const branches: string[] = [];
  const outputs: string[] = [];
  const layout = job.channels === 2 ? 'stereo' : 'mono';
  const analysisFd = job.analysis ? nextFd++ : -1;
  // A graph that only measures (normalized mode's first pass) sends the measured branch to the null muxer instead.
  const measuredSink = job.waveform || job.renditions.length > 0 ? ',anullsink' : '[measured]';
  if (job.analysis) branches.push(`${loudnessFilter({ dualMono: job.channels === 1, silence: true, fd: analysisFd })}${measuredSink}`);
  const waveformFd = job.waveform ? nextFd++ : -1;
  if (job.waveform) {
    branches.push(`${chain(monoMixFilter(job.channels), `aformat=sample_fmts=s16:sample_rates=${PCM_SAMPLE_RATE}:channel_layouts=mono`)}[wave]`);
    outputs.push('-map', '[wave]', '-c:a', 'pcm_s16le', '-f', 's16le', `pipe:${waveformFd}`);
  }
  const renditionFds = job.renditions.map((spec, index) => {
    const fd = nextFd++;
    branches.push(`${chain(spec.branchFilter, `aformat=sample_fmts=flt:sample_rates=${PCM_SAMPLE_RATE}:channel_layouts=${layout}`)}[r${index}]`);
    outputs.push('-map', `[r${index}]`, '-c:a', 'pcm_f32le', '-f', 'f32le', `pipe:${fd}`);
    return fd;
  });
  if (outputs.length === 0) outputs.push('-map', '[measured]', '-f', 'null', '-');
  const labels = branches.map((_, index) => `[b${index}]`);
  const graph = [
    `[0:${job.input.streamIndex}]${chain(job.prepFilter, `asplit=outputs=${branches.length}`)}${labels.join('')}`,
    ...branches.map((branch, index) => `${labels[index]}${branch}`),
  ].join(';');
  const seek = [
    ...(job.input.startSeconds !== undefined ? ['-ss', String(job.input.startSeconds)] : []),
    ...(job.input.durationSeconds !== undefined ? ['-t', String(job.input.durationSeconds)] : []),
  ];
  return {
    // ffmpeg would rebuild the graph when the decoded format changes mid-stream, restarting ebur128 halfway and
    // reporting a loudness for the last stretch only; refusing the change makes that a failure that says so.
    args: [...seek, '-reinit_filter', '0', ...inputArgs(job.input.source), '-filter_complex', graph, ...outputs],
    fdCount: nextFd - FIRST_EXTRA_FD,
    analysisFd,
    waveformFd,
    renditionFds,
  };
}

/** Reads the encoder's streamable copy and measures it exactly as the source was measured. */
function qcArgs(spec: RenditionSpec, channels: 1 | 2): string[] {
  return [
    '-f',
    qcInputFormat(spec.codec),
    '-i',
    'pipe:0',
    '-af',
    loudnessFilter({ dualMono: channels === 1, silence: false, fd: FIRST_EXTRA_FD }),
    '-f',
    'null',
    '-',
  ];
}

function collectLoudness(process: FfmpegProcess, fd: number): { done: Promise<void>; finish: (stderr: string) => LoudnessMeasurement } {
  const collector = new LoudnessCollector();
  // Bytes in, text out: a decoder keeps a character split across two chunks whole.
  const decoder = new StringDecoder('utf8');
  return {
    done: consume(process.output(fd), (chunk) => collector.push(decoder.write(chunk))),
    finish: (stderr) => {
      collector.push(decoder.end());
      return collector.finish(stderr);
    },
  };
}

/** Reads a pipe to its end; a pipe that errors ends the read, and the process's exit reports why. */
function consume(stream: NodeJS.ReadableStream, onChunk: (chunk: Buffer) => void): Promise<void> {
  return new Promise((resolve) => {
    stream.on('data', (chunk: Buffer) => onChunk(chunk));
    stream.once('end', resolve);
    stream.once('error', () => resolve());
    stream.once('close', resolve);
  });
}

interface TimedExit {
  readonly exit: ToolExit;
  readonly at: number;
}

function timed(exit: Promise<ToolExit>): Promise<TimedExit> {
  return exit.then((settled) => ({ exit: settled, at: performance.now() }));
}

/**
 * The failure to report: the process that failed first. A source that cannot be decoded stops the graph first and
 * the encoders then see a short input; an encoder that crashes goes first and the graph then hits a broken pipe.
 */
function rootFailure(settled: readonly TimedExit[], graphLabel: string): RenderError | undefined {
  const failed = settled.filter(({ exit }) => exit.code !== 0).sort((a, b) => a.at - b.at);
  const first = failed[0];
  return first ? new RenderError(first.exit, first.exit.label === graphLabel) : undefined;
}

/** Decoder complaints of a run that still succeeded (a damaged frame in an MP3, say), most frequent first. */
function decodeWarnings(stderr: string): string[] {
  const errors = errorCounts(messages(stderr));
  const quoted = errors.slice(0, MAX_DECODE_WARNINGS).map(counted);
  return errors.length > MAX_DECODE_WARNINGS ? [...quoted, `…and ${errors.length - MAX_DECODE_WARNINGS} other decoder messages`] : quoted;
}
