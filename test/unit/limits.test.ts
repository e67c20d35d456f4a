/** The processing limits: named, permanent refusals from the probe's header facts, the plan's fan-out and the decode. */
import { describe, expect, it } from 'vitest';
import { PermanentError } from '../../shared/errors.ts';
import {
  DEFAULT_LIMITS,
  LIMIT_CEILINGS,
  LIMIT_ENV,
  LimitCode,
  decodeAllowanceSeconds,
  durationMismatch,
  enforceProbeLimits,
  enforceWorkOrderLimit,
  type Limits,
} from '../../shared/domain/limits.ts';
import type { ProbeSummary, StreamSummary } from '../../shared/media/classify.ts';

const probe = (kind: ProbeSummary['kind'], durationSeconds: number | null, streams: StreamSummary[] = []): ProbeSummary => ({
  kind,
  formatName: 'test',
  durationSeconds,
  sizeBytes: 1000,
  bitRate: null,
  streams,
  tags: {},
  warnings: [],
});
const stream = (index: number, type: StreamSummary['type'], codec: string): StreamSummary => ({ index, type, codec, attachedPicture: false });
const video = (index: number, width: number, height: number, extra: { frameCount?: number; attachedPicture?: boolean } = {}): StreamSummary => ({
  ...stream(index, 'video', 'h264'),
  width,
  height,
  ...extra,
});
const audio = (index: number, channels: number | undefined): StreamSummary => ({
  ...stream(index, 'audio', 'aac'),
  ...(channels === undefined ? {} : { channels }),
});

/** The PermanentError `run` throws, or undefined when it returns. */
function refusal(run: () => void): PermanentError | undefined {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(PermanentError);
    return error as PermanentError;
  }
  return undefined;
}

describe('DEFAULT_LIMITS and LIMIT_CEILINGS', () => {
  it('every default lies within [1, ceiling], and every limit has an environment variable', () => {
    for (const key of Object.keys(DEFAULT_LIMITS) as (keyof Limits)[]) {
      expect(DEFAULT_LIMITS[key]).toBeGreaterThanOrEqual(1);
      expect(DEFAULT_LIMITS[key]).toBeLessThanOrEqual(LIMIT_CEILINGS[key]);
      expect(LIMIT_ENV[key]).toMatch(/^MEDIAFLOW_MAX_[A-Z_]+$/);
    }
    expect(Object.keys(LIMIT_ENV).sort()).toEqual(Object.keys(DEFAULT_LIMITS).sort());
    expect(Object.keys(LIMIT_CEILINGS).sort()).toEqual(Object.keys(DEFAULT_LIMITS).sort());
  });

  it('the defaults are the documented policy: 2 h audio, 3 h video, 8K frames, 240 fps over 3 h, 16 channels, 2000 orders', () => {
    expect(DEFAULT_LIMITS).toEqual({
      maxAudioSeconds: 7200,
      maxVideoSeconds: 10_800,
      maxVideoFramePixels: 7680 * 4320,
      maxVideoFrames: 10_800 * 240,
      maxAudioChannels: 16,
      maxWorkOrdersPerAsset: 2000,
    });
  });

  it('the durations and the fan-out cannot be raised past the defaults (a work order would time out)', () => {
    expect(LIMIT_CEILINGS.maxAudioSeconds).toBe(DEFAULT_LIMITS.maxAudioSeconds);
    expect(LIMIT_CEILINGS.maxVideoSeconds).toBe(DEFAULT_LIMITS.maxVideoSeconds);
    expect(LIMIT_CEILINGS.maxWorkOrdersPerAsset).toBe(DEFAULT_LIMITS.maxWorkOrdersPerAsset);
    expect(LIMIT_CEILINGS).toMatchObject({ maxVideoFramePixels: 16384 * 16384, maxVideoFrames: 10_800 * 1000, maxAudioChannels: 64 });
  });

  it('both are frozen', () => {
    expect(Object.isFrozen(DEFAULT_LIMITS)).toBe(true);
    expect(Object.isFrozen(LIMIT_CEILINGS)).toBe(true);
  });
});

