/**
 * The true-peak limiter of normalized mode, inserted only when the baked-in gain would push the true peak past the
 * ceiling. ffmpeg's alimiter limits samples, not true peaks; run at 4× oversampling (192 kHz, the rate BS.1770-4
 * Annex 2's true-peak meter works at) its samples resolve the inter-sample peaks, so it limits true peak.
 */
import { dbToLinear, limiterCeilingDbtp } from './gain.ts';
import { PCM_SAMPLE_RATE } from './pcm.ts';

const OVERSAMPLED_RATE = 4 * PCM_SAMPLE_RATE;
/** Lookahead: long enough to catch a transient before it passes, short enough to stay inaudible. */
const ATTACK_MS = 5;
/** Slow enough not to pump on bass notes, fast enough to recover between drum hits. */
const RELEASE_MS = 100;

/**
 * level=false: alimiter otherwise adds make-up gain back up to 0 dBFS. latency=true: its lookahead delay is
 * compensated and flushed at the end, so the renditions stay sample-aligned with the source and keep its length.
 */
export function truePeakLimiterFilter(ceilingDbtp: number): string {
  const limit = dbToLinear(limiterCeilingDbtp(ceilingDbtp)).toFixed(6);
  return [
    `aresample=${OVERSAMPLED_RATE}:resampler=soxr`,
    `alimiter=limit=${limit}:attack=${ATTACK_MS}:release=${RELEASE_MS}:level=false:latency=true`,
    `aresample=${PCM_SAMPLE_RATE}:resampler=soxr`,
  ].join(',');
}
