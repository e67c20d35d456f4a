/**
 * The package step's media playlists name the segments other steps wrote by relative URIs: from the package's
 * folder (its version folder on a reprocess) to each dependency's folder (its version folder when the order's
 * inputVersions name one). Resolved against the playlist's own object, every URI is the object the step wrote.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { MeasuredTrack } from '../../functions/hls-package/measure.ts';
import { buildPresentation } from '../../functions/hls-package/playlists.ts';
import {
  HLS_AUDIO_STEP,
  HLS_PACKAGE_STEP,
  HLS_SEGMENT_STEP,
  HLS_SUBTITLES_STEP,
  initFile,
  segmentFile,
  vttSegmentFile,
} from '../../shared/media/hls/layout.ts';
import { dependencyName, derivativeName, type RelativeReader } from '../../shared/runtime/derivatives.ts';

const ASSET_ID = 'mediaflow-ingest/clips/film.mp4#1700000000000000';
const VIDEO_SCALE = 15_360;
const AUDIO_SCALE = 48_000;

function track(name: string, kind: 'video' | 'audio'): MeasuredTrack {
  const timescale = kind === 'video' ? VIDEO_SCALE : AUDIO_SCALE;
  const duration = 6 * timescale;
  return {
    spec: { name, kind, step: kind === 'video' ? HLS_SEGMENT_STEP : HLS_AUDIO_STEP, segmentCount: 3 },
    info: {
      trackId: 1,
      handler: kind === 'video' ? 'vide' : 'soun',
      timescale,
      defaultDuration: 0,
      defaultSize: 0,
      defaultFlags: 0,
      codec: kind === 'video' ? 'avc1.640028' : 'mp4a.40.2',
      ...(kind === 'video' ? { width: 1280, height: 720 } : { channels: 2, channelConfiguration: 2 }),
    },
    initSha256: 'a'.repeat(64),
    segments: [0, 1, 2].map((index) => ({
      index,
      bytes: 100_000,
      decodeTime: index * duration,
      duration,
      presentationStart: index * duration,
      samples: kind === 'video' ? 180 : 281,
      startsWithSync: true,
      internalGaps: 0,
    })),
    decodeErrors: [],
  };
}

const video = [track('720p', 'video'), track('360p', 'video')];
const audio = [track('aac', 'audio')];
const subtitles = [{ rendition: 'subs-0', name: 'English', language: 'en', default: true, forced: false }];

/** Every URI a media playlist names (the init segment's, then each segment's), in order. */
function uris(playlist: string): string[] {
  return playlist.split('\n').flatMap((line) => {
    const map = /^#EXT-X-MAP:URI="([^"]+)"/.exec(line);
    if (map) return [map[1]!];
    return line === '' || line.startsWith('#') ? [] : [line];
  });
}

/** The object names the playlist's URIs resolve to (RFC 3986 §5.2), from the playlist's own object name. */
function resolved(order: RelativeReader, file: string, playlist: string): string[] {
  const at = derivativeName(ASSET_ID, order.step, file, order.outputVersion);
  return uris(playlist).map((uri) => path.posix.join(path.posix.dirname(at), uri));
}

/** The objects hls-segment, hls-audio and hls-subtitles wrote for this package order. */
function written(order: RelativeReader, step: string, files: readonly string[]): string[] {
  return files.map((file) => dependencyName({ assetId: ASSET_ID, ...order }, step, file));
}

const mediaFiles = (name: string) => [initFile(name), ...[0, 1, 2].map((index) => segmentFile(name, index))];
const vttFiles = (rendition: string) => [0, 1, 2].map((index) => vttSegmentFile(rendition, index));

describe('the media playlists of hls-package', () => {
  const orders: { name: string; order: RelativeReader }[] = [
    { name: 'a first run', order: { step: HLS_PACKAGE_STEP } },
    {
      name: 'a reprocess of the package and of hls-segment and hls-subtitles',
      order: {
        step: HLS_PACKAGE_STEP,
        outputVersion: 'r3.20261206-3fa2c1',
        inputVersions: { [HLS_SEGMENT_STEP]: 'r2.20261206-3fa2c1', [HLS_SUBTITLES_STEP]: 'r1.X' },
      },
    },
    { name: 'a reprocess of the package alone', order: { step: HLS_PACKAGE_STEP, outputVersion: 'r3.J' } },
    { name: 'a package first run reading a reprocessed hls-audio', order: { step: HLS_PACKAGE_STEP, inputVersions: { [HLS_AUDIO_STEP]: 'r7.J' } } },
  ];

  it.each(orders)('$name: every segment URI resolves to the object its step wrote', ({ order }) => {
    const presentation = buildPresentation(video, audio, { num: 30, den: 1 }, 6, { audio: [], subtitles, order });
    for (const media of [...video, ...audio]) {
      const file = `${media.spec.name}.m3u8`;
      expect(resolved(order, file, presentation.media.get(file)!)).toEqual(written(order, media.spec.step, mediaFiles(media.spec.name)));
    }
    expect(resolved(order, 'subs-0.m3u8', presentation.media.get('subs-0.m3u8')!)).toEqual(written(order, HLS_SUBTITLES_STEP, vttFiles('subs-0')));
    // The master names the media playlists beside it, in the package's own (version) folder.
    expect(uris(presentation.master).filter((uri) => uri.endsWith('.m3u8'))).toEqual(['720p.m3u8', '360p.m3u8']);
  });

  it('a first run names the sibling folders as it always did', () => {
    const presentation = buildPresentation(video, audio, { num: 30, den: 1 }, 6, { audio: [], subtitles, order: { step: HLS_PACKAGE_STEP } });
    expect(uris(presentation.media.get('720p.m3u8')!).slice(0, 2)).toEqual(['../hls-segment/720p/init.mp4', '../hls-segment/720p/000000.m4s']);
    expect(uris(presentation.media.get('aac.m3u8')!)[0]).toBe('../hls-audio/aac/init.mp4');
    expect(uris(presentation.media.get('subs-0.m3u8')!)[0]).toBe('../hls-subtitles/subs-0/000000.vtt');
  });

  it('a reprocess names the version folders', () => {
    const order = orders[1]!.order;
    const presentation = buildPresentation(video, audio, { num: 30, den: 1 }, 6, { audio: [], subtitles, order });
    expect(uris(presentation.media.get('720p.m3u8')!).slice(0, 2)).toEqual([
      '../../hls-segment/r2.20261206-3fa2c1/720p/init.mp4',
      '../../hls-segment/r2.20261206-3fa2c1/720p/000000.m4s',
    ]);
    expect(uris(presentation.media.get('aac.m3u8')!)[0]).toBe('../../hls-audio/aac/init.mp4');
    expect(uris(presentation.media.get('subs-0.m3u8')!)[0]).toBe('../../hls-subtitles/r1.X/subs-0/000000.vtt');
  });
});
