/**
 * Where HLS objects live, shared by the steps that write them and the step that lists them in playlists:
 * `<asset>/hls-segment/<rendition>/`, `<asset>/hls-audio/<rendition>/` and the playlists in `<asset>/hls-package/`
 * (each step's folder gaining an `<outputVersion>/` level on a reprocess: shared/runtime/derivatives.ts). Names are
 * deterministic, so a re-run overwrites the same objects and the package step needs no listing; a media playlist
 * reaches the segments in a sibling step's folder with a relative URI (derivatives.ts dependencyRelativePath).
 */

export const HLS_SEGMENT_STEP = 'hls-segment';
export const HLS_AUDIO_STEP = 'hls-audio';
export const HLS_PACKAGE_STEP = 'hls-package';

/** The audio rendition's name and its group in the master playlist. */
export const AUDIO_RENDITION = 'aac';
export const AUDIO_GROUP_ID = 'audio-aac';

export const INIT_FILE = 'init.mp4';
export const MASTER_PLAYLIST = 'master.m3u8';
/** The IANA type of an ISO BMFF media segment (.m4s). */
export const SEGMENT_CONTENT_TYPE = 'video/iso.segment';
export const INIT_CONTENT_TYPE = 'video/mp4';
/** RFC 4337: an audio-only MP4, init and media segments alike. */
export const AUDIO_CONTENT_TYPE = 'audio/mp4';

export function initFile(rendition: string): string {
  return `${rendition}/${INIT_FILE}`;
}

/** Zero-padded to six digits: 999,999 six-second segments is 69 days, and names sort in order. */
export function segmentFile(rendition: string, index: number): string {
  return `${rendition}/${String(index).padStart(6, '0')}.m4s`;
}

export function mediaPlaylistFile(rendition: string): string {
  return `${rendition}.m3u8`;
}

export const HLS_SUBTITLES_STEP = 'hls-subtitles';
/** The subtitle renditions' group, which every video variant names in SUBTITLES. */
export const SUBTITLES_GROUP_ID = 'subs';
/** RFC 8216 §3.5 WebVTT segments. */
export const WEBVTT_CONTENT_TYPE = 'text/vtt';

/**
 * The audio rendition of the n-th audio stream (0-based among the source's audio streams): 'aac' for the first,
 * as before there were several, then 'aac-1', 'aac-2'…
 */
export function audioRendition(position: number): string {
  return position === 0 ? AUDIO_RENDITION : `${AUDIO_RENDITION}-${position}`;
}

/** The n-th text subtitle stream's rendition: 'subs-0', 'subs-1'… */
export function subtitleRendition(position: number): string {
  return `${SUBTITLES_GROUP_ID}-${position}`;
}

export function vttSegmentFile(rendition: string, index: number): string {
  return `${rendition}/${String(index).padStart(6, '0')}.vtt`;
}
