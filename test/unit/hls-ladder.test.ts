import { describe, expect, it } from 'vitest';
import type { ProbeSummary, StreamSummary } from '../../shared/media/classify.ts';
import { chooseLadder } from '../../shared/media/hls/ladder.ts';
import { DEFAULT_HLS_SETTINGS } from '../../shared/media/hls/settings.ts';
import { chooseFrameRate, offsetSeconds, planTimeline, segmentWindow } from '../../shared/media/hls/timeline.ts';

const settings = DEFAULT_HLS_SETTINGS;
const video = (fields: Partial<StreamSummary> = {}): StreamSummary => ({
  index: 0,
  type: 'video',
  codec: 'h264',
  attachedPicture: false,
  frameRate: 30,
  frameRateExact: '30/1',
  ...fields,
});
const probe = (display: { width: number; height: number }): ProbeSummary => ({
  kind: 'video',
  formatName: 'mov,mp4',
  durationSeconds: 60,
  sizeBytes: 1,
  bitRate: null,
  streams: [video()],
  tags: {},
  display,
  warnings: [],
});
const sizes = (display: { width: number; height: number }, rate = { num: 30, den: 1 }): string[] =>
  chooseLadder(probe(display), rate, settings).map((rendition) => `${rendition.name} ${rendition.width}x${rendition.height} ${rendition.maxKbps}k`);

describe('the ladder', () => {
  it('takes every default rung a 1080p source fills, at 16:9 with even sizes', () => {
    expect(sizes({ width: 1920, height: 1080 })).toEqual(['1080p 1920x1080 6000k', '720p 1280x720 3000k', '480p 854x480 1500k', '360p 640x360 800k']);
  });

  it('never upscales: a 720p source starts at 720p, a 4K one stops at 1080p', () => {
    expect(sizes({ width: 1280, height: 720 }).map((size) => size.split(' ')[0])).toEqual(['720p', '480p', '360p']);
    expect(sizes({ width: 3840, height: 2160 })[0]).toBe('1080p 1920x1080 6000k');
  });

  it('keeps the display aspect of anamorphic storage (PAL 720×576 at 16:11 displays 1047×576)', () => {
    expect(sizes({ width: 1047, height: 576 })).toEqual(['480p 872x480 1500k', '360p 654x360 800k']);
  });

  it('turns portrait and rotated sources into portrait renditions, the short side naming the rung', () => {
    expect(sizes({ width: 1080, height: 1920 })).toEqual(['1080p 1080x1920 6000k', '720p 720x1280 3000k', '480p 480x854 1500k', '360p 360x640 800k']);
  });

  it('gives a source smaller than every rung one rendition at its own even size, capped by area', () => {
    // 800k for 360p at the same 4:3 aspect (480×360), scaled to 320×240's area.
    expect(sizes({ width: 320, height: 240 })).toEqual(['240p 320x240 356k']);
    expect(sizes({ width: 175, height: 97 })).toEqual(['96p 174x96 200k']);
  });

  it('gives frame rates above 30 half as much again', () => {
    expect(sizes({ width: 1280, height: 720 }, { num: 60, den: 1 })[0]).toBe('720p 1280x720 4500k');
  });

  it('refuses a video without a picture size', () => {
    expect(() => chooseLadder({ ...probe({ width: 0, height: 0 }), display: undefined }, { num: 30, den: 1 }, settings)).toThrow('no usable picture size');
  });
});

describe('the frame rate', () => {
  it.each([
    ['30/1', 30, false, '30/1'],
    ['30000/1001', 29.97003, false, '30000/1001'],
    ['2997/100 (an MKV rounding) is NTSC', 29.97, false, '30000/1001'],
    ['25/2 stays as stated', 12.5, false, '25/2'],
    ['120 is halved to 60', 120, false, '60/1'],
    ['119.88 is halved to 59.94', 119.88, false, '60000/1001'],
    ['a variable 29.6 average was shot at 30', 29.6, true, '30/1'],
    ['a variable 24 average is 24', 24, true, '24/1'],
    ['a variable 17.3 average rounds to 17', 17.3, true, '17/1'],
  ])('%s', (exact, rate, variable, expected) => {
    const chosen = chooseFrameRate(video({ frameRate: rate, frameRateExact: exact.split(' ')[0], variableFrameRate: variable }), 60);
    expect(`${chosen.num}/${chosen.den}`).toBe(expected);
  });

  it('refuses a stream without one', () => {
    expect(() => chooseFrameRate(video({ frameRate: undefined }), 60)).toThrow('no frame rate');
  });
});

describe('the timeline', () => {
  it('cuts 6 s segments of whole frames with a keyframe every 2 s', () => {
    const timeline = planTimeline(video(), 61, settings);
    expect(timeline).toMatchObject({ framesPerSegment: 180, framesPerKeyframe: 60, totalFrames: 1830, segmentCount: 11, offsetFrames: 30 });
    expect(segmentWindow(timeline, 10)).toEqual({ index: 10, startFrame: 1800, frames: 30 });
    expect(offsetSeconds(timeline)).toBe(1);
  });

  it('keeps 29.97 fps segments under the target: 179 frames (5.97 s), never 180 (6.006 s)', () => {
    const timeline = planTimeline(video({ frameRate: 29.97003, frameRateExact: '30000/1001' }), 60, settings);
    expect(timeline.framesPerSegment).toBe(179);
    expect((timeline.framesPerSegment * 1001) / 30000).toBeLessThanOrEqual(6);
    expect(timeline.offsetFrames).toBe(30);
    expect(offsetSeconds(timeline)).toBeCloseTo(1.001, 9);
  });

  it('makes one short segment of a clip shorter than the target', () => {
    expect(planTimeline(video(), 0.5, settings)).toMatchObject({ totalFrames: 15, segmentCount: 1 });
  });

  it('refuses a video without a duration', () => {
    expect(() => planTimeline(video(), null, settings)).toThrow('no duration');
  });
});
