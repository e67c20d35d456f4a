/**
 * Issue 14 items 5 and 6 as pure functions: rendition naming from stream tags, the master playlist with several
 * audio renditions and a SUBTITLES group, WebVTT segments with X-TIMESTAMP-MAP, and the A/V start shift.
 */
import { describe, expect, it } from 'vitest';
import { alignShiftSeconds } from '../../functions/hls-audio/source-start.ts';
import { audioTrackFacts, planAudioParams, type HlsAudioParams } from '../../functions/hls-audio/params.ts';
import { audioFilter, leadingSilence } from '../../functions/hls-audio/encode.ts';
import { parseWebVtt, webVttSegment } from '../../functions/hls-subtitles/webvtt.ts';
import { subtitleWindows } from '../../functions/hls-subtitles/publish.ts';
import { planSubtitlesParams } from '../../functions/hls-subtitles/params.ts';
import type { StreamSummary, ProbeSummary } from '../../shared/media/classify.ts';
import { summarize } from '../../shared/media/classify.ts';
import { languageTag, parseMaster, renditionName, writeMasterPlaylist, writeMediaPlaylist } from '../../shared/media/hls/playlist.ts';
import { DEFAULT_HLS_SETTINGS } from '../../shared/media/hls/settings.ts';
import { planTimeline, segmentWindow } from '../../shared/media/hls/timeline.ts';
import type { PlanContext } from '../../shared/domain/step.ts';

function stream(fields: Partial<StreamSummary> & Pick<StreamSummary, 'index' | 'type' | 'codec'>): StreamSummary {
  return { attachedPicture: false, ...fields };
}

function context(streams: StreamSummary[]): PlanContext {
  const probe: ProbeSummary = { kind: 'video', formatName: 'matroska,webm', durationSeconds: 20, sizeBytes: 1, bitRate: null, streams, tags: {}, warnings: [] };
  return { assetId: 'a', kind: 'video', profile: 'default', probe, source: { bucket: 'b', name: 'n', generation: '1' }, outputs: {} } as PlanContext;
}

const VIDEO = stream({ index: 0, type: 'video', codec: 'h264', width: 320, height: 240, frameRate: 25, frameRateExact: '25/1', startSeconds: 0 });

