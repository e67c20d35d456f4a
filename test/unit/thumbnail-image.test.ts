/**
 * The image pipeline on real files, with real sharp and ffmpeg: orientation, colour management, alpha, bit depth,
 * grey, animation, panoramas, metadata stripping, bombs and broken files. Outputs are decoded and checked pixel by
 * pixel where it matters.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readExifBasics } from '../../functions/thumbnail/exif.ts';
import { renderImage, type ImageRender } from '../../functions/thumbnail/image.ts';
import { imageOutputs } from '../../functions/thumbnail/outputs.ts';
import { thumbnailProfiles, type ThumbnailProfile } from '../../functions/thumbnail/profiles.ts';
import type { EncodedRendition } from '../../functions/thumbnail/renditions.ts';
import { sharp } from '../../functions/thumbnail/sharp.ts';
import { animatedGif, jpegImage, pngWithAlpha } from '../../scripts/sample-media/sample-media.ts';
import * as images from '../../scripts/sample-media/sample-images.ts';
import { PermanentError } from '../../shared/errors.ts';
import { resolveMediaTools } from '../../shared/media/tools.ts';

const defaults = thumbnailProfiles.default!;
/** The default encoders at small sizes: fast, and every format still goes through its real encoder. */
const small: ThumbnailProfile = { ...defaults, sizes: [24, 48, 96] };
let dir: string;
let scratch: string;
let tools: ReturnType<typeof resolveMediaTools> | undefined;
const context = () => ({
  mediaTools: () => (tools ??= resolveMediaTools({ PATH: process.env.PATH })),
  scratchDir: scratch,
  signal: new AbortController().signal,
});
const file = (name: string) => path.join(dir, name);

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'thumbnail-image-'));
  scratch = await mkdtemp(path.join(os.tmpdir(), 'thumbnail-scratch-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await rm(scratch, { recursive: true, force: true });
});

function rendition(render: ImageRender, format: string, size?: number): EncodedRendition {
  const found = render.stills.renditions.find((r) => r.format === format && (size === undefined || r.size === size));
  if (!found) throw new Error(`no ${format} rendition${size ? ` at ${size}` : ''}`);
  return found;
}

/** Decoded RGBA pixel at a fraction of the width and height. */
async function pixel(data: Buffer, fx: number, fy: number): Promise<number[]> {
  const { data: raw, info } = await sharp(data).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  const at = (Math.floor(fy * info.height) * info.width + Math.floor(fx * info.width)) * 4;
  return [...raw.subarray(at, at + 4)];
}

function near(actual: number[], expected: readonly number[], tolerance: number): boolean {
  return expected.every((value, index) => Math.abs(actual[index]! - value) <= tolerance);
}

describe('EXIF orientation (EXIF 2.32, tag 0x0112)', () => {
  it.each([1, 2, 3, 4, 5, 6, 7, 8])('orientation %i is applied: every output shows the picture upright', async (orientation) => {
    const source = await images.orientedJpeg('ffmpeg', file(`oriented-${orientation}.jpg`), { orientation });
    const render = await renderImage(source, { ...small, sizes: [48] }, context());
    expect(render.facts).toMatchObject({ orientation, display: { width: 64, height: 48 } });
    for (const output of render.stills.renditions) {
      expect([output.width, output.height]).toEqual([48, 36]);
      const meta = await sharp(output.data).metadata();
      expect([meta.width, meta.height, meta.orientation]).toEqual([48, 36, undefined]);
      const quadrants = await Promise.all(
        [
          [0.25, 0.25],
          [0.75, 0.25],
          [0.25, 0.75],
          [0.75, 0.75],
        ].map(([x, y]) => pixel(output.data, x!, y!)),
      );
      quadrants.forEach((colour, index) =>
        expect(near(colour, images.QUADRANTS[index]!, 48), `${output.format} quadrant ${index}: ${colour.join(',')}`).toBe(true),
      );
    }
  });
});