describe('enforceProbeLimits', () => {
  const limits = DEFAULT_LIMITS;

  it.each<[string, ProbeSummary]>([
    ['an image, however large its stated duration and frames', probe('image', 1e9, [video(0, 100_000, 100_000, { frameCount: 1e12 }), audio(1, 1000)])],
    ['audio of exactly the audio limit', probe('audio', 7200, [audio(0, 2)])],
    ['video of exactly the video limit (longer than the audio limit)', probe('video', 10_800, [video(0, 1920, 1080), audio(1, 2)])],
    ['audio with no stated duration', probe('audio', null, [audio(0, 2)])],
    ['exactly the channel limit', probe('audio', 60, [audio(0, 16)])],
    ['an audio stream without a channel count', probe('audio', 60, [audio(0, undefined)])],
    ['a frame of exactly 8K UHD', probe('video', 60, [video(0, 7680, 4320)])],
    ['exactly the frame limit', probe('video', 60, [video(0, 1920, 1080, { frameCount: 2_592_000 })])],
    [
      'a 16K cover picture on audio (attached pictures are not video)',
      probe('audio', 60, [audio(0, 2), video(1, 16_000, 16_000, { attachedPicture: true, frameCount: 1e9 })]),
    ],
    ['a video stream missing its width or height', probe('video', 60, [stream(0, 'video', 'h264')])],
    ['subtitle and data streams', probe('video', 60, [video(0, 640, 360), stream(1, 'subtitle', 'mov_text'), stream(2, 'data', 'bin_data')])],
  ])('accepts %s', (_label, summary) => {
    expect(() => enforceProbeLimits(summary, limits)).not.toThrow();
  });

  it.each<[string, ProbeSummary, string, RegExp]>([
    // Both round to 2.0 h, so both are also given to the second.
    [
      'audio one second over its 2 h limit',
      probe('audio', 7201, [audio(0, 2)]),
      LimitCode.AUDIO_TOO_LONG,
      /^the audio lasts 2\.0 h \(7201 s\); the limit is 2\.0 h \(7200 s\)$/,
    ],
    [
      'video 0.25 s over its limit',
      probe('video', 10_800.25, []),
      LimitCode.VIDEO_TOO_LONG,
      /^the video lasts 3\.0 h \(10800\.25 s\); the limit is 3\.0 h \(10800 s\)$/,
    ],
    // 2.5 h is within the video limit but not the audio one: the kind picks the limit.
    ['audio of 2.5 h', probe('audio', 9000, []), LimitCode.AUDIO_TOO_LONG, /^the audio lasts 2\.5 h; the limit is 2\.0 h$/],
    ['video of 4 h', probe('video', 14_400, [video(0, 1920, 1080)]), LimitCode.VIDEO_TOO_LONG, /^the video lasts 4\.0 h; the limit is 3\.0 h$/],
    ['video of 3 days', probe('video', 3 * 86_400, []), LimitCode.VIDEO_TOO_LONG, /^the video lasts 3\.0 days; the limit is 3\.0 h$/],
    ['17 channels', probe('audio', 60, [audio(0, 2), audio(3, 17)]), LimitCode.TOO_MANY_CHANNELS, /^audio stream 3 has 17 channels; the limit is 16$/],
    [
      'a channel-heavy audio stream in a video',
      probe('video', 60, [video(0, 640, 360), audio(1, 24)]),
      LimitCode.TOO_MANY_CHANNELS,
      /^audio stream 1 has 24 channels/,
    ],
    [
      'frames one pixel row past 8K',
      probe('video', 60, [video(0, 7680, 4321)]),
      LimitCode.VIDEO_TOO_LARGE,
      /^video frames are 7680×4321 \(33\.2 Mpx\); the limit is 33\.2 Mpx$/,
    ],
    [
      '16K frames',
      probe('video', 60, [video(0, 15_360, 8640)]),
      LimitCode.VIDEO_TOO_LARGE,
      /^video frames are 15360×8640 \(132\.7 Mpx\); the limit is 33\.2 Mpx$/,
    ],
    [
      'one frame past the frame limit',
      probe('video', 60, [video(0, 1920, 1080, { frameCount: 2_592_001 })]),
      LimitCode.TOO_MANY_FRAMES,
      /^video stream 0 has 2592001 frames; the limit is 2592000$/,
    ],
    [
      'a huge second video stream that is not a cover',
      probe('video', 60, [video(0, 640, 360), video(1, 20_000, 20_000)]),
      LimitCode.VIDEO_TOO_LARGE,
      /20000×20000/,
    ],
  ])('refuses %s', (_label, summary, code, message) => {
    const error = refusal(() => enforceProbeLimits(summary, limits));
    expect(error?.code).toBe(code);
    expect(error?.message).toMatch(message);
  });

  it('the duration is checked before the streams: a long, wide, many-channel video is VIDEO_TOO_LONG', () => {
    const error = refusal(() => enforceProbeLimits(probe('video', 20_000, [audio(0, 64), video(1, 20_000, 20_000)]), limits));
    expect(error?.code).toBe(LimitCode.VIDEO_TOO_LONG);
  });

  it('streams are checked in order, the first broken limit wins', () => {
    expect(refusal(() => enforceProbeLimits(probe('video', 60, [audio(0, 64), video(1, 20_000, 20_000)]), limits))?.code).toBe(LimitCode.TOO_MANY_CHANNELS);
    expect(refusal(() => enforceProbeLimits(probe('video', 60, [video(0, 20_000, 20_000, { frameCount: 1e9 }), audio(1, 64)]), limits))?.code).toBe(
      LimitCode.VIDEO_TOO_LARGE,
    );
  });

  it('applies lowered limits from config', () => {
    const lowered: Limits = {
      ...DEFAULT_LIMITS,
      maxAudioSeconds: 60,
      maxVideoSeconds: 30,
      maxAudioChannels: 2,
      maxVideoFramePixels: 1920 * 1080,
      maxVideoFrames: 100,
    };
    expect(refusal(() => enforceProbeLimits(probe('audio', 61, []), lowered))?.message).toBe('the audio lasts 61 s; the limit is 60 s');
    expect(refusal(() => enforceProbeLimits(probe('video', 30.5, []), lowered))?.message).toBe('the video lasts 30.5 s; the limit is 30 s');
    expect(refusal(() => enforceProbeLimits(probe('audio', 10, [audio(0, 6)]), lowered))?.code).toBe(LimitCode.TOO_MANY_CHANNELS);
    expect(refusal(() => enforceProbeLimits(probe('video', 10, [video(0, 2560, 1440)]), lowered))?.message).toBe(
      'video frames are 2560×1440 (3.7 Mpx); the limit is 2.1 Mpx',
    );
    expect(refusal(() => enforceProbeLimits(probe('video', 10, [video(0, 640, 360, { frameCount: 101 })]), lowered))?.code).toBe(LimitCode.TOO_MANY_FRAMES);
    expect(() => enforceProbeLimits(probe('audio', 60, [audio(0, 2)]), lowered)).not.toThrow();
  });

  it.each([
    [150, '2.5 min'],
    [5400, '90.0 min'],
  ])('describes a duration of %d s as %s', (seconds, words) => {
    const lowered: Limits = { ...DEFAULT_LIMITS, maxAudioSeconds: 100 };
    expect(refusal(() => enforceProbeLimits(probe('audio', seconds, []), lowered))?.message).toBe(`the audio lasts ${words}; the limit is 100 s`);
  });

  it('never states an over-limit duration in the same words as the limit', () => {
    // 3 h and one minute is over the limit; "lasts 3.0 h; the limit is 3.0 h" would read as a refusal of an allowed file.
    for (const [kind, seconds] of [
      ['video', 10_800 + 60],
      ['audio', 7200 + 60],
    ] as const) {
      const message = refusal(() => enforceProbeLimits(probe(kind, seconds, []), DEFAULT_LIMITS))?.message ?? '';
      const [, lasts, limit] = /lasts (.+); the limit is (.+)$/.exec(message) ?? [];
      expect(lasts, message).toBeDefined();
      expect(lasts, message).not.toBe(limit);
    }
  });
});

