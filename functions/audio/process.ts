/**
 * The audio step's work on a local file, in either mode:
 *
 * tagged (analysis alongside the encode): one graph decodes once and feeds the measurement, the waveform and both
 *   encoders; the QC measures each encoder's output while it is produced. The gain is known only at the end, so it
 *   is written into the files' headers afterwards. The preview window is also known only then: its 30 s are
 *   decoded a second time (a sixth of a 3-minute track's decode, the cheapest stage), rather than holding the
 *   whole decode in memory.
 *
 * normalized (gain baked in): the gain must be known before the first sample is encoded, so a measure-only pass
 *   runs first (ebur128 at ~170× realtime, no encode), then one decode feeds gain, the limiter where needed, the
 *   waveform, both encoders and the preview (trimmed from the same decode), each QC'd as it is encoded.
 */
import type { MediaInput } from '../../shared/media/input.ts';
import { durationMismatch } from '../../shared/domain/limits.ts';
import { PermanentError, TransientError } from '../../shared/errors.ts';
import { classifyExit, exitKind } from '../../shared/media/ffmpeg/classify.ts';
import { channelPlan, type ChannelPlan } from './downmix.ts';
import { trimFilter } from './gapless.ts';
import { formatDb, limiterCeilingDbtp, needsLimiter, playbackGain, type PlaybackGain } from './gain.ts';
import { truePeakLimiterFilter } from './limiter.ts';
import { round, type LoudnessMeasurement } from './loudness.ts';
import type { AudioParams } from './params.ts';
import { chain, resampleFilter } from './pcm.ts';
import { choosePreviewWindow, fadeFilter, type PreviewWindow } from './preview.ts';
import { finishRendition, fullSpecs, PREVIEW, previewSpec, renditionGain, type RenditionOutcome } from './renditions.ts';
import { render, RenderError, type RenderJob, type RenderResult } from './render.ts';
import type { WaveformJson } from './waveform.ts';

export type { RenditionOutcome };

export const AudioErrorCode = {
  /** The source's audio stream cannot be decoded (corrupt, truncated, unsupported codec). */
  UNDECODABLE: 'AUDIO_UNDECODABLE',
  /** The decoded format changes mid-stream (a broadcast capture switching 2.0 → 5.1, joined files of two rates). */
  FORMAT_CHANGES: 'AUDIO_FORMAT_CHANGES',
  /** An encoder or QC process failed although the source decoded: worth a retry. */
  ENCODE_FAILED: 'AUDIO_ENCODE_FAILED',
} as const;

/** The loudness meter counts 100 ms blocks: a decode this close to its allowance was cut by it. */
const ALLOWANCE_REACHED_SECONDS = 0.5;

/** What ffmpeg's buffer source says when a frame's format differs from the graph's (render.ts sets -reinit_filter 0). */
const FORMAT_CHANGE_MESSAGE = 'Changing audio frame properties on the fly is not supported';

export interface AudioJob {
  readonly ffmpeg: string;
  readonly source: MediaInput;
  readonly params: AudioParams;
  /**
   * Seconds of audio any decode may read (limits.ts decodeAllowanceSeconds): a FLAC whose header says 1 s and
   * holds 10 h is stopped here and refused, instead of being decoded to the end first.
   */
  readonly decodeAllowanceSeconds: number;
  /** The most the asset's kind may last; reaching it is AUDIO_TOO_LONG rather than a mismatch. */
  readonly limitSeconds: number;
  readonly scratchDir: string;
  readonly signal: AbortSignal;
}

export interface AudioOutcome {
  readonly mode: AudioParams['mode'];
  readonly channels: ChannelPlan;
  /** The source as delivered (after the channel plan, at 48 kHz, before any gain). */
  readonly measurement: LoudnessMeasurement;
  /** The headroom-limited playback gain (Spotify's rule), whatever the mode: what a player or the HLS step applies. */
  readonly gain: PlaybackGain;
  /**
   * Normalized mode: the gain baked in (target − integrated) and whether it needs the true-peak limiter. Applied to
   * the renditions here; for video, the plan the HLS step applies to its own audio rendition.
   */
  readonly baked: Bake | null;
  readonly preview: PreviewWindow | null;
  readonly renditions: readonly RenditionOutcome[];
  readonly waveform: WaveformJson;
  /** Samples per channel at 48 kHz of the source as decoded and trimmed (gapless.ts): its sample-accurate length. */
  readonly decodedSamples: number;
  readonly warnings: readonly string[];
}

export interface Bake {
  readonly gainDb: number;
  readonly limiter: boolean;
}

