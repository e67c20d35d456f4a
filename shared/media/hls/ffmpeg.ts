/**
 * ffmpeg arguments the HLS steps share: quiet invocations and the fragmented-MP4 muxer settings. The runs
 * themselves, and the verdict on a failed one, are shared/media/ffmpeg/'s.
 */

/** Options every invocation starts with: quiet, no stdin. Each input brings its own protocol whitelist (inputArgs). */
export function quietArgs(): string[] {
  return ['-hide_banner', '-nostdin', '-nostats', '-v', 'error'];
}

/**
 * Fragmented MP4 for HLS (RFC 8216 §3.3): the init segment written up front (empty_moov), tfhd offsets relative
 * to their moof (default_base_moof, as ISO/IEC 23000-19 CMAF asks), tfdt taken from the first packet's real
 * decode time rather than zero (frag_discont), and no mfra index at the end.
 *
 * negative_cts_offsets: trun version 1 with signed composition offsets, and the muxer moves the decode times
 * up by x264's reorder delay so the first sample's decode time is its presentation time. The tfdt of every
 * video segment is then the time of its first presented frame: no "hole" before it in players that start the
 * buffer at tfdt (hls.js), nor a per-stream shift in players that align streams by tfdt (Shaka). Audio has no
 * reordering, so this changes nothing there. (ffmpeg 5.1's own mov demuxer adds the largest negative offset back
 * to every pts when reading such files: its decode is shifted by the reorder delay, players' is not.)
 */
export const FMP4_MOVFLAGS = '+empty_moov+default_base_moof+frag_discont+skip_trailer+negative_cts_offsets';

/**
 * Muxer options of every fMP4 the HLS steps write. No edit list (a moov written before any sample cannot hold a
 * meaningful one) and no shifting of negative timestamps: the common timeline offset keeps them all positive,
 * and ffmpeg's default for MP4 would move each process's first timestamp to zero, breaking continuity.
 */
export function fmp4MuxerArgs(): string[] {
  return ['-fflags', '+bitexact', '-map_metadata', '-1', '-map_chapters', '-1', '-f', 'mp4', '-use_editlist', '0', '-avoid_negative_ts', 'disabled'];
}