describe('enforceWorkOrderLimit', () => {
  const limits: Limits = { ...DEFAULT_LIMITS, maxWorkOrdersPerAsset: 100 };

  it.each([
    ['no steps', []],
    [
      'exactly the limit over several steps',
      [
        ['a', 40],
        ['b', 59],
        ['c', 1],
      ],
    ],
    ['one step of exactly the limit', [['segments', 100]]],
  ] as [string, [string, number][]][])('allows %s', (_label, entries) => {
    expect(() => enforceWorkOrderLimit(new Map(entries), limits)).not.toThrow();
  });

  it('refuses one order past the limit, naming the total and the widest step (not the first or the last)', () => {
    const error = refusal(() =>
      enforceWorkOrderLimit(
        new Map([
          ['thumbnail', 1],
          ['segments', 90],
          ['audio', 10],
        ]),
        limits,
      ),
    );
    expect(error?.code).toBe(LimitCode.TOO_MANY_WORK_ORDERS);
    expect(error?.message).toBe('the plan needs 101 work orders (90 for segments); the limit is 100 per asset');
  });

  it('a tie for widest names the first registered', () => {
    const error = refusal(() =>
      enforceWorkOrderLimit(
        new Map([
          ['a', 1],
          ['b', 60],
          ['c', 60],
        ]),
        limits,
      ),
    );
    expect(error?.message).toContain('(60 for b)');
  });

  it('the default allows three hours of 6 s segments plus the rest of the plan', () => {
    expect(() =>
      enforceWorkOrderLimit(
        new Map([
          ['hls-segment', 1800],
          ['probe-like', 1],
          ['audio', 1],
          ['package', 1],
        ]),
        DEFAULT_LIMITS,
      ),
    ).not.toThrow();
    expect(refusal(() => enforceWorkOrderLimit(new Map([['hls-segment', 2001]]), DEFAULT_LIMITS))?.code).toBe(LimitCode.TOO_MANY_WORK_ORDERS);
  });
});

