/**
 * Playback gain and the tags that carry it. The gain is computed for the profile's target; the tags written into
 * the files follow each format's own reference level, so standard players do the right thing with them.
 */
import { round } from './loudness.ts';

/** RFC 7845 §5.2.1: R128_TRACK_GAIN normalizes to EBU R128's reference, −23 LUFS. */
export const R128_REFERENCE_LUFS = -23;
/** ReplayGain 2.0 plays at −18 LUFS (its 89 dB SPL reference measured with BS.1770). */
export const REPLAYGAIN_REFERENCE_LUFS = -18;
/**
 * Lossy encoders overshoot the PCM's true peak; measured with ffmpeg 5.1 on limited material: AAC 256k +0.6 dB,
 * Opus 160k +0.8 dB. Baked-in gain is therefore held 1 dB under the ceiling (Spotify's −2 dBTP for loud masters).
 */
export const CODEC_HEADROOM_DB = 1;

export interface PlaybackGain {
  /** What to apply, to 0.01 dB. */
  readonly gainDb: number;
  /** target − integrated: what reaching the target would take. */
  readonly idealGainDb: number;
  /** The true peak kept the gain below idealGainDb. */
  readonly headroomLimited: boolean;
}

const NO_GAIN: PlaybackGain = { gainDb: 0, idealGainDb: 0, headroomLimited: false };

/**
 * Spotify's rule: a negative gain is applied as is (it only lowers peaks); a positive gain only as far as the true
 * peak stays at or below the ceiling, and never below 0 dB. Silence, or audio too short to gate, gets 0 dB: no
 * measurement means no basis for a gain, and never an infinite one.
 */
export function playbackGain(targetLufs: number, integratedLufs: number | null, truePeakDbtp: number | null, ceilingDbtp: number): PlaybackGain {
  if (integratedLufs === null || truePeakDbtp === null) return NO_GAIN;
  const ideal = round(targetLufs - integratedLufs, 2);
  if (ideal <= 0) return { gainDb: ideal, idealGainDb: ideal, headroomLimited: false };
  const headroom = Math.max(0, round(ceilingDbtp - truePeakDbtp, 2));
  return headroom < ideal ? { gainDb: headroom, idealGainDb: ideal, headroomLimited: true } : { gainDb: ideal, idealGainDb: ideal, headroomLimited: false };
}

/** Normalized mode: whether the baked-in gain would push the true peak past the ceiling less the codec's overshoot. */
export function needsLimiter(truePeakDbtp: number | null, gainDb: number, ceilingDbtp: number): boolean {
  return truePeakDbtp !== null && truePeakDbtp + gainDb > limiterCeilingDbtp(ceilingDbtp);
}

export function limiterCeilingDbtp(ceilingDbtp: number): number {
  return ceilingDbtp - CODEC_HEADROOM_DB;
}

export function dbToLinear(db: number): number {
  return 10 ** (db / 20);
}

/** RFC 7845 §5.2.1: a Q7.8 fixed-point dB value (1/256 dB steps) written as a decimal integer, clamped to int16. */
export function q78(db: number): number {
  return Math.max(-32768, Math.min(32767, Math.round(db * 256)));
}

/** "+1.25 dB", the ReplayGain notation, also used for mediaflow's own tags. */
export function formatDb(db: number): string {
  return `${db >= 0 ? '+' : ''}${db.toFixed(2)} dB`;
}

export interface LoudnessTagInput {
  readonly integratedLufs: number | null;
  readonly truePeakDbtp: number | null;
  /** The profile's playback gain for this rendition, and the target it aims at. */
  readonly playbackGainDb: number;
  readonly targetLufs: number;
}

/**
 * Tags for an Opus rendition: R128_TRACK_GAIN per RFC 7845 (which asks for no REPLAYGAIN_* tags in Opus, to avoid
 * two schemes) plus mediaflow's own profile gain. The OpusHead output gain stays 0 dB: decoders must apply it, and
 * in tagged mode the rendition plays at the master's level until a player opts into a gain.
 */
export function opusLoudnessTags(input: LoudnessTagInput): Record<string, string> {
  if (input.integratedLufs === null) return {};
  return { R128_TRACK_GAIN: String(q78(R128_REFERENCE_LUFS - input.integratedLufs)), ...ownTags(input) };
}

/** Tags for an M4A rendition: ReplayGain 2.0 (gain to −18 LUFS, peak as a linear amplitude) plus mediaflow's own. */
export function mp4LoudnessTags(input: LoudnessTagInput): Record<string, string> {
  if (input.integratedLufs === null || input.truePeakDbtp === null) return {};
  return {
    replaygain_track_gain: formatDb(REPLAYGAIN_REFERENCE_LUFS - input.integratedLufs),
    replaygain_track_peak: dbToLinear(input.truePeakDbtp).toFixed(6),
    ...ownTags(input),
  };
}

function ownTags(input: LoudnessTagInput): Record<string, string> {
  return { MEDIAFLOW_PLAYBACK_GAIN: formatDb(input.playbackGainDb), MEDIAFLOW_TARGET_LOUDNESS: `${input.targetLufs.toFixed(1)} LUFS` };
}
