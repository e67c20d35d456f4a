/**
 * The playlists, from the measured tracks: media playlists whose EXTINF are the segments' real durations, and a
 * master playlist whose BANDWIDTH and AVERAGE-BANDWIDTH are measured from the real segment sizes (RFC 8216
 * §4.3.4.2: the video's peak plus the audio group's peak, and likewise for the averages).
 */
import { averageBitrate, peakSegmentBitrate } from '../../shared/media/hls/bandwidth.ts';
import { AUDIO_GROUP_ID, initFile, mediaPlaylistFile, relativeFromPackage, segmentFile } from '../../shared/media/hls/layout.ts';
import { writeMasterPlaylist, writeMediaPlaylist, type VariantEntry } from '../../shared/media/hls/playlist.ts';
import { rateValue, type Rational } from '../../shared/media/hls/timeline.ts';
import type { MeasuredTrack } from './measure.ts';

export interface TrackBandwidth {
  readonly peak: number;
  readonly average: number;
}

export interface Presentation {
  readonly media: ReadonlyMap<string, string>;
  readonly master: string;
  readonly variants: readonly (VariantEntry & { readonly track: MeasuredTrack })[];
  readonly audio: (TrackBandwidth & { readonly track: MeasuredTrack }) | undefined;
}

/** The audio rendition's NAME in the master playlist (§4.3.4.1: a human-readable description). */
export const AUDIO_NAME = 'Main';

export function mediaPlaylist(track: MeasuredTrack, targetDuration: number): string {
  return writeMediaPlaylist({
    targetDuration,
    initUri: relativeFromPackage(track.spec.step, initFile(track.spec.name)),
    segments: track.segments.map((segment) => ({ uri: relativeFromPackage(track.spec.step, segmentFile(track.spec.name, segment.index)), durationSeconds: segment.duration / track.info.timescale })),
  });
}

export function bandwidthOf(track: MeasuredTrack, targetDuration: number): TrackBandwidth {
  const segments = track.segments.map((segment) => ({ bytes: segment.bytes, seconds: segment.duration / track.info.timescale }));
  return { peak: peakSegmentBitrate(segments, targetDuration), average: averageBitrate(segments) };
}

export function buildPresentation(video: readonly MeasuredTrack[], audioTrack: MeasuredTrack | undefined, frameRate: Rational | undefined, targetDuration: number): Presentation {
  const media = new Map<string, string>();
  for (const track of [...video, ...(audioTrack ? [audioTrack] : [])]) media.set(mediaPlaylistFile(track.spec.name), mediaPlaylist(track, targetDuration));
  const audio = audioTrack ? { track: audioTrack, ...bandwidthOf(audioTrack, targetDuration) } : undefined;
  const variants = video.map((track) => {
    const own = bandwidthOf(track, targetDuration);
    return {
      track,
      uri: mediaPlaylistFile(track.spec.name),
      bandwidth: own.peak + (audio?.peak ?? 0),
      averageBandwidth: own.average + (audio?.average ?? 0),
      codecs: [track.info.codec, ...(audio ? [audio.track.info.codec] : [])],
      resolution: { width: track.info.width ?? 0, height: track.info.height ?? 0 },
      ...(frameRate ? { frameRate: rateValue(frameRate) } : {}),
      ...(audio ? { audioGroup: AUDIO_GROUP_ID } : {}),
    };
  });
  // An audio-only asset: its audio playlist is the one variant; a video asset lists it only as the group's rendition.
  const audioOnly: VariantEntry[] = audio && video.length === 0 ? [{ uri: mediaPlaylistFile(audio.track.spec.name), bandwidth: audio.peak, averageBandwidth: audio.average, codecs: [audio.track.info.codec] }] : [];
  const master = writeMasterPlaylist({
    audio: audio && video.length > 0 ? [{ groupId: AUDIO_GROUP_ID, name: AUDIO_NAME, uri: mediaPlaylistFile(audio.track.spec.name), channels: audio.track.info.channels ?? 2 }] : [],
    variants: [...variants, ...audioOnly],
  });
  return { media, master, variants, audio };
}
