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

export function audioFilter(params: HlsAudioParams): string {
  const channels = channelPlan(params.stream.channels, params.stream.channelLayout, params.mono);
  const offsetSamples = Math.round(params.offsetSeconds * AAC_SAMPLE_RATE);
  return [
    // First, at the source's rate: the same cut as the audio step's decode, so both have the source's true length.
    trimFilter(params.trim ?? null),
    channels.filter,
    // async=1 stretches or pads where the source's timestamps jump, so the audio stays in sync over hours.
    `aresample=${AAC_SAMPLE_RATE}:async=1`,
    `volume=${params.gainDb.toFixed(2)}dB`,
    `asetpts=PTS+${offsetSamples}`,
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

export function audioEncodeArgs(params: HlsAudioParams, source: MediaInput, output: string): string[] {
  return [
    ...quietArgs(),
    '-copyts', '-start_at_zero', ...inputArgs(source),
    '-map', `0:${params.stream.index}`, '-af', audioFilter(params),
    '-c:a', 'aac', '-b:a', `${params.kbps}k`, '-ac', String(params.outputChannels), '-flags:a', '+bitexact',
    ...fmp4MuxerArgs(), '-frag_duration', String(fragmentMicroseconds(params.framesPerSegment)), '-movflags', FMP4_MOVFLAGS, output,
  ];
}
