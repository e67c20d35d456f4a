/**
 * The hls-audio work order's params (params.v1.schema.json beside this file): the source's audio stream,
 * the channel handling and playback gain the audio step settled on (its outputs reach this plan once it has
 * succeeded), and where on the shared HLS timeline the audio starts.
 */
import type { DeepReadonly } from '../../shared/domain/step.ts';
import type { HlsAudioParams as GeneratedHlsAudioParams } from '../../events/generated/steps/hls-audio.ts';
import type { PlanContext } from '../../shared/domain/step.ts';
import type { DocData, DocValue } from '../../shared/ports/document-store.ts';
import { sourceTrim } from '../audio/gapless.ts';
import type { StreamSummary } from '../../shared/media/classify.ts';
import { primaryVideoStream } from '../../shared/media/hls/ladder.ts';
import { timelineOffsetSeconds, tryPlanVideo } from '../../shared/media/hls/plan.ts';
import type { HlsSettings } from '../../shared/media/hls/settings.ts';
import { frameSeconds } from '../../shared/media/hls/timeline.ts';
import { audioRendition } from '../../shared/media/hls/layout.ts';
import { languageTag, renditionName } from '../../shared/media/hls/playlist.ts';

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

/** How the master playlist names one audio rendition (§4.3.4.1 EXT-X-MEDIA). */
export type AudioTrackFacts = NonNullable<HlsAudioParams['track']>;

/** The params of one hls-audio work order, generated from params.v1.schema.json beside this file. */
export type HlsAudioParams = DeepReadonly<GeneratedHlsAudioParams>;

export function primaryAudioStream(context: Pick<PlanContext, 'probe'>): StreamSummary | undefined {
  return audioStreams(context)[0];
}

/** Every audio stream becomes a rendition of the one audio group, in the source's order. */
export function audioStreams(context: Pick<PlanContext, 'probe'>): StreamSummary[] {
  return context.probe.streams.filter((stream) => stream.type === 'audio');
}

export function audioTrackFacts(context: Pick<PlanContext, 'probe'>, position: number): AudioTrackFacts {
  const streams = audioStreams(context);
  const stream = streams[position];
  if (!stream) throw new Error(`no audio stream at position ${position}`);
  const defaultPosition = Math.max(
    0,
    streams.findIndex((candidate) => candidate.defaultTrack === true),
  );
  const language = languageTag(stream.language);
  return {
    position,
    rendition: audioRendition(position),
    name: renditionName(stream.title, language, `Audio ${position + 1}`),
    ...(language ? { language } : {}),
    default: position === defaultPosition,
  };
}

/**
 * One order per audio stream (shard = position). The audio step analyses only the primary (the first) stream;
 * every track gets its gain, so the tracks keep the level relation the source mixed them at (a dub or a
 * commentary is mastered against the main mix) and switching language does not jump in loudness by more than
 * the source did. Each track gets its own gapless trim (from its own stream's edit list or codec delay).
 */
export function planAudioParams(context: PlanContext, settings: HlsSettings, position = 0): HlsAudioParams {
  const stream = audioStreams(context)[position];
  if (!stream) throw new Error(`asset ${context.assetId} has no audio stream ${position}; hls-audio should not have been planned`);
  const sourceChannels = stream.channels ?? 2;
  const analysis = context.outputs[AUDIO_ANALYSIS_STEP];
  // The gain was measured on the audio step's channel plan, so the rendition follows that plan to the channel.
  const planned = field(analysis?.channels, 'output');
  const outputChannels: 1 | 2 = planned === 1 || planned === 2 ? planned : sourceChannels === 1 ? 1 : 2;
  // trackGainDb: the headroom-limited playback gain for the profile's target, whatever the audio step's mode.
  const gain = field(analysis?.gain, 'trackGainDb');
  const video = context.kind === 'video' ? primaryVideoStream(context.probe) : undefined;
  return {
    track: audioTrackFacts(context, position),
    stream: { index: stream.index, channels: sourceChannels, ...(stream.channelLayout ? { channelLayout: stream.channelLayout } : {}) },
    videoStreamIndex: video?.index ?? null,
    outputChannels,
    mono: sourceChannels === 1 && outputChannels === 2 ? 'stereo' : 'keep',
    gainDb: typeof gain === 'number' && Number.isFinite(gain) ? gain : 0,
    gainSource: typeof gain === 'number' && Number.isFinite(gain) ? 'audio' : 'none',
    kbps: outputChannels === 1 ? Math.round(settings.audioKbps / 2) : settings.audioKbps,
    framesPerSegment: Math.max(1, Math.floor((settings.segmentSeconds * AAC_SAMPLE_RATE) / AAC_FRAME_SAMPLES)),
    offsetSeconds: timelineOffsetSeconds(context, settings),
    zeroSeconds: presentationZeroSeconds(context, settings),
    aloneStarts: { audio: stream.startSeconds ?? 0, video: video ? (video.startSeconds ?? 0) : null },
    durationSeconds: stream.durationSeconds ?? context.probe.durationSeconds,
    trim: sourceTrim(context.probe, stream),
  };
}

/**
 * The video's first frame on the grid the segment step cuts (timeline.ts firstFrame), from the file's start: the
 * instant players anchor the presentation to. Audio-only assets (or a video that cannot be planned, which fails
 * in hls-segment anyway) start at the file's start.
 */
function presentationZeroSeconds(context: PlanContext, settings: HlsSettings): number {
  const planned = context.kind === 'video' && primaryVideoStream(context.probe) ? tryPlanVideo(context, settings) : undefined;
  if (!planned || !('plan' in planned)) return 0;
  const { timeline } = planned.plan;
  return timeline.firstFrame * frameSeconds(timeline.frameRate);
}

/**
 * One field of a sub-document of the audio step's outputs (functions/audio/outputs.ts writes them), read field by
 * field rather than through the whole schema: outputs recorded by earlier versions lack some fields, and the plan
 * falls back for each one that is missing or not what it should be.
 */
function field(value: DocValue | undefined, key: string): DocValue | undefined {
  return isDoc(value) ? value[key] : undefined;
}

function isDoc(value: DocValue | undefined): value is DocData {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}
