/**
 * What the thumbnail step reads and records: EXIF basics (never GPS), ICC profile names and gamut, placeholders,
 * and the work order params planning derives from the probe (validated against their schema).
 */
import exifr from 'exifr';
import { describe, expect, it } from 'vitest';
import { EventValidator, workOrderType } from '../../events/catalog.ts';
import { encodeBlurhash } from '../../functions/thumbnail/blurhash.ts';
import { EXIFR_OPTIONS, readExifBasics } from '../../functions/thumbnail/exif.ts';
import { readIcc } from '../../functions/thumbnail/icc.ts';
import { dominantColour, makePlaceholder } from '../../functions/thumbnail/placeholder.ts';
import { planThumbnail } from '../../functions/thumbnail/plan.ts';
import { sharp } from '../../functions/thumbnail/sharp.ts';
import { thumbnailStep } from '../../functions/thumbnail/step.ts';
import { CAMERA_EXIF } from '../../scripts/sample-media/sample-images.ts';
import type { AssetSource } from '../../shared/domain/asset.ts';
import type { PlanContext } from '../../shared/domain/step.ts';
import type { ProbeSummary, StreamSummary } from '../../shared/media/classify.ts';

describe('EXIF basics', () => {
  it('reads camera, lens, capture time and exposure, and never the GPS IFD', async () => {
    const jpeg = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#808080' } })
      .withExif({ IFD0: { ...CAMERA_EXIF.IFD0 }, IFD2: { ...CAMERA_EXIF.IFD2 }, IFD3: { ...CAMERA_EXIF.IFD3 } })
      .jpeg()
      .toBuffer();
    const basics = await readExifBasics((await sharp(jpeg).metadata()).exif);
    expect(basics).toEqual({
      make: 'Acme Optics',
      model: 'Acme X100',
      lens: 'Acme 35mm f/1.8',
      capturedAt: '2024-05-01T12:34:56+02:00',
      exposureTime: '1/250',
      fNumber: 2.8,
      iso: 200,
      focalLengthMm: 35,
      artist: 'Ada Lovelace',
      copyright: '(C) 2024 Ada Lovelace',
    });
    expect(JSON.stringify(basics)).not.toMatch(/51|GPS/);
  });

  it('survives garbage, truncation, big-endian files and zeroed dates', async () => {
    expect(await readExifBasics(undefined)).toBeNull();
    expect(await readExifBasics(Buffer.from('Exif\0\0garbage!'))).toBeNull();
    // Big-endian TIFF, one IFD0 entry: Model (0x0110), ASCII, 6 bytes at offset 26; then a zeroed DateTime IFD.
    const tiff = Buffer.alloc(40);
    tiff.write('MM', 0, 'latin1');
    tiff.writeUInt16BE(42, 2);
    tiff.writeUInt32BE(8, 4);
    tiff.writeUInt16BE(1, 8);
    tiff.writeUInt16BE(0x0110, 10);
    tiff.writeUInt16BE(2, 12);
    tiff.writeUInt32BE(6, 14);
    tiff.writeUInt32BE(26, 18);
    tiff.write('Cam\x07B\0', 26, 'latin1');
    expect(await readExifBasics(tiff)).toMatchObject({ model: 'Cam B', make: null, capturedAt: null });
    expect(await readExifBasics(tiff.subarray(0, 20))).toMatchObject({ model: null });
  });

  /** The offset a little-endian IFD0 entry (sharp writes "Exif\0\0II…") points at: the Exif (0x8769) or GPS (0x8825) IFD. */
  const ifd0Pointer = (exif: Buffer, tag: number): number => {
    const ifd0 = 6 + exif.readUInt32LE(10);
    for (let entry = 0; entry < exif.readUInt16LE(ifd0); entry += 1) {
      const at = ifd0 + 2 + entry * 12;
      if (exif.readUInt16LE(at) === tag) return exif.readUInt32LE(at + 8);
    }
    return 0;
  };

  const cameraExif = async (): Promise<Buffer> => {
    const jpeg = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#808080' } })
      .withExif({ IFD0: { ...CAMERA_EXIF.IFD0 }, IFD2: { ...CAMERA_EXIF.IFD2 }, IFD3: { ...CAMERA_EXIF.IFD3 } })
      .jpeg()
      .toBuffer();
    return (await sharp(jpeg).metadata()).exif!;
  };

  it('never has the GPS IFD parsed, though the input carries one', async () => {
    const exif = await cameraExif();
    expect(ifd0Pointer(exif, 0x8825)).toBeGreaterThan(0);
    expect(await readExifBasics(exif)).toMatchObject({ make: 'Acme Optics', iso: 200 });
    // What readExifBasics hands exifr, and all exifr returns for it: IFD0 and the Exif IFD, no GPS block.
    const parsed: unknown = await exifr.parse(exif.subarray(6), EXIFR_OPTIONS);
    expect(parsed).toHaveProperty('ifd0');
    expect(parsed).toHaveProperty('exif');
    expect(parsed).not.toHaveProperty('gps');
    expect(JSON.stringify(parsed)).not.toMatch(/51\.5|26\.46|39\.6|latitude|longitude/);
  });

  it('reads a truncated EXIF block at every length without throwing, keeping what precedes the cut', async () => {
    const exif = await cameraExif();
    const fields = Object.keys((await readExifBasics(exif))!).sort();
    for (let length = 0; length < exif.length; length += 1) {
      const basics = await readExifBasics(exif.subarray(0, length));
      if (basics !== null) expect(Object.keys(basics).sort(), `${length} bytes`).toEqual(fields);
      expect(JSON.stringify(basics), `${length} bytes`).not.toMatch(/51\.5|26\.46|39\.6|GPS/);
    }
    // Cut inside the Exif IFD: IFD0 (camera, rights) survives, the exposure fields are omitted.
    const cut = 6 + ifd0Pointer(exif, 0x8769) + 2 + 12 * 3;
    expect(await readExifBasics(exif.subarray(0, cut))).toMatchObject({
      make: 'Acme Optics',
      model: 'Acme X100',
      artist: 'Ada Lovelace',
      lens: null,
      capturedAt: null,
    });
  });
});

