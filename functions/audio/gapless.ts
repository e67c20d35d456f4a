/**
 * The source's true length. ffmpeg's decoders already drop what a container says is not programme: LAME's
 * encoder delay and padding (Xing/LAME header), an MP4 edit list's priming, Opus pre-skip, Vorbis' granule end.
 * Two cases are left over, both AAC, and both would make every duration downstream (renditions, waveform, the
 * HLS track) longer than the source by up to two frames:
 *
 * - MP4 (mov demuxer): ffmpeg 5.1 honours the edit list's start (media_time: the priming) but not its end, so the
 *   last frame's padding is decoded too (a 20 s m4a at 44.1 kHz decodes to 20.0156 s). The stream's stated
 *   duration is the edit list's (or, without one, the sample table's) and is exact, so the decode is cut there.
 * - ADTS (.aac): no index and no priming information at all. Every AAC-LC encoder primes at least one frame
 *   (1024 samples): the MDCT's first output frame only overlaps silence, so the first 1024 decoded samples are
 *   never programme and are dropped. An encoder that primes more (Apple's 2112, FDK's 2048) leaves the rest, and
 *   the last frame's padding stays: an ADTS file is as long as its whole frames less one, up to a frame (23 ms at
 *   44.1 kHz) longer than what was encoded. Nothing in the file says more. HE-AAC in ADTS is left as decoded:
 *   its SBR delay is decoder-specific.
 *
 * The same trim is applied wherever the source is decoded whole (the audio step's passes, the HLS audio encode),
 * so every output is measured against the same truth.
 */
import type { ProbeSummary, StreamSummary } from '../../shared/media/classify.ts';

/** ISO/IEC 14496-3 §4.5.1.1: an AAC-LC frame codes 1024 samples, and the decoder's first frame is priming. */
export const AAC_LC_PRIMING_SAMPLES = 1024;
/** ffmpeg's demuxer of ADTS streams (raw .aac files). */
const ADTS_DEMUXER = 'aac';
/** ffmpeg's demuxer of ISO BMFF and QuickTime (mp4, m4a, 3gp, mov…): its format name lists them all. */
const MOV_DEMUXER = 'mov';
/** ffprobe's name for the AAC-LC profile. */
const AAC_LC_PROFILE = 'LC';

/** A type rather than an interface, so it is a DocData value as it is. */
export type SourceTrim = {
  /** Decoded samples (at the source's rate) dropped from the start. */
  readonly startSample: number;
  /** Decoded samples (at the source's rate, counted from the start) after which the decode is cut; null: none. */
  readonly endSample: number | null;
  readonly sampleRate: number;
  /** Why, in words, for the asset document. */
  readonly reason: string;
};

export function sourceTrim(
  probe: Pick<ProbeSummary, 'formatName'>,
  stream: Pick<StreamSummary, 'codec' | 'profile' | 'sampleRate' | 'durationSeconds'>,
): SourceTrim | null {
  const demuxers = probe.formatName.split(',');
  const rate = stream.sampleRate;
  if (!rate || stream.codec !== 'aac') return null;
  if (demuxers.includes(ADTS_DEMUXER) && stream.profile === AAC_LC_PROFILE) {
    return {
      startSample: AAC_LC_PRIMING_SAMPLES,
      endSample: null,
      sampleRate: rate,
      reason: "ADTS states no priming: the AAC-LC decoder's first frame (1024 samples) is dropped; the last frame's padding cannot be known",
    };
  }
  if (demuxers.includes(MOV_DEMUXER) && stream.durationSeconds !== undefined && stream.durationSeconds > 0) {
    // ffprobe states durations to the microsecond: well under half a sample at any AAC rate, so rounding is exact.
    const endSample = Math.round(stream.durationSeconds * rate);
    return {
      startSample: 0,
      endSample,
      sampleRate: rate,
      reason: "the MP4 states the stream's length (edit list or sample table); the decoder's padding of the last frame past it is cut",
    };
  }
  return null;
}

/** The filter that applies a trim, first in the chain (atrim counts samples as decoded, at the source rate). */
export function trimFilter(trim: SourceTrim | null): string {
  if (!trim) return '';
  const parts = [...(trim.startSample > 0 ? [`start_sample=${trim.startSample}`] : []), ...(trim.endSample !== null ? [`end_sample=${trim.endSample}`] : [])];
  if (parts.length === 0) return '';
  // The priming was never on the programme's timeline: an edit list would have started it at 0 too.
  return `atrim=${parts.join(':')}${trim.startSample > 0 ? ',asetpts=PTS-STARTPTS' : ''}`;
}
