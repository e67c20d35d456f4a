/**
 * The playlists, from the measured tracks: media playlists whose EXTINF are the segments' real durations, and a
 * master playlist whose BANDWIDTH and AVERAGE-BANDWIDTH are measured from the real segment sizes (RFC 8216
 * §4.3.4.2: the video's peak plus the audio group's peak, and likewise for the averages).
 */
import { averageBitrate, peakSegmentBitrate } from '../../shared/media/hls/bandwidth.ts';
import {
  AUDIO_GROUP_ID,
  HLS_SUBTITLES_STEP,
  initFile,
  mediaPlaylistFile,
  segmentFile,
  SUBTITLES_GROUP_ID,
  vttSegmentFile,
} from '../../shared/media/hls/layout.ts';
import {
  writeMasterPlaylist,
  writeMediaPlaylist,
  type AudioRenditionEntry,
  type SubtitleRenditionEntry,
  type VariantEntry,
} from '../../shared/media/hls/playlist.ts';
import { dependencyRelativePath, type RelativeReader } from '../../shared/runtime/derivatives.ts';
import type { SubtitleTrackOutputs } from '../hls-subtitles/publish.ts';
import type { PackageAudio } from './params.ts';
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
  /** The audio renditions, primary first. */
  readonly audio: readonly (TrackBandwidth & { readonly track: MeasuredTrack; readonly name: string })[];
}

/**
 * What buildPresentation needs besides the measured tracks: how renditions are named, the subtitles, and the
 * package order, whose output version and input versions place the playlists and the segments they name.
 */
export interface PresentationInputs {
  readonly audio: readonly PackageAudio[];
  readonly subtitles: readonly SubtitleTrackOutputs[];
  readonly order: RelativeReader;
}

/** The audio rendition's NAME in the master playlist (§4.3.4.1: a human-readable description). */
export const AUDIO_NAME = 'Main';

/**
 * A track's media playlist, written in the package order's folder: its init and media segments are named relative
 * to it (RFC 3986 §5.2), in the folder of the step that wrote them, or of that step's reprocess.
 */
export function mediaPlaylist(track: MeasuredTrack, targetDuration: number, order: RelativeReader): string {
  return writeMediaPlaylist({
    targetDuration,
    initUri: dependencyRelativePath(order, track.spec.step, initFile(track.spec.name)),
    segments: track.segments.map((segment) => ({
      uri: dependencyRelativePath(order, track.spec.step, segmentFile(track.spec.name, segment.index)),
      durationSeconds: segment.duration / track.info.timescale,
    })),
  });
}

export function bandwidthOf(track: MeasuredTrack, targetDuration: number): TrackBandwidth {
  const segments = track.segments.map((segment) => ({ bytes: segment.bytes, seconds: segment.duration / track.info.timescale }));
  return { peak: peakSegmentBitrate(segments, targetDuration), average: averageBitrate(segments) };
}

/**
 * A subtitle rendition's media playlist: one WebVTT segment per video segment, with the video's durations (the
 * WebVTT segments cover the same windows, hls-subtitles/publish.ts).
 */
export function subtitlePlaylist(rendition: string, video: MeasuredTrack, targetDuration: number, order: RelativeReader): string {
  return writeMediaPlaylist({
    targetDuration,
    segments: video.segments.map((segment) => ({
      uri: dependencyRelativePath(order, HLS_SUBTITLES_STEP, vttSegmentFile(rendition, segment.index)),
      durationSeconds: segment.duration / video.info.timescale,
    })),
  });
}

export function buildPresentation(
  video: readonly MeasuredTrack[],
  audioTracks: readonly MeasuredTrack[],
  frameRate: Rational | undefined,
  targetDuration: number,
  inputs: PresentationInputs,
): Presentation {
  const media = new Map<string, string>();
  for (const track of [...video, ...audioTracks]) media.set(mediaPlaylistFile(track.spec.name), mediaPlaylist(track, targetDuration, inputs.order));
  const [reference] = video;
  const subtitles: SubtitleRenditionEntry[] = reference
    ? inputs.subtitles.map((track) => {
        media.set(mediaPlaylistFile(track.rendition), subtitlePlaylist(track.rendition, reference, targetDuration, inputs.order));
        return {
          groupId: SUBTITLES_GROUP_ID,
          name: track.name,
          uri: mediaPlaylistFile(track.rendition),
          ...(track.language ? { language: track.language } : {}),
          default: track.default,
          forced: track.forced,
        };
      })
    : [];
  const audio = audioTracks.map((track, i) => ({
    track,
    name: inputs.audio[i]?.name ?? (i === 0 ? AUDIO_NAME : `Audio ${i + 1}`),
    ...bandwidthOf(track, targetDuration),
  }));
  // §4.3.4.2: BANDWIDTH covers the variant with any rendition of its group, so the group's largest counts.
  const peakAudio = Math.max(0, ...audio.map((rendition) => rendition.peak));
  const averageAudio = Math.max(0, ...audio.map((rendition) => rendition.average));
  const [primary] = audio;
  const variants = video.map((track) => {
    const own = bandwidthOf(track, targetDuration);
    return {
      track,
      uri: mediaPlaylistFile(track.spec.name),
      bandwidth: own.peak + peakAudio,
      averageBandwidth: own.average + averageAudio,
      codecs: [track.info.codec, ...(primary ? [primary.track.info.codec] : [])],
      resolution: { width: track.info.width ?? 0, height: track.info.height ?? 0 },
      ...(frameRate ? { frameRate: rateValue(frameRate) } : {}),
      ...(primary ? { audioGroup: AUDIO_GROUP_ID } : {}),
      ...(subtitles.length > 0 ? { subtitlesGroup: SUBTITLES_GROUP_ID } : {}),
      // SDR variants first, then HDR (the order of the tracks): players keep what the display can show.
      ...(track.spec.videoRange ? { videoRange: track.spec.videoRange } : {}),
    };
  });
  // An audio-only asset: its primary audio playlist is the one variant; a video asset lists audio only as the group's renditions.
  const audioOnly: VariantEntry[] =
    primary && video.length === 0
      ? [{ uri: mediaPlaylistFile(primary.track.spec.name), bandwidth: primary.peak, averageBandwidth: primary.average, codecs: [primary.track.info.codec] }]
      : [];
  const audioEntries: AudioRenditionEntry[] =
    video.length > 0
      ? audio.map((rendition, i) => {
          const planned = inputs.audio[i];
          return {
            groupId: AUDIO_GROUP_ID,
            name: rendition.name,
            uri: mediaPlaylistFile(rendition.track.spec.name),
            channels: rendition.track.info.channels ?? 2,
            ...(planned?.language ? { language: planned.language } : {}),
            ...(planned?.default !== undefined ? { default: planned.default } : {}),
          };
        })
      : [];
  const master = writeMasterPlaylist({ audio: audioEntries, subtitles, variants: [...variants, ...audioOnly] });
  return { media, master, variants, audio };
}
