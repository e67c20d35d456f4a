/**
 * The audio work order's params: everything the run needs from the probe and the profile, resolved at plan time
 * (params.v1.schema.json beside this file is their contract), so the worker never re-probes or re-reads a profile.
 */
import type { AudioParams as GeneratedAudioParams } from '../../events/generated/steps/audio.ts';
import type { StreamSummary } from '../../shared/media/classify.ts';
import { toDoc, type DeepReadonly, type PlanContext } from '../../shared/domain/step.ts';
import type { DocData } from '../../shared/ports/document-store.ts';
import { sourceTrim } from './gapless.ts';
import { resolveAudioProfile } from './profiles.ts';

/** The audio work order's params, generated from params.v1.schema.json beside this file. */
export type AudioParams = DeepReadonly<GeneratedAudioParams>;

/** The track the step works on: the first audio stream, which is also what ffmpeg and players pick by default. */
export function primaryAudioStream(context: Pick<PlanContext, 'probe'>): StreamSummary | undefined {
  return context.probe.streams.find((stream) => stream.type === 'audio');
}

export function planAudioParams(context: PlanContext): AudioParams {
  const stream = primaryAudioStream(context);
  if (!stream) throw new Error(`asset ${context.assetId} has no audio stream; the audio step should not have been planned`);
  const { name, profile } = resolveAudioProfile(context.profile);
  const video = context.kind === 'video';
  return {
    profile: name,
    mode: profile.mode,
    targetLufs: profile.targetLufs,
    truePeakCeilingDbtp: profile.truePeakCeilingDbtp,
    mono: profile.mono,
    stream: {
      index: stream.index,
      codec: stream.codec,
      // ffprobe leaves channels out only for streams it could not open; the decode will then tell what is wrong.
      channels: stream.channels ?? 2,
      ...(stream.channelLayout ? { channelLayout: stream.channelLayout } : {}),
      ...(stream.sampleRate ? { sampleRate: stream.sampleRate } : {}),
    },
    durationSeconds: context.probe.durationSeconds,
    trim: sourceTrim(context.probe, stream),
    renditions: video ? null : { aacKbps: profile.aacKbps, opusKbps: profile.opusKbps },
    preview: video ? null : profile.preview,
    waveform: profile.waveform,
  };
}

/** Params travel as a plain JSON document. */
export function paramsDoc(params: AudioParams): DocData {
  return toDoc(params);
}
