/**
 * The audio work order's params: everything the run needs from the probe and the profile, resolved at plan time
 * (events/schemas/work/audio.params.v1.json is their contract), so the worker never re-probes or re-reads a profile.
 */
import type { StreamSummary } from '../../shared/media/classify.ts';
import type { DocData } from '../../shared/ports/document-store.ts';
import type { PlanContext } from '../../shared/domain/step.ts';
import { sourceTrim, type SourceTrim } from './gapless.ts';
import { resolveAudioProfile, type LoudnessMode, type MonoPolicy, type PreviewSettings, type WaveformSettings } from './profiles.ts';

export interface AudioStreamParams {
  /** Absolute stream index in the source, as ffmpeg's `0:<index>` names it. */
  readonly index: number;
  readonly codec: string;
  readonly channels: number;
  readonly channelLayout?: string;
  readonly sampleRate?: number;
}

export interface AudioParams {
  readonly profile: string;
  readonly mode: LoudnessMode;
  readonly targetLufs: number;
  readonly truePeakCeilingDbtp: number;
  readonly mono: MonoPolicy;
  readonly stream: AudioStreamParams;
  readonly durationSeconds: number | null;
  /** What the decode drops to give the source's true length (gapless.ts); null when ffmpeg's decode is it already. */
  readonly trim: SourceTrim | null;
  /** null for video: its audio is analysed here and encoded by the HLS step, which reuses the gain. */
  readonly renditions: { readonly aacKbps: number; readonly opusKbps: number } | null;
  readonly preview: PreviewSettings | null;
  readonly waveform: WaveformSettings;
}

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
  return JSON.parse(JSON.stringify(params)) as DocData;
}
