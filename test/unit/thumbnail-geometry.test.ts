/**
 * The thumbnail step's pure rules: which sizes a source gets, storyboard layout and WebVTT, poster frame ranking,
 * ffmpeg's display filter chain, pixel-budget wording and profile resolution.
 */
import { describe, expect, it } from 'vitest';
import { assertWithinBudget, classifySharpError, formatPixels } from '../../functions/thumbnail/errors.ts';
import { displayFilters } from '../../functions/thumbnail/ffmpeg.ts';
import { BLACK_MEAN, frameStats, isUsable, rankCandidates } from '../../functions/thumbnail/frames.ts';
import type { VideoParams } from '../../functions/thumbnail/plan.ts';
import { resolveProfile, thumbnailProfiles } from '../../functions/thumbnail/profiles.ts';
import { fitLongEdge, targetSizes } from '../../functions/thumbnail/sizes.ts';
import { composeSheets, planStoryboard, timestamp, webvtt } from '../../functions/thumbnail/storyboard.ts';
import { PermanentError } from '../../shared/errors.ts';

const DEFAULT_SIZES = [160, 320, 640, 1280, 2048];

describe('target sizes', () => {
  it.each([
    ['a 12 MP photo gets every size', { width: 4000, height: 3000 }, [2048, 1280, 640, 320, 160]],
    ['a 1000 px image is never upscaled and keeps its own size as the largest', { width: 1000, height: 750 }, [1000, 640, 320, 160]],
    ['an image exactly at a size gets it once', { width: 1280, height: 720 }, [1280, 640, 320, 160]],
    ['a portrait image is sized by its long edge', { width: 900, height: 1600 }, [1600, 1280, 640, 320, 160]],
    ['an icon smaller than the smallest size gets only its own', { width: 100, height: 80 }, [100]],
  ])('%s', (_name, source, expected) => {
    expect(targetSizes(DEFAULT_SIZES, source)).toEqual(expected);
  });

  it('computes each size from the source, at least a pixel across, for panoramas too', () => {
    expect(fitLongEdge({ width: 4000, height: 3000 }, 2048)).toEqual({ width: 2048, height: 1536 });
    expect(fitLongEdge({ width: 3000, height: 4000 }, 160)).toEqual({ width: 120, height: 160 });
    expect(fitLongEdge({ width: 16000, height: 1000 }, 160)).toEqual({ width: 160, height: 10 });
    expect(fitLongEdge({ width: 65000, height: 100 }, 160)).toEqual({ width: 160, height: 1 });
  });
});

describe('pixel budget', () => {
  it('refuses in words a person can act on', () => {
    expect(() => assertWithinBudget(62_000, 62_000, 1, 268_402_689)).toThrow('62000×62000 = 3.8 Gpx exceeds the 268 Mpx budget');
    expect(() => assertWithinBudget(1920, 1080, 200, 50_000_000)).toThrow('1920×1080 × 200 frames = 415 Mpx exceeds the 50 Mpx budget');
    expect(() => assertWithinBudget(16_384, 16_384, 1, 268_435_456)).not.toThrow();
    expect(formatPixels(2_073_600)).toBe('2.1 Mpx');
  });

  it('makes decoder failures permanent and leaves machine failures transient', () => {
    const cases: [string, string | undefined][] = [
      ['Input file contains unsupported image format', 'UNSUPPORTED_MEDIA'],
      ['VipsJpeg: Premature end of input file', 'CORRUPT_MEDIA'],
      ['pngload: libpng read error', 'CORRUPT_MEDIA'],
      ['Input image exceeds pixel limit', 'IMAGE_TOO_LARGE'],
      ['vips_malloc: out of memory', undefined],
      ['timeout: 12% complete', undefined],
    ];
    for (const [message, code] of cases) {
      const classified = classifySharpError(new Error(message));
      expect(classified instanceof PermanentError ? classified.code : undefined, message).toBe(code);
    }
  });
});

