/**
 * The silence summary recorded on the asset: whether the audio is digital silence (every sample zero), whether it
 * has any block above BS.1770's −70 LUFS gate, and where silencedetect found silent passages.
 */
import { round, SILENCE_MIN_SECONDS, SILENCE_NOISE_DB, type LoudnessMeasurement, type SilenceRange } from './loudness.ts';

/** Passages listed on the asset; the count and total say the rest, and the document stays small. */
export const MAX_LISTED_SILENCES = 20;
/** A passage this close to an end counts as leading or trailing silence (silencedetect works in 100 ms frames here). */
const EDGE_SECONDS = 0.05;

/** A type rather than an interface, so it is a DocData value as it is. */
export type SilenceSummary = {
  /** No non-zero sample at all. Never gets a gain: it is flagged instead. */
  readonly digital: boolean;
  /** No 400 ms block above −70 LUFS: silence, or too short or too quiet to measure. */
  readonly unmeasurable: boolean;
  readonly totalSeconds: number;
  readonly leadingSeconds: number;
  readonly trailingSeconds: number;
  readonly passageCount: number;
  readonly passages: readonly SilenceRange[];
  readonly thresholdDbfs: number;
  readonly minimumSeconds: number;
};

export function summarizeSilence(measurement: LoudnessMeasurement): SilenceSummary {
  const duration = measurement.durationSeconds;
  const passages = measurement.silences.map(({ start, end }) => ({ start: round(start, 2), end: round(Math.min(end, duration), 2) }));
  const leading = passages.find((passage) => passage.start <= EDGE_SECONDS);
  const trailing = passages.find((passage) => passage.end >= duration - EDGE_SECONDS);
  return {
    digital: measurement.samplePeakDbfs === null,
    unmeasurable: measurement.integratedLufs === null,
    totalSeconds: round(
      passages.reduce((sum, passage) => sum + (passage.end - passage.start), 0),
      2,
    ),
    leadingSeconds: leading ? round(leading.end - leading.start, 2) : 0,
    trailingSeconds: trailing ? round(trailing.end - trailing.start, 2) : 0,
    passageCount: passages.length,
    passages: passages.slice(0, MAX_LISTED_SILENCES),
    thresholdDbfs: SILENCE_NOISE_DB,
    minimumSeconds: SILENCE_MIN_SECONDS,
  };
}