describe('colour', () => {
  it('converts a Display P3 source to untagged sRGB: in-gamut colours exact, out-of-gamut clipped, recorded as wide gamut', async () => {
    // P3 (187,106,63) is sRGB (200,100,50); P3's pure green lies outside sRGB.
    const inGamut = await renderImage(await images.iccTaggedPng('ffmpeg', file('p3.png'), { profile: 'p3', rgb: [187, 106, 63] }), small, context());
    const outside = await renderImage(await images.iccTaggedPng('ffmpeg', file('p3-green.png'), { profile: 'p3', rgb: [0, 255, 0] }), small, context());
    expect(inGamut.facts.icc).toMatchObject({ wideGamut: true });
    for (const output of inGamut.stills.renditions) {
      const meta = await sharp(output.data).metadata();
      expect([meta.space, meta.hasProfile], output.format).toEqual(['srgb', false]);
      expect(near(await pixel(output.data, 0.5, 0.5), [200, 100, 50], 4), output.format).toBe(true);
    }
    expect(near(await pixel(rendition(outside, 'webp').data, 0.5, 0.5), [0, 255, 0], 6)).toBe(true);
  });

  it('converts 16-bit sources with and without a profile correctly (sharp 0.35 alone leaves P3 numbers in tagged ones)', async () => {
    const tagged = await renderImage(
      await images.iccTaggedPng('ffmpeg', file('srgb16.png'), { profile: 'srgb', rgb: [200, 100, 50], bitDepth: 16 }),
      small,
      context(),
    );
    const p3 = await renderImage(
      await images.iccTaggedPng('ffmpeg', file('p3-16.png'), { profile: 'p3', rgb: [187, 106, 63], bitDepth: 16 }),
      small,
      context(),
    );
    expect(tagged.facts).toMatchObject({ space: 'rgb16', bitDepth: 16 });
    for (const render of [tagged, p3]) {
      const jpeg = rendition(render, 'jpeg');
      expect((await sharp(jpeg.data).metadata()).depth).toBe('uchar');
      expect(near(await pixel(jpeg.data, 0.5, 0.5), [200, 100, 50], 4), (await pixel(jpeg.data, 0.5, 0.5)).join(',')).toBe(true);
    }
    const rgb48 = await renderImage(await images.pngImage('ffmpeg', file('rgb48.png'), { pixelFormat: 'rgb48be' }), small, context());
    const rgb24 = await renderImage(await images.pngImage('ffmpeg', file('rgb24.png'), { pixelFormat: 'rgb24' }), small, context());
    const stats = async (render: ImageRender) => (await sharp(rendition(render, 'webp').data).stats()).channels.map((channel) => channel.mean);
    const [deep, shallow] = await Promise.all([stats(rgb48), stats(rgb24)]);
    deep.forEach((mean, index) => expect(Math.abs(mean - shallow[index]!)).toBeLessThan(1.5));
  });

  it('converts CMYK to three-channel sRGB', async () => {
    const render = await renderImage(await images.cmykJpeg('ffmpeg', file('cmyk.jpg'), { rgb: [220, 30, 40] }), small, context());
    expect(render.facts.space).toBe('cmyk');
    for (const output of render.stills.renditions) {
      const meta = await sharp(output.data).metadata();
      expect([meta.space, meta.channels], output.format).toEqual(['srgb', 3]);
      const [r, g, b] = await pixel(output.data, 0.5, 0.5);
      expect(r! > 180 && g! < 80 && b! < 80, `${output.format}: ${r},${g},${b}`).toBe(true);
    }
  });

  it('keeps grey images grey: one-channel JPEG, neutral WebP and AVIF, from 8- and 16-bit', async () => {
    for (const pixelFormat of ['gray', 'gray16be']) {
      const render = await renderImage(await images.pngImage('ffmpeg', file(`${pixelFormat}.png`), { pixelFormat }), small, context());
      const jpeg = await sharp(rendition(render, 'jpeg').data).metadata();
      expect([jpeg.space, jpeg.channels, jpeg.depth]).toEqual(['b-w', 1, 'uchar']);
      for (const format of ['webp', 'avif']) {
        const [r, g, b] = await pixel(rendition(render, format).data, 0.3, 0.6);
        expect(Math.max(r!, g!, b!) - Math.min(r!, g!, b!), `${pixelFormat} ${format}`).toBeLessThanOrEqual(3);
      }
    }
  });
});