describe('profiles', () => {
  it('falls back to the default for unknown names, including ones that look like Object properties', () => {
    expect(resolveProfile('no-such-profile')).toBe(thumbnailProfiles.default);
    expect(resolveProfile('constructor')).toBe(thumbnailProfiles.default);
    expect(resolveProfile('avatar').sizes).toEqual([64, 128, 256, 512]);
  });

  it('every profile is one the encoders and WebP (16383 px) can honour', () => {
    for (const [name, profile] of Object.entries(thumbnailProfiles)) {
      expect(
        profile.sizes.every((size) => Number.isInteger(size) && size > 0 && size <= 8192),
        name,
      ).toBe(true);
      expect(profile.formats.length, name).toBeGreaterThan(0);
      expect(profile.background, name).toMatch(/^#[0-9a-f]{6}$/i);
    }
  });
});

describe('storyboard', () => {
  const settings = thumbnailProfiles.default!.storyboard;

  it('spaces tiles by at least the minimum interval and caps long videos at maxTiles', () => {
    expect(planStoryboard(9, { width: 320, height: 180 }, settings)).toEqual({
      intervalSeconds: 1,
      tiles: 9,
      tile: { width: 160, height: 90 },
      keyframesOnly: false,
    });
    expect(planStoryboard(7200, { width: 1920, height: 1080 }, settings)).toMatchObject({ intervalSeconds: 72, tiles: 100, keyframesOnly: true });
    expect(planStoryboard(60, { width: 1080, height: 1920 }, settings).tile).toEqual({ width: 90, height: 160 });
    expect(planStoryboard(3, { width: 100, height: 50 }, settings).tile).toEqual({ width: 100, height: 50 });
  });

  it('packs tiles row by row into sheets and points each cue at its tile', () => {
    const tile = { width: 2, height: 1 };
    const tiles = Buffer.from(Array.from({ length: 5 }, (_, index) => Array<number>(6).fill(index + 1)).flat());
    const sheets = composeSheets(tiles, 5, tile, { columns: 2, rowsPerSheet: 2 });
    expect(sheets.map((sheet) => [sheet.width, sheet.height])).toEqual([
      [4, 2],
      [2, 1],
    ]);
    expect([...sheets[0]!.data]).toEqual([1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 4, 4, 4, 4, 4, 4]);

    const vtt = webvtt(5, 2, 9.5, tile, { columns: 2, rowsPerSheet: 2 }, (sheet) => `s${sheet}.jpg`);
    expect(vtt.split('\n')).toEqual([
      'WEBVTT',
      '',
      '00:00:00.000 --> 00:00:02.000',
      's0.jpg#xywh=0,0,2,1',
      '',
      '00:00:02.000 --> 00:00:04.000',
      's0.jpg#xywh=2,0,2,1',
      '',
      '00:00:04.000 --> 00:00:06.000',
      's0.jpg#xywh=0,1,2,1',
      '',
      '00:00:06.000 --> 00:00:08.000',
      's0.jpg#xywh=2,1,2,1',
      '',
      '00:00:08.000 --> 00:00:09.500',
      's1.jpg#xywh=0,0,2,1',
      '',
    ]);
    expect(timestamp(3723.456)).toBe('01:02:03.456');
  });
});

describe('poster frames', () => {
  const flat = (value: number, pixels = 64): Uint8Array => new Uint8Array(pixels * 3).fill(value);
  const detailed = (low: number, high: number): Uint8Array => Uint8Array.from({ length: 64 * 3 }, (_, i) => low + ((Math.floor(i / 3) * 37) % (high - low)));

  it('rejects black, white and flat frames', () => {
    expect(isUsable(frameStats(flat(0)))).toBe(false);
    expect(isUsable(frameStats(flat(250)))).toBe(false);
    expect(isUsable(frameStats(flat(128)))).toBe(false);
    expect(isUsable(frameStats(detailed(0, 255)))).toBe(true);
    expect(frameStats(flat(10)).mean).toBeLessThan(BLACK_MEAN);
  });

  it('prefers detailed frames inside the video over fades, black and the intro', () => {
    const candidate = (timeSeconds: number, frame: Uint8Array) => ({ timeSeconds, stats: frameStats(frame) });
    const ranked = rankCandidates(
      [
        candidate(0.1, detailed(0, 255)), // the intro: detailed, but in the first 5%
        candidate(3, flat(0)),
        candidate(4, detailed(10, 60)), // half-way through a fade: dark and compressed
        candidate(5, detailed(0, 255)),
        candidate(9.9, flat(0)),
      ],
      10,
    );
    expect(ranked.map((c) => c.timeSeconds)).toEqual([5, 4, 3]);
    // With nothing usable inside, the edges are allowed back in.
    expect(rankCandidates([candidate(0.1, detailed(0, 255)), candidate(5, flat(0))], 10)[0]!.timeSeconds).toBe(0.1);
  });
});

describe('display filters', () => {
  const video = (overrides: Partial<VideoParams>): VideoParams => ({
    streamIndex: 0,
    durationSeconds: 10,
    width: 1920,
    height: 1080,
    rotation: 0,
    colorSpace: null,
    colorTransfer: null,
    colorPrimaries: null,
    ...overrides,
  });

  it('scales to the display size, which applies the sample aspect ratio, with the stream matrix or an HD/SD guess', () => {
    expect(displayFilters(video({ width: 853, height: 480 }), { width: 853, height: 480 })[0]).toContain('scale=w=853:h=480:');
    expect(displayFilters(video({ colorSpace: 'smpte170m' }), { width: 160, height: 90 })[0]).toContain('in_color_matrix=bt601');
    expect(displayFilters(video({}), { width: 160, height: 90 })[0]).toContain('in_color_matrix=bt709');
    expect(displayFilters(video({ width: 640, height: 480 }), { width: 160, height: 120 })[0]).toContain('in_color_matrix=bt601');
  });

  it('rotates after scaling the stored frame, and tone-maps PQ and HLG first', () => {
    const turned = displayFilters(video({ width: 1080, height: 1920, rotation: 90 }), { width: 90, height: 160 });
    expect(turned[0]).toContain('scale=w=160:h=90:');
    expect(turned.at(-1)).toBe('transpose=clock');
    expect(displayFilters(video({ rotation: 270 }), { width: 160, height: 90 }).at(-1)).toBe('transpose=cclock');
    expect(displayFilters(video({ rotation: 180 }), { width: 160, height: 90 }).slice(-2)).toEqual(['hflip', 'vflip']);
    const hdr = displayFilters(video({ colorTransfer: 'arib-std-b67', colorSpace: 'bt2020nc', colorPrimaries: 'bt2020' }), { width: 160, height: 90 });
    expect(hdr[0]).toBe('zscale=tin=arib-std-b67:min=bt2020nc:pin=bt2020:t=linear:npl=100');
    expect(hdr).toContain('tonemap=tonemap=hable:desat=0');
    expect(hdr.find((filter) => filter.startsWith('scale='))).toContain('in_color_matrix=bt709');
  });
});