export async function processAudio(job: AudioJob): Promise<AudioOutcome> {
  const { params } = job;
  const channels = channelPlan(params.stream.channels, params.stream.channelLayout, params.mono);
  const prep = chain(channels.filter, resampleFilter(params.stream.sampleRate));
  // Whole-stream decodes are cut to the source's true length; a clip decoded after an input seek is not, since
  // atrim counts from wherever the decode starts.
  const whole = chain(trimFilter(params.trim ?? null), prep);
  return params.mode === 'normalized' && params.renditions ? normalized(job, channels, whole) : tagged(job, channels, whole, prep);
}

/** Silence keeps 0 dB; anything measurable gets the full gain, with the limiter catching what the peaks cannot take. */
function bake(params: AudioParams, measurement: LoudnessMeasurement, gain: PlaybackGain): Bake {
  const gainDb = measurement.integratedLufs === null ? 0 : gain.idealGainDb;
  return { gainDb, limiter: needsLimiter(measurement.truePeakDbtp, gainDb, params.truePeakCeilingDbtp) };
}

/** Tagged renditions, or, for video, the analysis alone (in either mode: the HLS step encodes the audio). */
async function tagged(job: AudioJob, channels: ChannelPlan, prep: string, clipPrep: string): Promise<AudioOutcome> {
  const { params } = job;
  const main = await run(job, {
    prepFilter: prep,
    channels: channels.outputChannels,
    analysis: true,
    renditions: fullSpecs(params, job.scratchDir),
    label: 'decoding graph',
  });
  const measurement = decoded(job, main.analysis);
  const gain = playbackGain(params.targetLufs, measurement.integratedLufs, measurement.truePeakDbtp, params.truePeakCeilingDbtp);
  let window: PreviewWindow | null = null;
  const rendered = [...main.renditions];
  if (params.preview && params.renditions) {
    window = choosePreviewWindow(measurement.blocks, measurement.durationSeconds, params.preview);
    const clip = await run(job, {
      input: { startSeconds: window.startSeconds, durationSeconds: window.durationSeconds },
      prepFilter: chain(clipPrep, fadeFilter(window)),
      channels: channels.outputChannels,
      analysis: false,
      waveform: false,
      renditions: [previewSpec(params, job.scratchDir, '')],
      label: 'preview decode',
    });
    rendered.push(...clip.renditions);
  }
  const renditions = await Promise.all(
    rendered.map((rendition) => {
      // Each file's tags carry a gain its own encoded peaks allow: a lossy encode can overshoot the source's peak.
      const own = renditionGain(gain, rendition.qc.truePeakDbtp, params.truePeakCeilingDbtp);
      const reference = rendition.spec.name === PREVIEW ? (window?.expectedLufs ?? null) : measurement.integratedLufs;
      const limitedBecause =
        own < gain.gainDb
          ? `this rendition's own true peak after encoding (${rendition.qc.truePeakDbtp ?? '−∞'} dBTP)`
          : `the source's true peak (${measurement.truePeakDbtp ?? '−∞'} dBTP)`;
      return finishRendition(params, channels.outputChannels, rendition, {
        targetLufs: reference === null ? null : round(reference + gain.idealGainDb, 2),
        achievableLufs: reference === null ? null : round(reference + own, 2),
        playbackGainDb: own,
        idealGainDb: gain.idealGainDb,
        ceilingDbtp: params.truePeakCeilingDbtp,
        limitedBecause,
      });
    }),
  );
  const baked = params.mode === 'normalized' ? bake(params, measurement, gain) : null;
  return {
    mode: params.mode,
    channels,
    measurement,
    gain,
    baked,
    preview: window,
    renditions,
    waveform: main.waveform!,
    decodedSamples: samplesOf(main),
    warnings: main.decodeWarnings,
  };
}