describe('alpha', () => {
  it('keeps alpha in WebP and AVIF and flattens JPEG onto the profile background', async () => {
    const render = await renderImage(await pngWithAlpha('ffmpeg', file('alpha.png')), small, context());
    expect(render.stills.transparent).toBe(true);
    for (const format of ['webp', 'avif']) {
      const output = rendition(render, format, 96);
      expect((await sharp(output.data).metadata()).hasAlpha, format).toBe(true);
      expect((await pixel(output.data, 0, 0.5))[3], format).toBeLessThan(16);
      expect((await pixel(output.data, 0.99, 0.5))[3], format).toBeGreaterThan(240);
    }
    const jpeg = rendition(render, 'jpeg', 96);
    expect((await sharp(jpeg.data).metadata()).hasAlpha).toBe(false);
    expect(near(await pixel(jpeg.data, 0, 0.5), [255, 255, 255, 255], 12)).toBe(true);
  });

  it('drops an alpha channel that is opaque everywhere', async () => {
    const render = await renderImage(await images.pngImage('ffmpeg', file('rgba.png'), { pixelFormat: 'rgba' }), small, context());
    expect([render.facts.hasAlpha, render.stills.transparent]).toEqual([true, false]);
    expect((await sharp(rendition(render, 'webp').data).metadata()).hasAlpha).toBe(false);
  });
});

describe('animation', () => {
  it.each([
    ['GIF', (out: string) => animatedGif('ffmpeg', out, { width: 160, height: 120, frames: 10 })],
    ['WebP', (out: string) => images.animatedWebp('ffmpeg', out, { width: 160, height: 120, frames: 10 })],
  ])('an animated %s gives an animated WebP with its timing, plus still renditions of the first frame', async (kind, make) => {
    const source = await make(file(`animated.${kind.toLowerCase()}`));
    const render = await renderImage(source, { ...small, animation: { ...defaults.animation!, sizes: [64, 320] } }, context());
    expect(render.facts.frames).toBe(10);
    expect(render.animated.map((a) => [a.width, a.height])).toEqual([
      [160, 120],
      [64, 48],
    ]);
    for (const animation of render.animated) {
      const meta = await sharp(animation.data).metadata();
      expect([meta.format, meta.pages, meta.loop, meta.delay?.[0]]).toEqual(['webp', 10, 0, 100]);
    }
    const still = await sharp(rendition(render, 'webp').data).metadata();
    expect(still.pages ?? 1).toBe(1);
  });

  it('renders only the stills when every frame together is over the budget', async () => {
    const source = await animatedGif('ffmpeg', file('long.gif'), { width: 160, height: 120, frames: 10 });
    const render = await renderImage(source, { ...small, maxInputPixels: 100_000 }, context());
    expect(render.animated).toEqual([]);
    expect(render.animationSkipped).toBe('160×120 × 10 frames = 0.2 Mpx exceeds the 0.1 Mpx budget');
    expect(render.stills.renditions.length).toBeGreaterThan(0);
  });
});

