/**
 * The hls-package work order's params (params.v1.schema.json beside this file), resolved once both
 * halves have succeeded: what the segment fan-in and the audio rendition reported, and the source facts the
 * checks compare against. Segment-level detail is not here: the step reads it from the segments themselves.
 */
import type { DeepReadonly } from '../../shared/domain/step.ts';
import type { HlsPackageParams } from '../../events/generated/steps/hls-package.ts';
import type { PlanContext } from '../../shared/domain/step.ts';
import { primaryVideoStream } from '../../shared/media/hls/ladder.ts';
import { HLS_AUDIO_STEP, HLS_SEGMENT_STEP, HLS_SUBTITLES_STEP } from '../../shared/media/hls/layout.ts';
import { planVideo } from '../../shared/media/hls/plan.ts';
import type { VideoRange } from '../../shared/media/hls/playlist.ts';
import { hlsSettingsFor, type HlsSettings } from '../../shared/media/hls/settings.ts';
import { offsetSeconds } from '../../shared/media/hls/timeline.ts';
import { AUDIO_ANALYSIS_STEP } from '../hls-audio/params.ts';
import type { AudioOutputs } from '../hls-audio/publish.ts';
import { audioTracks } from '../hls-audio/combine.ts';
import { segmentSummary } from '../hls-segment/combine.ts';
import { subtitleSummary } from '../hls-subtitles/publish.ts';

/** The params of the hls-package work order, generated from params.v1.schema.json beside this file. */
export type PackageParams = DeepReadonly<HlsPackageParams>;

/** One audio rendition of the package params. */
export type PackageAudio = NonNullable<PackageParams['audio']>;

export function planPackageParams(context: PlanContext, settings: HlsSettings): PackageParams {
  const segmentOutputs = context.outputs[HLS_SEGMENT_STEP];
  const segments = segmentOutputs ? segmentSummary(segmentOutputs) : undefined;
  const [audio, ...others] = audioTracks(context.outputs[HLS_AUDIO_STEP]);
  const videoStream = context.kind === 'video' ? primaryVideoStream(context.probe) : undefined;
  const audioByPosition = new Map(context.probe.streams.filter((stream) => stream.type === 'audio').map((stream, position) => [position, stream]));
  const decoded = decodedLength(context.outputs[AUDIO_ANALYSIS_STEP]);
  let video: PackageParams['video'] = null;
  if (videoStream && segments) {
    const plan = planVideo(context, hlsSettingsFor(settings, context.profile));
    const initSha256 = (name: string): readonly string[] => segments.renditions[name]?.initSha256 ?? [];
    const hdrRange: VideoRange | undefined = plan.hdr ? (plan.hdr.colour.transfer === 'smpte2084' ? 'PQ' : 'HLG') : undefined;
    video = {
      segmentCount: segments.segmentCount,
      emptySegments: segments.emptySegments,
      frameRate: plan.timeline.frameRate,
      offsetSeconds: offsetSeconds(plan.timeline),
      plannedFrames: plan.timeline.totalFrames,
      sourceSeconds: videoStream.durationSeconds ?? null,
      renditions: [
        ...plan.renditions.map((rendition) => ({
          name: rendition.name,
          initSha256: initSha256(rendition.name),
          ...(hdrRange ? { videoRange: 'SDR' as const } : {}),
        })),
        ...(plan.hdr?.renditions ?? []).map((rendition) => ({
          name: rendition.name,
          initSha256: initSha256(rendition.name),
          ...(hdrRange ? { videoRange: hdrRange } : {}),
        })),
      ],
    };
  }
  return {
    targetDuration: settings.segmentSeconds,
    sourceSeconds: context.probe.durationSeconds,
    video,
    audio: audio ? packageAudio(audio, audioByPosition.get(0)?.durationSeconds ?? null, decoded) : null,
    moreAudio: others.map((track, i) => packageAudio(track, audioByPosition.get(track.track?.position ?? i + 1)?.durationSeconds ?? null, undefined)),
    subtitles: subtitleSummary(context.outputs[HLS_SUBTITLES_STEP]) ?? null,
  };
}

/**
 * One rendition's facts. Only the primary has a decoded length (the audio step decodes only it); the others
 * are checked against their stream's stated duration, where the container states one.
 */
function packageAudio(audio: AudioOutputs, streamSeconds: number | null, decoded: { samples: number; sampleRate: number } | undefined): PackageAudio {
  return {
    rendition: audio.rendition,
    ...(audio.track ? { name: audio.track.name, default: audio.track.default, ...(audio.track.language ? { language: audio.track.language } : {}) } : {}),
    segmentCount: audio.segmentCount,
    initSha256: audio.initSha256,
    gainDb: audio.gainDb,
    gainSource: audio.gainSource,
    primingSeconds: audio.primingSeconds,
    ...(audio.leadingSilenceSamples ? { leadingSilenceSamples: audio.leadingSilenceSamples } : {}),
    channels: audio.channels,
    sourceSeconds: streamSeconds,
    decodedSamples: decoded?.samples ?? null,
    decodedSampleRate: decoded?.sampleRate ?? null,
    durationSource: decoded ? 'decoded' : 'container',
    sourceAudioStart: audio.source.audioSeconds,
    sourceVideoStart: audio.source.videoSeconds,
  };
}

/** The audio step's decodedSamples and decodedSampleRate (functions/audio/outputs.ts), if it recorded them. */
function decodedLength(
  outputs: { readonly decodedSamples?: unknown; readonly decodedSampleRate?: unknown } | undefined,
): { samples: number; sampleRate: number } | undefined {
  const samples = outputs?.decodedSamples;
  const sampleRate = outputs?.decodedSampleRate;
  if (typeof samples !== 'number' || typeof sampleRate !== 'number' || !Number.isInteger(samples) || samples <= 0 || !(sampleRate > 0)) return undefined;
  return { samples, sampleRate };
}
