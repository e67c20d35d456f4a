/**
 * The PCM every rendition, the waveform and the measurements share. One rate for all: Opus only runs at 48 kHz,
 * and stating it in the graph is what keeps a filter from picking another (loudnorm would silently go to 192 kHz).
 */

export const PCM_SAMPLE_RATE = 48_000;
/** 32-bit float between graph and encoders: no clipping of hot masters before the encoder, no dither needed. */
export const PCM_BYTES_PER_SAMPLE = 4;

/** soxr at its default (20-bit) precision: transparent, and far cheaper than swr's default filter at equal quality. */
export function resampleFilter(sourceRate: number | undefined): string {
  return sourceRate === PCM_SAMPLE_RATE ? '' : `aresample=${PCM_SAMPLE_RATE}:resampler=soxr`;
}

export function pcmSeconds(bytes: number, channels: 1 | 2): number {
  return pcmSamples(bytes, channels) / PCM_SAMPLE_RATE;
}

/** Whole samples per channel in `bytes` of interleaved float PCM. */
export function pcmSamples(bytes: number, channels: 1 | 2): number {
  return Math.floor(bytes / (PCM_BYTES_PER_SAMPLE * channels));
}

/** Joins filter chain parts, skipping empty ones. */
export function chain(...filters: readonly string[]): string {
  return filters.filter((filter) => filter !== '').join(',');
}