async function normalized(job: AudioJob, channels: ChannelPlan, prep: string): Promise<AudioOutcome> {
  const { params } = job;
  const pass = await run(job, { prepFilter: prep, channels: channels.outputChannels, analysis: true, waveform: false, renditions: [], label: 'analysis pass' });
  const measurement = decoded(job, pass.analysis);
  const gain = playbackGain(params.targetLufs, measurement.integratedLufs, measurement.truePeakDbtp, params.truePeakCeilingDbtp);
  const { gainDb: bakedGain, limiter } = bake(params, measurement, gain);
  const window = params.preview ? choosePreviewWindow(measurement.blocks, measurement.durationSeconds, params.preview) : null;
  const specs = fullSpecs(params, job.scratchDir);
  if (window) {
    specs.push(
      previewSpec(
        params,
        job.scratchDir,
        chain(`atrim=start=${window.startSeconds}:duration=${window.durationSeconds}`, 'asetpts=PTS-STARTPTS', fadeFilter(window)),
      ),
    );
  }
  const main = await run(job, {
    prepFilter: chain(prep, bakedGain === 0 ? '' : `volume=${bakedGain}dB`, limiter ? truePeakLimiterFilter(params.truePeakCeilingDbtp) : ''),
    channels: channels.outputChannels,
    analysis: false,
    renditions: specs,
    label: 'decoding graph',
  });
  const renditions = await Promise.all(
    main.renditions.map((rendition) => {
      const reference = rendition.spec.name === PREVIEW ? (window?.expectedLufs ?? null) : measurement.integratedLufs;
      const target = reference === null ? null : round(reference + bakedGain, 2);
      return finishRendition(params, channels.outputChannels, rendition, {
        targetLufs: target,
        achievableLufs: target,
        playbackGainDb: 0,
        idealGainDb: 0,
        ceilingDbtp: params.truePeakCeilingDbtp,
        ...(limiter
          ? {
              missContext: `the true-peak limiter held ${formatDb(bakedGain)} of gain under ${limiterCeilingDbtp(params.truePeakCeilingDbtp)} dBTP and took loudness with the peaks`,
            }
          : {}),
      });
    }),
  );
  const warnings = [...pass.decodeWarnings, ...main.decodeWarnings];
  return {
    mode: 'normalized',
    channels,
    measurement,
    gain,
    baked: { gainDb: bakedGain, limiter },
    preview: window,
    renditions,
    waveform: main.waveform!,
    decodedSamples: samplesOf(main),
    warnings,
  };
}

type RunOptions = Omit<RenderJob, 'ffmpeg' | 'input' | 'signal' | 'waveform'> & { input?: Partial<RenderJob['input']>; waveform?: boolean };

/** Runs a graph, and turns a failure into the right error: the source's fault is permanent, an encoder's is retried. */
async function run(job: AudioJob, options: RunOptions): Promise<RenderResult> {
  const { input, waveform = true, ...rest } = options;
  try {
    return await render({
      ...rest,
      ffmpeg: job.ffmpeg,
      input: { source: job.source, streamIndex: job.params.stream.index, durationSeconds: job.decodeAllowanceSeconds, ...input },
      waveform: waveform ? job.params.waveform : null,
      signal: job.signal,
    });
  } catch (error) {
    if (!(error instanceof RenderError)) throw error;
    throw renderVerdict(job, error);
  }
}

/**
 * The graph decodes the source, so its failure gets the shared verdict (shared/media/ffmpeg/classify.ts): an error
 * exit or a crash is the source's doing, a kill we did not send (the OOM killer) or a resource error is retried.
 * The encoders and QC read the graph's own PCM, never the source, so whatever stops them is retried.
 */
function renderVerdict(job: AudioJob, error: RenderError): Error {
  if (!error.decoder) return new TransientError(AudioErrorCode.ENCODE_FAILED, error.message, { cause: error });
  const verdict = classifyExit(error.exit, {
    what: `${describeStream(job)} could not be decoded`,
    inputCode: AudioErrorCode.UNDECODABLE,
    detail: error.message,
    cause: error,
  });
  if (exitKind(error.exit) === 'failed' && error.exit.stderr.includes(FORMAT_CHANGE_MESSAGE)) {
    return new PermanentError(
      AudioErrorCode.FORMAT_CHANGES,
      `${describeStream(job)} changes sample rate or channel layout mid-stream, so one measurement cannot span it: ${error.message}`,
      { cause: error },
    );
  }
  return verdict;
}

/** A graph that exits cleanly but decoded nothing (every packet corrupt) is as undecodable as one that fails. */
function decoded(job: AudioJob, measurement: LoudnessMeasurement | null): LoudnessMeasurement {
  if (!measurement || measurement.durationSeconds === 0) {
    throw new PermanentError(AudioErrorCode.UNDECODABLE, `${describeStream(job)} decoded to no audio at all`);
  }
  // The decode ran into its allowance: the file holds more than its header admits, or more than the limit.
  if (measurement.durationSeconds >= job.decodeAllowanceSeconds - ALLOWANCE_REACHED_SECONDS) {
    throw durationMismatch(job.params.durationSeconds, job.decodeAllowanceSeconds, job.limitSeconds);
  }
  return measurement;
}

/** The main graphs always draw the waveform, whose PCM is counted. */
function samplesOf(result: RenderResult): number {
  if (result.samples === null) throw new Error('the decoding graph delivered no PCM to count');
  return result.samples;
}

function describeStream(job: AudioJob): string {
  const { index, codec } = job.params.stream;
  return `audio stream #${index} (${codec})`;
}
