/**
 * QC after encode: every rendition is re-measured from its encoded bytes and judged by what the listener gets, its
 * level plus the playback gain its tags carry. It must land within ±0.5 LU of its target and at or below the true-
 * peak ceiling, or say why not. A gain held back by true-peak headroom is a documented outcome, not a failure.
 */
import type { LoudnessMeasurement } from './loudness.ts';
import { round } from './loudness.ts';

/** ±0.5 LU: the tolerance of EBU R128 s1 / Tech 3344 for a programme's integrated loudness. */
export const LOUDNESS_TOLERANCE_LU = 0.5;
/** Peaks are compared at the 0.01 dB they are stated with. */
const PEAK_EPSILON_DB = 0.005;

export type QcStatus = 'pass' | 'headroom-limited' | 'silent' | 'fail';

export interface QcExpectation {
  /** Where the rendition should play: the profile target, or the preview window's level at the ideal gain. */
  readonly targetLufs: number | null;
  /** Where it can play given the gain it carries (targetLufs unless the gain was limited). */
  readonly achievableLufs: number | null;
  /** Gain its playback applies: the tagged gain, or 0 when the gain is baked in. */
  readonly playbackGainDb: number;
  /** Gain that would have reached the target. */
  readonly idealGainDb: number;
  readonly ceilingDbtp: number;
  /** Why the gain is limited, in words, for the record. */
  readonly limitedBecause?: string;
  /** What else may have moved the level (normalized mode's limiter), quoted when the rendition misses its target. */
  readonly missContext?: string;
}

export interface QcVerdict {
  readonly status: QcStatus;
  readonly integratedLufs: number | null;
  readonly truePeakDbtp: number | null;
  readonly playbackGainDb: number;
  readonly playbackLufs: number | null;
  readonly playbackTruePeakDbtp: number | null;
  readonly targetLufs: number | null;
  readonly toleranceLu: number;
  readonly reason: string | null;
}

export function judge(measured: LoudnessMeasurement, expected: QcExpectation): QcVerdict {
  const gain = expected.playbackGainDb;
  const playbackLufs = measured.integratedLufs === null ? null : round(measured.integratedLufs + gain, 2);
  const playbackPeak = measured.truePeakDbtp === null ? null : round(measured.truePeakDbtp + gain, 2);
  const base = {
    integratedLufs: measured.integratedLufs === null ? null : round(measured.integratedLufs, 2),
    truePeakDbtp: measured.truePeakDbtp,
    playbackGainDb: gain,
    playbackLufs,
    playbackTruePeakDbtp: playbackPeak,
    targetLufs: expected.targetLufs,
    toleranceLu: LOUDNESS_TOLERANCE_LU,
  };
  if (playbackLufs === null || expected.targetLufs === null) {
    return { ...base, status: 'silent', reason: 'no 400 ms block above the −70 LUFS gate (silence, or too short to measure): nothing to normalize' };
  }
  const problems: string[] = [];
  if (playbackPeak !== null && playbackPeak > expected.ceilingDbtp + PEAK_EPSILON_DB) {
    problems.push(`true peak ${fmt(playbackPeak)} dBTP at playback is above the ${fmt(expected.ceilingDbtp)} dBTP ceiling`);
  }
  const offTarget = round(playbackLufs - expected.targetLufs, 2);
  if (Math.abs(offTarget) <= LOUDNESS_TOLERANCE_LU) {
    return problems.length > 0 ? { ...base, status: 'fail', reason: problems.join('; ') } : { ...base, status: 'pass', reason: null };
  }
  const limited = gain < expected.idealGainDb - PEAK_EPSILON_DB;
  const achievable = expected.achievableLufs;
  if (limited && achievable !== null && Math.abs(playbackLufs - achievable) <= LOUDNESS_TOLERANCE_LU && problems.length === 0) {
    const why = expected.limitedBecause ? ` by ${expected.limitedBecause}` : '';
    return {
      ...base,
      status: 'headroom-limited',
      reason: `gain limited to ${fmt(gain)} dB (of ${fmt(expected.idealGainDb)} dB)${why}; plays at ${fmt(playbackLufs)} LUFS instead of ${fmt(expected.targetLufs)}`,
    };
  }
  const context = expected.missContext ? ` (${expected.missContext})` : '';
  problems.push(
    `plays at ${fmt(playbackLufs)} LUFS, ${fmt(offTarget)} LU from the ${fmt(expected.targetLufs)} LUFS target (±${LOUDNESS_TOLERANCE_LU})${context}`,
  );
  return { ...base, status: 'fail', reason: problems.join('; ') };
}

function fmt(value: number): string {
  return value.toFixed(1);
}
