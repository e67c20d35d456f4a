/**
 * Judging video frames for a poster: black, white and faded frames are rejected, and among the rest the one with
 * the most varied luma histogram wins, which favours detailed, well-exposed frames over titles and flat sky. Pure.
 */

export interface FrameStats {
  /** Mean BT.709 luma, 0–255. */
  mean: number;
  stdev: number;
  /** Shannon entropy of a 32-bin luma histogram, 0–5 bits. A fade compresses the histogram and loses bits. */
  entropy: number;
}

/** Below this mean the frame is black or deep in a fade. */
export const BLACK_MEAN = 24;
/** Above this it is a white flash or a fade to white. */
export const WHITE_MEAN = 235;
/** Below this contrast the frame is one flat colour: a slate, a fade, a lens cap. */
export const FLAT_STDEV = 12;
const BINS = 32;
/** Statistics on every 4th pixel of a full frame are within a luma level of the exact ones, at a quarter of the cost. */
const SAMPLE_STRIDE = 4;

/** Stats of one packed RGB24 frame of `pixels` pixels starting at `offset`. */
export function frameStats(rgb: Uint8Array, offset = 0, pixels = (rgb.length - offset) / 3): FrameStats {
  const histogram = new Float64Array(BINS);
  const stride = pixels > 4096 ? SAMPLE_STRIDE : 1;
  let sum = 0;
  let squares = 0;
  let count = 0;
  for (let pixel = 0; pixel < pixels; pixel += stride) {
    const at = offset + pixel * 3;
    const luma = 0.2126 * rgb[at]! + 0.7152 * rgb[at + 1]! + 0.0722 * rgb[at + 2]!;
    sum += luma;
    squares += luma * luma;
    histogram[Math.min(BINS - 1, Math.floor((luma * BINS) / 256))]! += 1;
    count += 1;
  }
  const mean = sum / count;
  let entropy = 0;
  for (const bin of histogram) {
    if (bin > 0) entropy -= (bin / count) * Math.log2(bin / count);
  }
  return { mean, stdev: Math.sqrt(Math.max(0, squares / count - mean * mean)), entropy };
}

export function isUsable(stats: FrameStats): boolean {
  return stats.mean >= BLACK_MEAN && stats.mean <= WHITE_MEAN && stats.stdev >= FLAT_STDEV;
}

export interface Candidate {
  readonly timeSeconds: number;
  readonly stats: FrameStats;
}

/**
 * Candidates best first: usable frames before unusable ones, then by entropy, then by contrast, then earliest.
 * The first and last `margin` of the video are left out when anything else is usable: intros and outros are where
 * fades and title cards live.
 */
export function rankCandidates(candidates: readonly Candidate[], durationSeconds: number, margin = 0.05): Candidate[] {
  const inside = candidates.filter((c) => c.timeSeconds >= durationSeconds * margin && c.timeSeconds <= durationSeconds * (1 - margin));
  const pool = inside.some((c) => isUsable(c.stats)) ? inside : candidates;
  return [...pool].sort(
    (a, b) =>
      Number(isUsable(b.stats)) - Number(isUsable(a.stats)) ||
      b.stats.entropy - a.stats.entropy ||
      b.stats.stdev - a.stats.stdev ||
      a.timeSeconds - b.timeSeconds,
  );
}
