import { describe, expect, it } from 'vitest';
import { averageBitrate, peakSegmentBitrate } from '../../shared/media/hls/bandwidth.ts';
import { parseAttributes, parseMaster, parseMedia, PlaylistError, writeMasterPlaylist, writeMediaPlaylist } from '../../shared/media/hls/playlist.ts';

describe('media playlists', () => {
  const text = writeMediaPlaylist({
    targetDuration: 6,
    initUri: '../hls-segment/720p/init.mp4',
    segments: [
      { uri: '../hls-segment/720p/000000.m4s', durationSeconds: 5.972633 },
      { uri: '../hls-segment/720p/000001.m4s', durationSeconds: 1.5 },
    ],
  });

  it('are VOD fMP4 playlists of protocol version 6 with independent segments', () => {
    expect(text).toBe(
      [
        '#EXTM3U',
        '#EXT-X-VERSION:6',
        '#EXT-X-TARGETDURATION:6',
        '#EXT-X-MEDIA-SEQUENCE:0',
        '#EXT-X-PLAYLIST-TYPE:VOD',
        '#EXT-X-INDEPENDENT-SEGMENTS',
        '#EXT-X-MAP:URI="../hls-segment/720p/init.mp4"',
        '#EXTINF:5.972633,',
        '../hls-segment/720p/000000.m4s',
        '#EXTINF:1.500000,',
        '../hls-segment/720p/000001.m4s',
        '#EXT-X-ENDLIST',
        '',
      ].join('\n'),
    );
  });

  it('parse back to what was written', () => {
    expect(parseMedia(text)).toEqual({
      version: 6,
      targetDuration: 6,
      independentSegments: true,
      playlistType: 'VOD',
      mapUri: '../hls-segment/720p/init.mp4',
      ended: true,
      segments: [
        { uri: '../hls-segment/720p/000000.m4s', durationSeconds: 5.972633 },
        { uri: '../hls-segment/720p/000001.m4s', durationSeconds: 1.5 },
      ],
    });
  });

  it('refuse what RFC 8216 calls invalid', () => {
    expect(() => parseMedia('#EXT-X-VERSION:6\n')).toThrow(PlaylistError);
    expect(() => parseMedia('#EXTM3U\n#EXT-X-TARGETDURATION:6\nseg.m4s\n')).toThrow('has no EXTINF');
    expect(() => parseMedia('#EXTM3U\n#EXT-X-TARGETDURATION:5.5\n')).toThrow('not an integer');
  });
});

describe('master playlists', () => {
  const text = writeMasterPlaylist({
    audio: [{ groupId: 'audio-aac', name: 'Main', uri: 'aac.m3u8', channels: 2 }],
    variants: [
      {
        uri: '1080p.m3u8',
        bandwidth: 6_500_000,
        averageBandwidth: 4_100_000,
        codecs: ['avc1.640028', 'mp4a.40.2'],
        resolution: { width: 1920, height: 1080 },
        frameRate: 30000 / 1001,
        audioGroup: 'audio-aac',
      },
      {
        uri: '360p.m3u8',
        bandwidth: 900_000,
        averageBandwidth: 610_000,
        codecs: ['avc1.64001e', 'mp4a.40.2'],
        resolution: { width: 640, height: 360 },
        frameRate: 30000 / 1001,
        audioGroup: 'audio-aac',
      },
    ],
  });

  it('put the audio in its own group and list only video variants, each naming the group', () => {
    const master = parseMaster(text);
    expect(master).toMatchObject({ version: 6, independentSegments: true });
    expect(master.media).toEqual([{ TYPE: 'AUDIO', 'GROUP-ID': 'audio-aac', NAME: 'Main', DEFAULT: 'YES', AUTOSELECT: 'YES', CHANNELS: '2', URI: 'aac.m3u8' }]);
    expect(master.variants).toEqual([
      {
        uri: '1080p.m3u8',
        attributes: {
          BANDWIDTH: '6500000',
          'AVERAGE-BANDWIDTH': '4100000',
          CODECS: 'avc1.640028,mp4a.40.2',
          RESOLUTION: '1920x1080',
          'FRAME-RATE': '29.970',
          AUDIO: 'audio-aac',
          'CLOSED-CAPTIONS': 'NONE',
        },
      },
      {
        uri: '360p.m3u8',
        attributes: {
          BANDWIDTH: '900000',
          'AVERAGE-BANDWIDTH': '610000',
          CODECS: 'avc1.64001e,mp4a.40.2',
          RESOLUTION: '640x360',
          'FRAME-RATE': '29.970',
          AUDIO: 'audio-aac',
          'CLOSED-CAPTIONS': 'NONE',
        },
      },
    ]);
  });

  it('of an audio-only asset list the audio playlist as the one variant', () => {
    const master = parseMaster(
      writeMasterPlaylist({ audio: [], variants: [{ uri: 'aac.m3u8', bandwidth: 140_000, averageBandwidth: 131_000, codecs: ['mp4a.40.2'] }] }),
    );
    expect(master.media).toEqual([]);
    expect(master.variants).toEqual([{ uri: 'aac.m3u8', attributes: { BANDWIDTH: '140000', 'AVERAGE-BANDWIDTH': '131000', CODECS: 'mp4a.40.2' } }]);
  });

  it('refuse a quoted-string that would break the line', () => {
    expect(() => writeMasterPlaylist({ audio: [{ groupId: 'a"b', name: 'Main', uri: 'aac.m3u8', channels: 2 }], variants: [] })).toThrow('quoted-string');
  });

  it('attribute lists keep commas inside quoted strings', () => {
    expect(parseAttributes('BANDWIDTH=1,CODECS="avc1.640028,mp4a.40.2",RESOLUTION=1x1')).toEqual({
      BANDWIDTH: '1',
      CODECS: 'avc1.640028,mp4a.40.2',
      RESOLUTION: '1x1',
    });
  });
});

describe('bandwidth (RFC 8216 §4.3.4.2)', () => {
  const segments = [
    { bytes: 750_000, seconds: 6 }, // 1 Mb/s
    { bytes: 1_500_000, seconds: 6 }, // 2 Mb/s
    { bytes: 900_000, seconds: 2 }, // 3.6 Mb/s, but 2 s is under half the target on its own
  ];

  it('peaks over contiguous sets of 0.5 to 1.5 target durations, never over a short set alone', () => {
    // [1] alone: 2 Mb/s; [1, 2]: 2.4 MB over 8 s = 2.4 Mb/s; [2] alone (2 s < 3 s) does not count.
    expect(peakSegmentBitrate(segments, 6)).toBe(2_400_000);
  });

  it('averages over the whole playlist', () => {
    expect(averageBitrate(segments)).toBe(Math.ceil((3_150_000 * 8) / 14));
  });

  it('measures a playlist too short for any set as a whole', () => {
    expect(peakSegmentBitrate([{ bytes: 100_000, seconds: 2 }], 6)).toBe(400_000);
  });
});
