/**
 * BANDWIDTH and AVERAGE-BANDWIDTH as RFC 8216 defines them, measured from the segments that exist rather than
 * from what the encoder was asked for.
 */

export interface MeasuredSegment {
  readonly bytes: number;
  readonly seconds: number;
}

/**
 * §4.3.4.2: the peak segment bit rate of a media playlist is the largest bit rate of any contiguous set of
 * segments whose total duration is between 0.5 and 1.5 times the target duration; a set's bit rate is its bytes
 * over its duration. A playlist too short to hold such a set (a 2 s clip) is measured as a whole.
 */
export function peakSegmentBitrate(segments: readonly MeasuredSegment[], targetDuration: number): number {
  const low = 0.5 * targetDuration;
  const high = 1.5 * targetDuration;
  let peak = 0;
  for (let first = 0; first < segments.length; first++) {
    let bytes = 0;
    let seconds = 0;
    for (let last = first; last < segments.length; last++) {
      bytes += segments[last]!.bytes;
      seconds += segments[last]!.seconds;
      if (seconds > high) break;
      if (seconds >= low) peak = Math.max(peak, (bytes * 8) / seconds);
    }
  }
  return Math.ceil(peak > 0 ? peak : averageBitrate(segments));
}

/** §4.3.4.2 AVERAGE-BANDWIDTH: the playlist's segment bytes over its duration. */
export function averageBitrate(segments: readonly MeasuredSegment[]): number {
  const bytes = segments.reduce((sum, segment) => sum + segment.bytes, 0);
  const seconds = segments.reduce((sum, segment) => sum + segment.seconds, 0);
  return seconds > 0 ? Math.ceil((bytes * 8) / seconds) : 0;
}