describe('rendition names and languages from stream tags', () => {
  it('turns ISO 639-2 into BCP-47 and drops und and private use', () => {
    expect(['eng', 'fre', 'fra', 'ger', 'pt-BR', 'und', 'qaa', '', undefined].map(languageTag)).toEqual([
      'en',
      'fr',
      'fr',
      'de',
      'pt-BR',
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
  });

  it('names a rendition by its title, else its language, else its position', () => {
    expect(renditionName('Director\'s "commentary"', 'en', 'Audio 2')).toBe("Director's  commentary");
    expect(renditionName(undefined, 'fr', 'Audio 2')).toBe('French');
    expect(renditionName(undefined, undefined, 'Audio 2')).toBe('Audio 2');
  });

  it("reads language, title and default/forced dispositions from ffprobe, and stream starts from the file's start", () => {
    const probe = summarize(
      {
        format: { format_name: 'matroska,webm', duration: '3.0', start_time: '1.400000' },
        streams: [
          { index: 0, codec_type: 'video', codec_name: 'h264', width: 320, height: 240, avg_frame_rate: '25/1', r_frame_rate: '25/1', start_time: '1.605333' },
          {
            index: 1,
            codec_type: 'audio',
            codec_name: 'aac',
            start_time: '1.400000',
            tags: { language: 'fra', title: 'Doublage' },
            disposition: { default: 0, forced: 0 },
          },
          { index: 2, codec_type: 'subtitle', codec_name: 'subrip', tags: { language: 'und' }, disposition: { default: 1, forced: 1 } },
        ],
      },
      1000,
    );
    expect(probe.streams[0]!.startSeconds).toBe(0.205333);
    expect(probe.streams[1]).toMatchObject({ language: 'fra', title: 'Doublage', defaultTrack: false, forced: false, startSeconds: 0 });
    expect(probe.streams[2]).toMatchObject({ defaultTrack: true, forced: true });
    expect(probe.streams[2]!.language).toBeUndefined();
  });

  it("marks the source's default audio stream DEFAULT, else the first", () => {
    const streams = [
      VIDEO,
      stream({ index: 1, type: 'audio', codec: 'aac', language: 'eng' }),
      stream({ index: 2, type: 'audio', codec: 'aac', language: 'fra', defaultTrack: true }),
    ];
    expect(audioTrackFacts(context(streams), 0)).toEqual({ position: 0, rendition: 'aac', name: 'English', language: 'en', default: false });
    expect(audioTrackFacts(context(streams), 1)).toEqual({ position: 1, rendition: 'aac-1', name: 'French', language: 'fr', default: true });
    expect(audioTrackFacts(context(streams.slice(0, 2)), 0).default).toBe(true);
  });
});

describe('the master playlist with several audio renditions and subtitles', () => {
  const text = writeMasterPlaylist({
    audio: [
      { groupId: 'audio-aac', name: 'English', language: 'en', uri: 'aac.m3u8', channels: 2 },
      { groupId: 'audio-aac', name: 'French', language: 'fr', uri: 'aac-1.m3u8', channels: 2, default: true },
    ],
    subtitles: [{ groupId: 'subs', name: 'English', language: 'en', uri: 'subs-0.m3u8', default: false, forced: false }],
    variants: [
      {
        uri: '240p.m3u8',
        bandwidth: 500_000,
        averageBandwidth: 400_000,
        codecs: ['avc1.64000d', 'mp4a.40.2'],
        resolution: { width: 320, height: 240 },
        frameRate: 25,
        audioGroup: 'audio-aac',
        subtitlesGroup: 'subs',
      },
    ],
  });

  it('lists one DEFAULT audio rendition, the SUBTITLES group and names it on every variant', () => {
    expect(text.split('\n').slice(3, 6)).toEqual([
      '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio-aac",NAME="English",LANGUAGE="en",DEFAULT=NO,AUTOSELECT=YES,CHANNELS="2",URI="aac.m3u8"',
      '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio-aac",NAME="French",LANGUAGE="fr",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2",URI="aac-1.m3u8"',
      '#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="English",LANGUAGE="en",DEFAULT=NO,AUTOSELECT=YES,FORCED=NO,URI="subs-0.m3u8"',
    ]);
    expect(parseMaster(text).variants[0]!.attributes).toMatchObject({ AUDIO: 'audio-aac', SUBTITLES: 'subs' });
  });

  it('writes a WebVTT media playlist without EXT-X-MAP', () => {
    const media = writeMediaPlaylist({ targetDuration: 6, segments: [{ uri: '../hls-subtitles/subs-0/000000.vtt', durationSeconds: 6 }] });
    expect(media).not.toContain('EXT-X-MAP');
    expect(media).toContain('#EXTINF:6.000000,\n../hls-subtitles/subs-0/000000.vtt');
  });
});

describe('WebVTT segments', () => {
  const vtt =
    'WEBVTT\n\n00:00.500 --> 00:02.000\nHello\n\n1\n00:00:05.500 --> 00:00:06.500 align:start\nAcross\nthe boundary\n\n00:07.000 --> 00:08.000\nLater\n';
  const cues = parseWebVtt(vtt);

  it("map the timeline's zero to its 90 kHz time, and repeat a cue in every segment it overlaps", () => {
    expect(cues).toHaveLength(3);
    expect(webVttSegment(cues, { start: 0, end: 6 }, 1)).toBe(
      'WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:90000,LOCAL:00:00:00.000\n\n00:00:00.500 --> 00:00:02.000\nHello\n\n1\n00:00:05.500 --> 00:00:06.500 align:start\nAcross\nthe boundary\n',
    );
    expect(webVttSegment(cues, { start: 6, end: 12 }, 1001 / 1000)).toBe(
      'WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:90090,LOCAL:00:00:00.000\n\n1\n00:00:05.500 --> 00:00:06.500 align:start\nAcross\nthe boundary\n\n00:00:07.000 --> 00:00:08.000\nLater\n',
    );
  });

  it("follow the video segments' windows, the first from zero", () => {
    const timeline = planTimeline({ ...VIDEO, startSeconds: 0.2, durationSeconds: 10 }, 10, DEFAULT_HLS_SETTINGS);
    expect(timeline).toMatchObject({ firstFrame: 5, totalFrames: 250, segmentCount: 2 });
    expect(segmentWindow(timeline, 0)).toEqual({ index: 0, startFrame: 5, frames: 145 });
    expect(segmentWindow(timeline, 1)).toEqual({ index: 1, startFrame: 150, frames: 105 });
    expect(subtitleWindows(timeline)).toEqual([
      { start: 0, end: 6 },
      { start: 6, end: 10.2 },
    ]);
  });

  it('are planned for text streams only; bitmaps are skipped with a note', () => {
    const params = planSubtitlesParams(
      context([
        VIDEO,
        stream({ index: 1, type: 'subtitle', codec: 'subrip', language: 'eng' }),
        stream({ index: 2, type: 'subtitle', codec: 'hdmv_pgs_subtitle' }),
      ]),
      DEFAULT_HLS_SETTINGS,
    );
    expect(params.tracks).toEqual([{ index: 1, codec: 'subrip', rendition: 'subs-0', name: 'English', language: 'en', default: false, forced: false }]);
    expect(params.skipped).toEqual([{ index: 2, codec: 'hdmv_pgs_subtitle', reason: 'bitmap subtitles (no text to convert to WebVTT without OCR)' }]);
  });
});

describe('A/V start alignment', () => {
  it("shifts nothing where ffmpeg keeps each stream's real start (MP4, Matroska)", () => {
    expect(alignShiftSeconds({ audioSeconds: 0.5, videoSeconds: 0 }, { audio: 0.5, video: 0 })).toBe(0);
  });
  it("puts a transport stream's audio back at its distance from the video, which ffmpeg loses reading each alone", () => {
    expect(alignShiftSeconds({ audioSeconds: 0, videoSeconds: 0.205333 }, { audio: 0, video: 0 })).toBeCloseTo(-0.205333, 9);
    expect(alignShiftSeconds({ audioSeconds: 0.3, videoSeconds: 0 }, { audio: 0, video: 0 })).toBeCloseTo(0.3, 9);
  });
  it('has nothing to align for audio-only assets or older orders', () => {
    expect(alignShiftSeconds({ audioSeconds: 0.3, videoSeconds: null }, { audio: 0, video: null })).toBe(0);
    expect(alignShiftSeconds({ audioSeconds: 0.3, videoSeconds: 0 }, undefined)).toBe(0);
  });
});

describe('leading silence: audio starting after the first frame is padded back to it (issue 14)', () => {
  const AUDIO = stream({ index: 1, type: 'audio', codec: 'aac', channels: 2, sampleRate: 48_000, startSeconds: 0.478 });
  /** A plannable video (the ladder needs the display size the probe states). */
  const planned = (video: StreamSummary): HlsAudioParams => {
    const base = context([video, AUDIO]);
    return planAudioParams({ ...base, probe: { ...base.probe, display: { width: 320, height: 240 } } }, DEFAULT_HLS_SETTINGS);
  };
  const android = (): HlsAudioParams => planned(VIDEO);

  it("plans the zero at the video's first frame on its grid, and pads an Android clip's 478 ms to the sample", () => {
    const params = android();
    expect(params.zeroSeconds).toBe(0);
    expect(leadingSilence(params)).toEqual({ firstPts: 0, samples: 22_944 });
    // The resampler pads from the decoder's own timestamps to first_pts, then the common offset moves it all.
    expect(audioFilter(params, 0, leadingSilence(params))).toMatch(/aresample=48000:async=1:first_pts=0:min_comp=0,volume=[-\d.]+dB,asetpts=PTS\+48000$/);
  });

  it("counts from a late video's first frame, floored to the sample so the audio never starts after it", () => {
    const lateVideo = stream({ ...VIDEO, startSeconds: 0.041 });
    const params = planned(lateVideo);
    expect(params.zeroSeconds).toBeCloseTo(0.04, 9);
    expect(leadingSilence(params)).toEqual({ firstPts: 1_920, samples: 22_944 - 1_920 });
  });

  it('pads nothing for audio at or before the zero (a TS whose audio leads), nor for orders planned before the zero', () => {
    const params = android();
    // A transport stream's audio 205 ms ahead: the shift puts it before the zero, where it stays whole.
    expect(leadingSilence({ ...params, aloneStarts: { audio: 0, video: 0 } }, -0.205333)).toEqual({ firstPts: 9_856, samples: 0 });
    expect(
      audioFilter({ ...params, aloneStarts: { audio: 0, video: 0 } }, -0.205333, leadingSilence({ ...params, aloneStarts: { audio: 0, video: 0 } }, -0.205333)),
    ).toContain('aresample=48000:async=1,');
    expect(leadingSilence({ ...params, zeroSeconds: undefined })).toEqual({ firstPts: 0, samples: 0 });
  });
});
