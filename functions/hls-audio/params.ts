/**
 * The hls-audio work order's params (events/schemas/work/hls-audio.params.v1.json): the source's audio stream,
 * the channel handling and playback gain the audio step settled on (its outputs reach this plan once it has
 * succeeded), and where on the shared HLS timeline the audio starts.
 */
import type { PlanContext } from '../../shared/domain/step.ts';
import { sourceTrim, type SourceTrim } from '../audio/gapless.ts';
import type { StreamSummary } from '../../shared/media/classify.ts';
import { primaryVideoStream } from '../../shared/media/hls/ladder.ts';
import { timelineOffsetSeconds } from '../../shared/media/hls/plan.ts';
import type { HlsSettings } from '../../shared/media/hls/settings.ts';

/** AAC-LC codes 1024 samples per frame (ISO/IEC 14496-3 §4.5.1.1), 48 kHz being what every HLS client plays. */
export const AAC_FRAME_SAMPLES = 1024;
export const AAC_SAMPLE_RATE = 48_000;
/**
 * ffmpeg's AAC encoder delay (its initial_padding): the first packet starts one frame before the first input
 * sample. Without an edit list that priming is on the timeline, so checks and players' sync count from after it.
 */
export const AAC_PRIMING_SAMPLES = 1024;
/** The step whose gain and channel plan this rendition follows. */
export const AUDIO_ANALYSIS_STEP = 'audio';

export interface HlsAudioParams {
  readonly stream: { readonly index: number; readonly channels: number; readonly channelLayout?: string };
  /** The video stream whose start the audio is aligned against, for the A/V sync check; null for audio-only. */
  readonly videoStreamIndex: number | null;
  readonly outputChannels: 1 | 2;
  /** keep: mono stays mono; stereo: mono is delivered as dual mono (as the audio step measured it). */
  readonly mono: 'keep' | 'stereo';
  readonly gainDb: number;
  /** 'audio' when the audio step's gain was used; 'none' when it recorded none (the rendition then plays at the master's level). */
  readonly gainSource: 'audio' | 'none';
  readonly kbps: number;
  /** Whole AAC frames per segment, at or below the target duration: 281 (5.995 s) for 6 s. */
  readonly framesPerSegment: number;
  readonly offsetSeconds: number;
  /** As probed, or null when the container states none. */
  readonly durationSeconds: number | null;
  /**
   * The audio step's gapless trim of the same source, so both decodes have the same length (audio/gapless.ts).
   * Absent from orders planned before it existed, which decode untrimmed as they always did.
   */
  readonly trim?: SourceTrim | null;
}

export function primaryAudioStream(context: Pick<PlanContext, 'probe'>): StreamSummary | undefined {
  return context.probe.streams.find((stream) => stream.type === 'audio');
}

export function planAudioParams(context: PlanContext, settings: HlsSettings): HlsAudioParams {
  const stream = primaryAudioStream(context);
  if (!stream) throw new Error(`asset ${context.assetId} has no audio stream; hls-audio should not have been planned`);
  const sourceChannels = stream.channels ?? 2;
  const analysis = context.outputs[AUDIO_ANALYSIS_STEP] as AudioStepOutputs | undefined;
  // The gain was measured on the audio step's channel plan, so the rendition follows that plan to the channel.
  const planned = analysis?.channels?.output;
  const outputChannels: 1 | 2 = planned === 1 || planned === 2 ? planned : sourceChannels === 1 ? 1 : 2;
  const gain = analysis?.gain?.trackGainDb;
  const video = context.kind === 'video' ? primaryVideoStream(context.probe) : undefined;
  return {
    stream: { index: stream.index, channels: sourceChannels, ...(stream.channelLayout ? { channelLayout: stream.channelLayout } : {}) },
    videoStreamIndex: video?.index ?? null,
    outputChannels,
    mono: sourceChannels === 1 && outputChannels === 2 ? 'stereo' : 'keep',
    gainDb: typeof gain === 'number' && Number.isFinite(gain) ? gain : 0,
    gainSource: typeof gain === 'number' && Number.isFinite(gain) ? 'audio' : 'none',
    kbps: outputChannels === 1 ? Math.round(settings.audioKbps / 2) : settings.audioKbps,
    framesPerSegment: Math.max(1, Math.floor((settings.segmentSeconds * AAC_SAMPLE_RATE) / AAC_FRAME_SAMPLES)),
    offsetSeconds: timelineOffsetSeconds(context, settings),
    durationSeconds: stream.durationSeconds ?? context.probe.durationSeconds,
    trim: sourceTrim(context.probe, stream),
  };
}

/** The fields of the audio step's outputs this step reads (functions/audio/outputs.ts writes them). */
interface AudioStepOutputs {
  readonly channels?: { readonly output?: number };
  /** trackGainDb: the headroom-limited playback gain for the profile's target, whatever the audio step's mode. */
  readonly gain?: { readonly trackGainDb?: number };
}
