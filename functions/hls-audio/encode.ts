/**
 * The audio rendition: the whole track in one process (so no segment boundary ever cuts it), through the audio
 * step's channel plan and gain, resampled to 48 kHz, encoded AAC-LC, and fragmented every `framesPerSegment`
 * AAC frames. Timestamps stay on the source's timeline (-copyts -start_at_zero) plus the common offset, so the
 * audio lines up with the video segments made by other processes.
 */
import { channelPlan } from '../audio/downmix.ts';
import { trimFilter } from '../audio/gapless.ts';
import { FMP4_MOVFLAGS, fmp4MuxerArgs, quietArgs } from '../../shared/media/hls/ffmpeg.ts';
import { inputArgs, type MediaInput } from '../../shared/media/input.ts';
import { AAC_FRAME_SAMPLES, AAC_SAMPLE_RATE, type HlsAudioParams } from './params.ts';

/** Far below a sample, far above a double's rounding of seconds × 48 kHz. */
const SAMPLE_EPSILON = 1e-6;

/**
 * Silence before the programme audio when it starts after the presentation's zero (an Android MP4's audio
 * 0.478 s after its first frame): players start where the latest track starts (Chromium's MSE), so a late audio
 * track would cost the viewer the first pictures. Counted in the resampler's timestamps (48 kHz samples before
 * the offset): `firstPts` is the zero there, `samples` the gap from it to where the audio is expected to start.
 */

export interface LeadingSilence {
  readonly firstPts: number;
  readonly samples: number;
}

/**
 * The zero is floored to a sample so the padded track's first sample is never after the video's first frame.
 * The audio's expected start is where ffmpeg reads it alone (aloneStarts, probed) moved by the shift: the same
 * arithmetic the encode's timestamps follow. Audio starting at or before the zero is left as it is (a transport
 * stream whose audio leads keeps every sample; players simply start at the picture). Older orders (no zeroSeconds)
 * are not padded.
 */
export function leadingSilence(params: HlsAudioParams, shiftSeconds = 0, probedAudioSeconds = 0): LeadingSilence {
  if (params.zeroSeconds === undefined) return { firstPts: 0, samples: 0 };
  // The epsilon keeps a zero on a whole sample (1.04 s × 48 kHz) from flooring one below through floating point.
  const firstPts = Math.floor((params.offsetSeconds + params.zeroSeconds) * AAC_SAMPLE_RATE + SAMPLE_EPSILON) - offsetSamples(params, shiftSeconds);
  // A gapless start trim restarts the timestamps at 0 (gapless.ts trimFilter), wherever the stream began.
  const trimmedToZero = (params.trim?.startSample ?? 0) > 0;
  const audioStart = trimmedToZero ? 0 : Math.round((params.aloneStarts?.audio ?? probedAudioSeconds) * AAC_SAMPLE_RATE);
  return { firstPts, samples: Math.max(0, audioStart - firstPts) };
}

function offsetSamples(params: HlsAudioParams, shiftSeconds: number): number {
  return Math.round((params.offsetSeconds + shiftSeconds) * AAC_SAMPLE_RATE);
}

/**
 * The resampler pads rather than adelay: swr's first_pts injects exactly the silence between it and the first
 * frame's real timestamp, so the programme audio keeps the decoder's timestamps (A/V sync is the source's by
 * construction) while adelay restarts timestamps at 0. min_comp=0 makes it pad any gap, not only those over its
 * 1 ms default; with async=1 giving no soft compensation, later frames are treated as before (hard fills over 0.1 s).
 */
function resampleFilter(silence: LeadingSilence): string {
  // async=1 stretches or pads where the source's timestamps jump, so the audio stays in sync over hours.
  const base = `aresample=${AAC_SAMPLE_RATE}:async=1`;
  return silence.samples > 0 ? `${base}:first_pts=${silence.firstPts}:min_comp=0` : base;
}

/** shiftSeconds: source-start.ts alignShiftSeconds, the audio's correction to its real distance from the video. */
export function audioFilter(params: HlsAudioParams, shiftSeconds = 0, silence: LeadingSilence = { firstPts: 0, samples: 0 }): string {
  const channels = channelPlan(params.stream.channels, params.stream.channelLayout, params.mono);
  return [
    // First, at the source's rate: the same cut as the audio step's decode, so both have the source's true length.
    trimFilter(params.trim ?? null),
    channels.filter,
    resampleFilter(silence),
    `volume=${params.gainDb.toFixed(2)}dB`,
    `asetpts=PTS+${offsetSamples(params, shiftSeconds)}`,
  ]
    .filter((filter) => filter !== '')
    .join(',');
}

/**
 * The muxer cuts a fragment before the first packet whose decode time is frag_duration past the fragment's
 * first; one microsecond under whole frames puts exactly framesPerSegment packets in each.
 */
export function fragmentMicroseconds(framesPerSegment: number): number {
  return Math.floor((framesPerSegment * AAC_FRAME_SAMPLES * 1e6) / AAC_SAMPLE_RATE);
}

export function audioEncodeArgs(params: HlsAudioParams, source: MediaInput, output: string, shiftSeconds = 0, silence?: LeadingSilence): string[] {
  return [
    ...quietArgs(),
    '-copyts',
    '-start_at_zero',
    ...inputArgs(source),
    '-map',
    `0:${params.stream.index}`,
    '-af',
    audioFilter(params, shiftSeconds, silence),
    '-c:a',
    'aac',
    '-b:a',
    `${params.kbps}k`,
    '-ac',
    String(params.outputChannels),
    '-flags:a',
    '+bitexact',
    ...fmp4MuxerArgs(),
    '-frag_duration',
    String(fragmentMicroseconds(params.framesPerSegment)),
    '-movflags',
    FMP4_MOVFLAGS,
    output,
  ];
}