describe('ICC profiles', () => {
  // JPEG, because PNG cannot hold a CMYK profile.
  const profileOf = async (name: string) =>
    (
      await sharp(
        await sharp({ create: { width: 1, height: 1, channels: 3, background: '#000' } })
          .withIccProfile(name)
          .jpeg()
          .toBuffer(),
      ).metadata()
    ).icc;

  it('names the profile and tells Display P3 (wide) from sRGB, and CMYK (no colorants) as unknown', async () => {
    expect(readIcc(await profileOf('srgb'))).toEqual({ description: 'sRGB', colourSpace: 'RGB', wideGamut: false });
    expect(readIcc(await profileOf('p3'))).toMatchObject({ colourSpace: 'RGB', wideGamut: true });
    expect(readIcc(await profileOf('cmyk'))).toMatchObject({ colourSpace: 'CMYK', wideGamut: null });
    expect(readIcc(Buffer.from('not a profile'))).toBeNull();
  });
});

describe('placeholders', () => {
  const image = (width: number, height: number, pixel: (x: number, y: number) => [number, number, number]) => {
    const rgb = new Uint8Array(width * height * 3);
    for (let y = 0; y < height; y += 1) for (let x = 0; x < width; x += 1) rgb.set(pixel(x, y), (y * width + x) * 3);
    return rgb;
  };

  // Reference hashes from github.com/woltapp/blurhash's C encoder semantics (the AC maximum is taken over
  // absolute values; the npm TypeScript encoder's omission of fabsf changes the second character).
  it.each([
    ['gradient', 32, 24, 4, 3, (x: number, y: number): [number, number, number] => [x * 8, y * 10, 128], 'LxH27k2swxX8mHWWjtf7gJfjfQfj'],
    [
      'quadrants',
      20,
      20,
      3,
      3,
      (x: number, y: number): [number, number, number] => (x < 10 ? (y < 10 ? [255, 0, 0] : [0, 0, 255]) : y < 10 ? [0, 255, 0] : [255, 255, 255]),
      'K~Lqe9qSeXs_[qsBfMsTjt',
    ],
    ['flat', 8, 8, 1, 1, (): [number, number, number] => [10, 200, 30], '001JlB'],
  ])('encodes a %s image as the reference encoder does', (_name, width, height, cx, cy, pixel, expected) => {
    expect(encodeBlurhash(image(width, height, pixel), width, height, cx, cy)).toBe(expected);
  });

  it('weighs the dominant colour by opacity and makes a data URI LQIP under a kilobyte', async () => {
    const rgba = Buffer.alloc(32 * 24 * 4);
    for (let i = 0; i < 32 * 24; i += 1) rgba.set(i < 500 ? [250, 10, 10, 0] : [20, 40, 200, 255], i * 4);
    expect(dominantColour(rgba)).toBe('#1428c8');
    expect(dominantColour(Buffer.alloc(16))).toBeNull();
    const placeholder = await makePlaceholder({ rgba, width: 32, height: 24 }, { r: 255, g: 255, b: 255 });
    expect(placeholder.lqip).toMatch(/^data:image\/webp;base64,/);
    expect(placeholder.lqip.length).toBeLessThan(1024);
    expect(placeholder.blurhash).toMatch(/^[0-9A-Za-z#$%*+,\-.:;=?@[\]^_{|}~]{28}$/);
    const lqip = await sharp(Buffer.from(placeholder.lqip.split(',')[1]!, 'base64')).metadata();
    expect([lqip.width, lqip.height, lqip.hasAlpha]).toEqual([16, 12, true]);
  });
});

describe('planning', () => {
  const stream = (overrides: Partial<StreamSummary>): StreamSummary => ({ index: 0, type: 'video', codec: 'h264', attachedPicture: false, ...overrides });
  const context = (kind: PlanContext['kind'], streams: StreamSummary[], extra: Partial<ProbeSummary> = {}): PlanContext => ({
    assetId: 'ingest/x#1',
    kind,
    profile: 'default',
    source: {} as AssetSource,
    outputs: {},
    probe: { kind, formatName: 'mov,mp4', durationSeconds: 12.5, sizeBytes: 1, bitRate: null, streams, tags: {}, warnings: [], ...extra },
  });
  const validator = new EventValidator(new Map([['thumbnail', thumbnailStep.paramsSchema]]));
  const valid = (params: unknown) =>
    validator.validate(workOrderType('thumbnail'), {
      orderId: 'o|thumbnail|0',
      assetId: 'ingest/x#1',
      step: 'thumbnail',
      shard: { index: 0, count: 1 },
      source: { bucket: 'ingest', name: 'x', generation: '1' },
      kind: 'video',
      profile: 'default',
      params,
      issuedAt: '2024-05-01T00:00:00Z',
    }).ok;

  it('plans images, videos with a picture and audio with cover art, with params their schema accepts', () => {
    const image = planThumbnail(context('image', [stream({ codec: 'mjpeg' })]));
    expect(image).toEqual({ mode: 'image' });
    const video = planThumbnail(
      context(
        'video',
        [
          stream({ index: 0, codec: 'mjpeg', attachedPicture: true }),
          stream({ index: 1, rotation: 90, colorSpace: 'bt709' }),
          stream({ index: 2, type: 'audio', codec: 'aac' }),
        ],
        { display: { width: 1080, height: 1920 } },
      ),
    );
    expect(video).toEqual({
      mode: 'video',
      video: { streamIndex: 1, durationSeconds: 12.5, width: 1080, height: 1920, rotation: 90, colorSpace: 'bt709', colorTransfer: null, colorPrimaries: null },
    });
    const cover = planThumbnail(
      context('audio', [stream({ index: 0, type: 'audio', codec: 'mp3' }), stream({ index: 1, codec: 'mjpeg', attachedPicture: true })]),
    );
    expect(cover).toEqual({ mode: 'cover', cover: { streamIndex: 1 } });
    for (const params of [image, video, cover]) expect(valid(params)).toBe(true);
    expect(valid({ mode: 'video' })).toBe(false);
    expect(valid({ mode: 'image', sizes: [1] })).toBe(false);
  });

  it('skips audio without cover art and video without a picture size', () => {
    expect(thumbnailStep.plan(context('audio', [stream({ type: 'audio', codec: 'aac' })])).kind !== 'skip').toBe(false);
    expect(thumbnailStep.plan(context('video', [stream({})])).kind !== 'skip').toBe(false);
  });
});