describe('decodeAllowanceSeconds', () => {
  it.each([
    [null, 7200, 7200],
    [0, 7200, 7200],
    [-5, 7200, 7200],
    [Number.NaN, 7200, 7200],
    [1, 7200, 62],
    [0.5, 7200, 61],
    [600, 7200, 1260],
    [3570, 7200, 7200], // 2 × 3570 + 60 = 7200: exactly the limit
    [3571, 7200, 7200], // would be 7202: capped
    [7200, 7200, 7200],
    [1e9, 7200, 7200], // a header claiming more than the limit still stops at the limit
  ])('stated %s s with a %s s limit allows %s s', (stated, limit, allowance) => {
    expect(decodeAllowanceSeconds(stated, limit)).toBe(allowance);
  });
});

describe('durationMismatch', () => {
  it('a decode that reached a below-limit allowance is DURATION_MISMATCH: the header lied', () => {
    const error = durationMismatch(10, decodeAllowanceSeconds(10, 7200), 7200);
    expect(error).toBeInstanceOf(PermanentError);
    expect(error.code).toBe(LimitCode.DURATION_MISMATCH);
    expect(error.message).toBe('the header says 10 s but the audio holds more than 80 s; decoding stopped there');
  });

  it('a decode that reached the limit itself is AUDIO_TOO_LONG, quoting the header when there is one', () => {
    const stated = durationMismatch(5000, decodeAllowanceSeconds(5000, 7200), 7200);
    expect(stated.code).toBe(LimitCode.AUDIO_TOO_LONG);
    expect(stated.message).toBe('the audio holds more than 2.0 h of samples, the limit (its header says 83.3 min)');
    const unstated = durationMismatch(null, decodeAllowanceSeconds(null, 7200), 7200);
    expect(unstated.code).toBe(LimitCode.AUDIO_TOO_LONG);
    expect(unstated.message).toBe('the audio holds more than 2.0 h of samples, the limit');
  });

  it.each([
    [100, 260, 7200, LimitCode.DURATION_MISMATCH],
    [3569, 7198, 7200, LimitCode.DURATION_MISMATCH],
    [3570, 7200, 7200, LimitCode.AUDIO_TOO_LONG],
    [0, 7200, 7200, LimitCode.AUDIO_TOO_LONG],
  ])('stated %s s, allowance %s s, limit %s s: %s', (stated, allowance, limit, code) => {
    expect(durationMismatch(stated, allowance, limit).code).toBe(code);
  });

  it('AUDIO_TOO_LONG from a decode makes the asset REJECTED like the probe-time refusal; DURATION_MISMATCH is its own code', async () => {
    const { rejectionCodes } = await import('../../shared/domain/state-machine.ts');
    expect(rejectionCodes.has(LimitCode.AUDIO_TOO_LONG)).toBe(true);
    for (const code of [LimitCode.VIDEO_TOO_LONG, LimitCode.VIDEO_TOO_LARGE, LimitCode.TOO_MANY_FRAMES, LimitCode.TOO_MANY_CHANNELS])
      expect(rejectionCodes.has(code)).toBe(true);
  });
});