describe('large and hostile inputs', () => {
  it('renders a 16000×1000 panorama at every size, down to 160×10', async () => {
    const source = await jpegImage('ffmpeg', file('panorama.jpg'), { width: 16_000, height: 1000 });
    const render = await renderImage(source, { ...defaults, formats: [{ format: 'webp', quality: 75, effort: 2 }] }, context());
    expect(render.stills.renditions.map((r) => [r.width, r.height])).toEqual([
      [2048, 128],
      [1280, 80],
      [640, 40],
      [320, 20],
      [160, 10],
    ]);
    for (const output of render.stills.renditions) {
      const meta = await sharp(output.data).metadata();
      expect([meta.width, meta.height]).toEqual([output.width, output.height]);
    }
  });

  it('rejects a 3.8 Gpx decompression bomb within a second, from its header, in readable words', async () => {
    const source = await images.pngBomb('ffmpeg', file('bomb.png'), { width: 62_000, height: 62_000 });
    const rssBefore = process.memoryUsage().rss;
    const started = performance.now();
    const error = await renderImage(source, defaults, context()).catch((caught: unknown) => caught);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(64 * 2 ** 20);
    expect(error).toBeInstanceOf(PermanentError);
    expect(error).toMatchObject({ code: 'IMAGE_TOO_LARGE', message: '62000×62000 = 3.8 Gpx exceeds the 268 Mpx budget' });
  });

  it('turns broken and foreign files into permanent errors, and reads BMP through ffmpeg', async () => {
    const png = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#336699' } })
      .png({ compressionLevel: 0 })
      .toBuffer();
    png.fill(0xaa, 60, 200); // inside IDAT: the zlib stream and the chunk CRC no longer match
    await writeFile(file('broken.png'), png);
    await expect(renderImage(file('broken.png'), small, context())).rejects.toMatchObject({ code: 'CORRUPT_MEDIA' });

    await writeFile(file('notes.jpg'), 'just some text\n'.repeat(50));
    await expect(renderImage(file('notes.jpg'), small, context())).rejects.toBeInstanceOf(PermanentError);

    const bmp = await renderImage(await images.bmpImage('ffmpeg', file('image.bmp')), small, context());
    expect([bmp.viaFfmpeg, bmp.facts.format, rendition(bmp, 'avif', 96).width]).toEqual([true, 'bmp', 96]);
  });
});

describe('metadata', () => {
  it('records EXIF basics and strips every tag from the outputs; the rights profile writes back only Artist and Copyright', async () => {
    const source = await images.cameraJpeg('ffmpeg', file('camera.jpg'), { width: 96, height: 64 });
    const stripped = await renderImage(source, small, context());
    expect(stripped.facts.exif).toMatchObject({ make: 'Acme Optics', model: 'Acme X100', capturedAt: '2024-05-01T12:34:56+02:00' });
    for (const output of stripped.stills.renditions) {
      const meta = await sharp(output.data).metadata();
      expect([meta.exif, meta.xmp, meta.iptc, meta.icc], output.format).toEqual([undefined, undefined, undefined, undefined]);
    }
    const rights = await renderImage(source, { ...small, exif: 'rights' }, context());
    for (const output of rights.stills.renditions) {
      const exif = (await sharp(output.data).metadata()).exif;
      expect(await readExifBasics(exif), output.format).toMatchObject({
        artist: 'Ada Lovelace',
        copyright: '(C) 2024 Ada Lovelace',
        make: null,
        model: null,
        capturedAt: null,
      });
      expect(exif?.includes('GPS') || exif?.includes(Buffer.from('Acme Optics')), output.format).toBe(false);
    }
  });

  it('keeps the GPS position of the source out of the recorded outputs', async () => {
    const render = await renderImage(await images.cameraJpeg('ffmpeg', file('gps.jpg'), { width: 96, height: 64 }), small, context());
    const outputs = JSON.stringify(imageOutputs('image', render, { blurhash: '', lqip: '', dominantColour: null }, []));
    expect(outputs).toContain('Acme Optics');
    expect(outputs).not.toMatch(/51\.5|26\.46|39\.6|GPS|latitude|longitude/);
  });
});
