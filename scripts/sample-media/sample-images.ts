/**
 * Images and clips that exercise the thumbnail step's corner cases: EXIF orientation, ICC profiles, CMYK, 16-bit,
 * grey, animation, panoramas, decompression bombs, anamorphic and rotated video. Generated, never downloaded:
 * ffmpeg draws the pictures, sharp writes the metadata ffmpeg cannot, and the rest is a few bytes built by hand.
 * Same shape as sample-media.ts: `(ffmpegPath, outPath, opts?) => Promise<outPath>`.
 */
import { runFfmpeg as ffmpeg } from './sample-media.ts';
import { execFile } from 'node:child_process';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import sharp from 'sharp';

const BITEXACT = ['-fflags', '+bitexact', '-flags:v', '+bitexact', '-map_metadata', '-1'];

type Rgb = readonly [number, number, number];

/**
 * A photo stand-in: testsrc2's flat colours with sensor-like grain (uniform noise softened over about two pixels,
 * as demosaicing does), at JPEG quality ~93. A 12 MP one is about 3 MB, like a phone photo, and costs encoders
 * what a photo does; flat test patterns compress unrealistically well.
 */
export async function photoJpeg(ffmpegPath: string, outPath: string, opts: { width?: number; height?: number } = {}): Promise<string> {
  const { width = 4000, height = 3000 } = opts;
  await ffmpeg(ffmpegPath, [
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=${width}x${height}:rate=1,noise=alls=20:allf=u,gblur=sigma=0.7`,
    '-frames:v',
    '1',
    '-c:v',
    'mjpeg',
    '-pix_fmt',
    'yuvj420p',
    '-q:v',
    '2',
    ...BITEXACT,
    '-f',
    'image2',
    '-update',
    '1',
    outPath,
  ]);
  return outPath;
}

/** The colours of the quadrants of `quadrantImage` as displayed: top-left, top-right, bottom-left, bottom-right. */
export const QUADRANTS: readonly Rgb[] = [
  [255, 0, 0],
  [0, 255, 0],
  [0, 0, 255],
  [255, 255, 255],
];

/**
 * A JPEG whose *displayed* picture (after its EXIF orientation, EXIF 2.32 tag 0x0112) is `width`×`height` with
 * red, green, blue and white quadrants. The stored pixels are the display transformed by the inverse of the
 * orientation, so a viewer that ignores the tag shows it wrong and one that applies it shows it right.
 */
export async function orientedJpeg(_ffmpegPath: string, outPath: string, opts: { orientation: number; width?: number; height?: number }): Promise<string> {
  const { orientation, width = 64, height = 48 } = opts;
  const display = quadrantPixels(width, height);
  // Each entry undoes what the orientation asks a viewer to do: clockwise turns (as sharp's rotate()), then a
  // left-right mirror. 5 is the transpose, 7 the transverse; both are their own inverse.
  const stored: Record<number, [turn: number, mirror: boolean]> = {
    1: [0, false],
    2: [0, true],
    3: [180, false],
    4: [180, true],
    5: [90, true],
    6: [270, false],
    7: [270, true],
    8: [90, false],
  };
  const transform = stored[orientation];
  if (!transform) throw new RangeError(`EXIF orientation must be 1–8, got ${orientation}`);
  // Two pipelines, because sharp applies a mirror before a turn whatever order they are called in.
  const turned = await sharp(display, { raw: { width, height, channels: 3 } })
    .rotate(transform[0])
    .raw()
    .toBuffer({ resolveWithObject: true });
  const pixels = await sharp(turned.data, { raw: turned.info }).flop(transform[1]).raw().toBuffer({ resolveWithObject: true });
  await sharp(pixels.data, { raw: pixels.info }).withMetadata({ orientation }).jpeg({ quality: 95, chromaSubsampling: '4:4:4' }).toFile(outPath);
  return outPath;
}

function quadrantPixels(width: number, height: number): Buffer {
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      const colour = QUADRANTS[(y < height / 2 ? 0 : 2) + (x < width / 2 ? 0 : 1)]!;
      data.set(colour, (y * width + x) * 3);
    }
  }
  return data;
}

/** What `cameraJpeg` writes: the basics a thumbnail step should record, and GPS it must never pass on. */
export const CAMERA_EXIF = {
  IFD0: { Make: 'Acme Optics', Model: 'Acme X100', Artist: 'Ada Lovelace', Copyright: '(C) 2024 Ada Lovelace', Software: 'Acme Firmware 1.2' },
  IFD2: {
    DateTimeOriginal: '2024:05:01 12:34:56',
    OffsetTimeOriginal: '+02:00',
    LensModel: 'Acme 35mm f/1.8',
    ExposureTime: '1/250',
    FNumber: '28/10',
    ISOSpeedRatings: '200',
    FocalLength: '35/1',
  },
  IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '51/1 30/1 2646/100', GPSLongitudeRef: 'W', GPSLongitude: '0/1 7/1 3960/100' },
} as const;

/** A JPEG with camera EXIF, including a GPS position (IFD3 is the GPS IFD in libvips' numbering). */
export async function cameraJpeg(_ffmpegPath: string, outPath: string, opts: { width?: number; height?: number } = {}): Promise<string> {
  const { width = 320, height = 240 } = opts;
  await sharp({ create: { width, height, channels: 3, background: { r: 90, g: 140, b: 200 } } })
    .withExif({ IFD0: { ...CAMERA_EXIF.IFD0 }, IFD2: { ...CAMERA_EXIF.IFD2 }, IFD3: { ...CAMERA_EXIF.IFD3 } })
    .jpeg({ quality: 90 })
    .toFile(outPath);
  return outPath;
}

/**
 * A flat PNG whose pixel values are `rgb` *in the given profile's colour space*: the profile is attached without
 * converting anything (sharp's withIccProfile would convert), so a Display P3 file can hold colours sRGB cannot.
 * With `bitDepth: 16` the PNG is 16-bit, which sharp decodes along a different colour path.
 */
export async function iccTaggedPng(
  _ffmpegPath: string,
  outPath: string,
  opts: { profile: 'p3' | 'srgb'; rgb: Rgb; bitDepth?: 8 | 16; width?: number; height?: number },
): Promise<string> {
  const { profile, rgb, bitDepth = 8, width = 64, height = 48 } = opts;
  const icc = (
    await sharp({ create: { width: 1, height: 1, channels: 3, background: '#000' } })
      .withIccProfile(profile)
      .png()
      .toBuffer()
      .then((png) => sharp(png).metadata())
  ).icc;
  if (!icc) throw new Error(`libvips has no built-in '${profile}' profile`);
  const png =
    bitDepth === 16
      ? await sharp(
          new Uint16Array(width * height * 3).map((_, i) => rgb[i % 3]! * 257),
          { raw: { width, height, channels: 3 } },
        )
          .toColourspace('rgb16')
          .png()
          .toBuffer()
      : await sharp({ create: { width, height, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } })
          .png()
          .toBuffer();
  await writeFile(outPath, withIccpChunk(png, icc));
  return outPath;
}

/** Inserts an iCCP chunk (PNG 1.2 §4.2.2.4: name, NUL, compression method 0, zlib data) right after IHDR. */
function withIccpChunk(png: Buffer, icc: Buffer): Buffer {
  const ihdrEnd = 8 + 4 + 4 + 13 + 4;
  const body = Buffer.concat([Buffer.from('ICC profile\0\0', 'latin1'), zlib.deflateSync(icc)]);
  return Buffer.concat([png.subarray(0, ihdrEnd), pngChunk('iCCP', body), png.subarray(ihdrEnd)]);
}

function pngChunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(data, zlib.crc32(head.subarray(4))), 0);
  return Buffer.concat([head, data, crc]);
}

/** A CMYK JPEG (no embedded profile) of a flat sRGB colour, converted by libvips' built-in CMYK profile. */
export async function cmykJpeg(_ffmpegPath: string, outPath: string, opts: { rgb?: Rgb; width?: number; height?: number } = {}): Promise<string> {
  const { rgb = [220, 30, 40], width = 64, height = 48 } = opts;
  await sharp({ create: { width, height, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } })
    .toColourspace('cmyk')
    .jpeg({ quality: 95 })
    .toFile(outPath);
  return outPath;
}

/** testsrc2 in any ffmpeg pixel format the PNG encoder takes: rgb48be (16-bit), gray, gray16be, rgba… */
export async function pngImage(ffmpegPath: string, outPath: string, opts: { pixelFormat: string; width?: number; height?: number }): Promise<string> {
  const { pixelFormat, width = 96, height = 64 } = opts;
  await ffmpeg(ffmpegPath, [
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=${width}x${height}:rate=1`,
    '-frames:v',
    '1',
    '-c:v',
    'png',
    '-pix_fmt',
    pixelFormat,
    ...BITEXACT,
    '-f',
    'image2',
    '-update',
    '1',
    outPath,
  ]);
  return outPath;
}

/** A BMP, a format libvips does not read, so the step has to go through ffmpeg. */
export async function bmpImage(ffmpegPath: string, outPath: string, opts: { width?: number; height?: number } = {}): Promise<string> {
  const { width = 96, height = 64 } = opts;
  await ffmpeg(ffmpegPath, [
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=${width}x${height}:rate=1`,
    '-frames:v',
    '1',
    '-c:v',
    'bmp',
    '-pix_fmt',
    'bgr24',
    ...BITEXACT,
    '-f',
    'image2',
    '-update',
    '1',
    outPath,
  ]);
  return outPath;
}

/** An animated WebP: the looping testsrc2 GIF of sample-media.ts, re-encoded by libwebp with its timing. */
export async function animatedWebp(ffmpegPath: string, outPath: string, opts: { width?: number; height?: number; frames?: number } = {}): Promise<string> {
  const { width = 160, height = 120, frames = 10 } = opts;
  const gif = `${outPath}.gif`;
  await ffmpeg(ffmpegPath, [
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=${width}x${height}:rate=10`,
    '-frames:v',
    String(frames),
    '-loop',
    '0',
    ...BITEXACT,
    '-f',
    'gif',
    gif,
  ]);
  await sharp(gif, { animated: true }).webp({ quality: 80 }).toFile(outPath);
  await rm(gif, { force: true });
  return outPath;
}

/** PNG colour type and bit depth (PNG 1.2 §4.1.1 IHDR) and the bytes one pixel takes, per `pngBomb` pixel layout. */
const BOMB_PIXELS = {
  grey8: { colourType: 0, bitDepth: 8, bytesPerPixel: 1 },
  rgba16: { colourType: 6, bitDepth: 16, bytesPerPixel: 8 },
} as const;

/**
 * A decompression bomb: a valid PNG of width × height zeros that compresses to about a thousandth of its size
 * (62000×62000 8-bit grey is 3.8 GB of pixels in 3.7 MB; 16000×16000 16-bit RGBA is 2 GB in 2 MB). Built without
 * ever holding the pixels: the same 1 MiB deflate block, ended by a full flush so it stands alone, repeated, then
 * a final empty stored block and the Adler-32 of all those zeros (RFC 1950/1951), which is (count mod 65521) << 16 | 1.
 */
export async function pngBomb(
  _ffmpegPath: string,
  outPath: string,
  opts: { width?: number; height?: number; pixels?: keyof typeof BOMB_PIXELS } = {},
): Promise<string> {
  const { width = 62_000, height = 62_000, pixels = 'grey8' } = opts;
  const layout = BOMB_PIXELS[pixels];
  const total = height * (width * layout.bytesPerPixel + 1); // a filter-type byte (0, None) before every row
  const chunk = 1 << 20;
  const block = zlib.deflateRawSync(Buffer.alloc(chunk), { finishFlush: zlib.constants.Z_FULL_FLUSH });
  const tail = zlib.deflateRawSync(Buffer.alloc(total % chunk), { finishFlush: zlib.constants.Z_FULL_FLUSH });
  const adler = Buffer.alloc(4);
  adler.writeUInt32BE((((total % 65521) << 16) | 1) >>> 0, 0);
  const stream = Buffer.concat([
    Buffer.from([0x78, 0x01]),
    ...Array<Buffer>(Math.floor(total / chunk)).fill(block),
    tail,
    Buffer.from([0x01, 0x00, 0x00, 0xff, 0xff]),
    adler,
  ]);
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([layout.bitDepth, layout.colourType, 0, 0, 0], 8); // deflate, adaptive filtering, no interlace
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  await writeFile(outPath, Buffer.concat([signature, pngChunk('IHDR', ihdr), pngChunk('IDAT', stream), pngChunk('IEND', Buffer.alloc(0))]));
  return outPath;
}

/**
 * A clip for poster choice: black, a one-second fade in, testsrc2, a one-second fade out, black. Of equal thirds
 * of its length only the middle one makes a good poster.
 */
export async function fadeVideo(
  ffmpegPath: string,
  outPath: string,
  opts: { durationSeconds?: number; width?: number; height?: number } = {},
): Promise<string> {
  const { durationSeconds = 9, width = 320, height = 180 } = opts;
  const third = durationSeconds / 3;
  await ffmpeg(ffmpegPath, [
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=${width}x${height}:rate=25:duration=${durationSeconds},fade=in:st=${third - 1}:d=1,fade=out:st=${2 * third}:d=1`,
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-pix_fmt',
    'yuv420p',
    ...BITEXACT,
    '-f',
    'mp4',
    outPath,
  ]);
  return outPath;
}

/** DVD-style anamorphic H.264: 720×480 stored, sample aspect ratio 32:27, so it displays at 853×480 (16:9). */
export async function anamorphicVideo(ffmpegPath: string, outPath: string, opts: { durationSeconds?: number } = {}): Promise<string> {
  const { durationSeconds = 2 } = opts;
  await ffmpeg(ffmpegPath, [
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=720x480:rate=25:duration=${durationSeconds}`,
    '-vf',
    'setsar=32/27',
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-pix_fmt',
    'yuv420p',
    ...BITEXACT,
    '-f',
    'mp4',
    outPath,
  ]);
  return outPath;
}

/**
 * A phone-style clip: stored landscape (320×180, white top half over a dark testsrc2 bottom half) with a display
 * matrix turning it a quarter turn, as a phone held upright records. The `rotate` tag is written on a remux,
 * which is how this ffmpeg turns it into the matrix (ffprobe: Display Matrix, rotation 90 counter-clockwise).
 */
export async function rotatedVideo(ffmpegPath: string, outPath: string, opts: { durationSeconds?: number } = {}): Promise<string> {
  const { durationSeconds = 2 } = opts;
  const plain = `${outPath}.plain.mp4`;
  await ffmpeg(ffmpegPath, [
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=320x180:rate=25:duration=${durationSeconds},drawbox=x=0:y=0:w=iw:h=ih/2:color=white:t=fill`,
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-pix_fmt',
    'yuv420p',
    ...BITEXACT,
    '-f',
    'mp4',
    plain,
  ]);
  await ffmpeg(ffmpegPath, ['-i', plain, '-c', 'copy', '-metadata:s:v:0', 'rotate=90', '-f', 'mp4', `${outPath}.tmp`]);
  await rename(`${outPath}.tmp`, outPath);
  await rm(plain, { force: true });
  return outPath;
}

/** 10-bit H.264 tagged HLG (BT.2100: arib-std-b67 transfer, BT.2020 primaries and matrix), as phones record HDR. */
export async function hlgVideo(ffmpegPath: string, outPath: string, opts: { durationSeconds?: number } = {}): Promise<string> {
  const { durationSeconds = 1 } = opts;
  await ffmpeg(ffmpegPath, [
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=320x180:rate=25:duration=${durationSeconds}`,
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-pix_fmt',
    'yuv420p10le',
    '-color_trc',
    'arib-std-b67',
    '-color_primaries',
    'bt2020',
    '-colorspace',
    'bt2020nc',
    ...BITEXACT,
    '-f',
    'mp4',
    outPath,
  ]);
  return outPath;
}

/**
 * A phone-style HEIF still, encoded by libheif's heif-enc (Debian libheif-examples: x265 for HEVC, libaom for AV1)
 * from a JPEG sharp writes: what is displayed is `quadrantImage`'s red/green/blue/white quadrants at
 * `width`×`height`, stored a quarter turn anticlockwise as a phone's sensor holds a portrait-held shot, with an
 * `irot` turning it back and, as iPhones also write, an EXIF Orientation 6 saying the same again (a decoder that
 * applies both shows it upside down). The pixels are stored in Display P3 with its ICC profile. heif-enc 1.15
 * writes no irot (it is added to the file here) and no multi-tile grid; below 64 px it wraps the picture in a 1×1
 * grid. `pixels` replaces the quadrants with one flat colour, `nextImages` adds further top-level images of other
 * colours (a collection; the first stays primary unless `primary` names another, 0-based).
 */
export async function heifImage(
  _ffmpegPath: string,
  outPath: string,
  opts: { codec?: 'hevc' | 'av1'; width?: number; height?: number; flat?: Rgb; nextImages?: readonly Rgb[]; primary?: number } = {},
): Promise<string> {
  const { codec = 'hevc', width = 320, height = 240, flat, nextImages = [], primary = 0 } = opts;
  const display = flat ? flatPixels(width, height, flat) : quadrantPixels(width, height);
  const inputs = [`${outPath}.0.jpg`, ...nextImages.map((_, index) => `${outPath}.${index + 1}.jpg`)];
  // Stored = display turned 90° anticlockwise (sharp's rotate(270), as its turns are clockwise); shown by a 90°
  // clockwise turn, which is irot angle 3 (irot counts 90° steps anticlockwise) and EXIF Orientation 6.
  await sharp(display, { raw: { width, height, channels: 3 } })
    .rotate(270)
    .withMetadata({ orientation: 6 })
    .withIccProfile('p3')
    .jpeg({ quality: 95, chromaSubsampling: '4:4:4' })
    .toFile(inputs[0]!);
  await Promise.all(
    nextImages.map((rgb, index) =>
      sharp(flatPixels(height, width, rgb), { raw: { width: height, height: width, channels: 3 } })
        .withIccProfile('p3')
        .jpeg({ quality: 95 })
        .toFile(inputs[index + 1]!),
    ),
  );
  await promisify(execFile)('heif-enc', ['-q', '90', ...(codec === 'av1' ? ['-A'] : []), '-o', outPath, ...inputs]);
  await Promise.all(inputs.map((input) => rm(input, { force: true })));
  let heif: Buffer = await readFile(outPath);
  const items = heifItems(heif);
  heif = withPrimaryRotation(heif, 3);
  if (primary !== 0) heif = withPrimary(heif, items.topLevel[primary]!);
  await writeFile(outPath, heif);
  return outPath;
}

/** Every ispe (image spatial extents) set to `width`×`height`: a small valid HEIF whose header declares a giant. */
export function heifDeclaring(heif: Buffer, width: number, height: number): Buffer {
  const out = Buffer.from(heif);
  for (let at = out.indexOf('ispe'); at >= 0; at = out.indexOf('ispe', at + 4)) {
    out.writeUInt32BE(width, at + 8);
    out.writeUInt32BE(height, at + 12);
  }
  return out;
}

/**
 * The HEIF with its coded image data zeroed after the first NAL unit's 4-byte length: the container and the NAL
 * framing stay valid, the HEVC inside is garbage a decoder has to reject.
 */
export function heifZeroedPayload(heif: Buffer): Buffer {
  const out = Buffer.from(heif);
  const mdat = topBoxes(out).find((box) => box.type === 'mdat')!;
  out.fill(0, mdat.offset + 8 + 4, mdat.offset + mdat.size);
  return out;
}

function flatPixels(width: number, height: number, rgb: Rgb): Buffer {
  const data = Buffer.alloc(width * height * 3);
  for (let at = 0; at < data.length; at += 3) data.set(rgb, at);
  return data;
}

interface Box {
  type: string;
  offset: number;
  size: number;
}

/** Boxes of `data` from `start` to `end` (ISO/IEC 14496-12 §4.2, 32-bit sizes only: heif-enc writes no others). */
function topBoxes(data: Buffer, start = 0, end = data.length): Box[] {
  const boxes: Box[] = [];
  for (let at = start; at + 8 <= end; at += data.readUInt32BE(at))
    boxes.push({ type: data.toString('latin1', at + 4, at + 8), offset: at, size: data.readUInt32BE(at) });
  return boxes;
}

function child(data: Buffer, parent: Box, type: string, headerBytes: number): Box {
  const found = topBoxes(data, parent.offset + headerBytes, parent.offset + parent.size).find((box) => box.type === type);
  if (!found) throw new Error(`heif-enc wrote no '${type}' in '${parent.type}'`);
  return found;
}

/** The primary item and the top-level image items, in file order (heif-enc: one per input, after its hidden tiles). */
function heifItems(heif: Buffer): { primary: number; topLevel: number[] } {
  const meta = topBoxes(heif).find((box) => box.type === 'meta')!;
  const pitm = child(heif, meta, 'pitm', 12);
  const iinf = child(heif, meta, 'iinf', 12);
  const topLevel = topBoxes(heif, iinf.offset + 14, iinf.offset + iinf.size)
    // infe v2: FullBox header, item_ID (16), protection index (16), item_type; flags bit 0 = hidden.
    .filter((infe) => (heif[infe.offset + 11]! & 1) === 0 && ['hvc1', 'av01', 'grid'].includes(heif.toString('latin1', infe.offset + 16, infe.offset + 20)))
    .map((infe) => heif.readUInt16BE(infe.offset + 12));
  return { primary: heif.readUInt16BE(pitm.offset + 12), topLevel };
}

/** pitm (v0, 16-bit item ID) pointed at another item: the same size, so nothing else moves. */
function withPrimary(heif: Buffer, item: number): Buffer {
  const out = Buffer.from(heif);
  const pitm = child(
    out,
    topBoxes(out).find((box) => box.type === 'meta')!,
    'pitm',
    12,
  );
  out.writeUInt16BE(item, pitm.offset + 12);
  return out;
}

/**
 * Adds an `irot` property (angle × 90° anticlockwise) to the primary item: the box is appended to ipco, an
 * essential association to the primary's ipma entry, every enclosing size grows, and the file offsets in iloc
 * (construction method 0) move by what meta grew. Handles what heif-enc 1.15 writes: ipma v0 with 7-bit
 * indexes, iloc v1 with 4-byte offsets, meta before mdat.
 */
function withPrimaryRotation(heif: Buffer, angle: number): Buffer {
  const top = topBoxes(heif);
  const meta = top.find((box) => box.type === 'meta')!;
  const { primary } = heifItems(heif);
  const iprp = child(heif, meta, 'iprp', 12);
  const ipco = child(heif, iprp, 'ipco', 8);
  const ipma = child(heif, iprp, 'ipma', 8);
  const iloc = child(heif, meta, 'iloc', 12);
  const propertyIndex = topBoxes(heif, ipco.offset + 8, ipco.offset + ipco.size).length + 1;
  const irot = Buffer.from([0, 0, 0, 9, ...Buffer.from('irot', 'latin1'), angle]);

  // ipma v0 flags 0: entry_count (32), then per item: item_ID (16), count (8), count × (essential bit | 7-bit index).
  const entries: Buffer[] = [];
  for (let at = ipma.offset + 16, entry = 0; entry < heif.readUInt32BE(ipma.offset + 12); entry += 1) {
    const count = heif[at + 2]!;
    const bytes = Buffer.from(heif.subarray(at, at + 3 + count));
    entries.push(heif.readUInt16BE(at) === primary ? Buffer.concat([bytes, Buffer.from([0x80 | propertyIndex])]) : bytes);
    if (heif.readUInt16BE(at) === primary) entries.at(-1)![2] = count + 1;
    at += 3 + count;
  }
  const newIpma = sized('ipma', Buffer.concat([heif.subarray(ipma.offset + 8, ipma.offset + 16), ...entries]));
  const newIpco = sized('ipco', Buffer.concat([heif.subarray(ipco.offset + 8, ipco.offset + ipco.size), irot]));
  const otherIprp = topBoxes(heif, iprp.offset + 8, iprp.offset + iprp.size)
    .filter((box) => box.type !== 'ipco' && box.type !== 'ipma')
    .map((box) => heif.subarray(box.offset, box.offset + box.size));
  const newIprp = sized('iprp', Buffer.concat([newIpco, newIpma, ...otherIprp]));
  const growth = newIprp.length - iprp.size;
  if (top.findIndex((box) => box.type === 'meta') > top.findIndex((box) => box.type === 'mdat')) throw new Error('heif-enc wrote mdat before meta');

  const newIloc = Buffer.from(heif.subarray(iloc.offset, iloc.offset + iloc.size));
  // iloc v0/v1: offset/length/base_offset/index sizes (nibbles), item_count (16), then per item: ID (16), in v1 the
  // construction method (16), data reference index (16), base_offset, extent count (16), extents.
  const version = newIloc[8]!;
  const [offsetSize, lengthSize, baseSize] = [newIloc[12]! >> 4, newIloc[12]! & 15, newIloc[13]! >> 4];
  const indexSize = version === 1 ? newIloc[13]! & 15 : 0;
  if (version > 1 || offsetSize !== 4 || baseSize !== 4) throw new Error('unexpected iloc layout from heif-enc');
  const methodBytes = version === 1 ? 2 : 0;
  for (let at = 16, item = 0; item < newIloc.readUInt16BE(14); item += 1) {
    const method = version === 1 ? newIloc.readUInt16BE(at + 2) & 15 : 0;
    const base = at + 2 + methodBytes + 2;
    if (method === 0) newIloc.writeUInt32BE(newIloc.readUInt32BE(base) + growth, base);
    at = base + 4 + 2 + newIloc.readUInt16BE(base + 4) * (indexSize + offsetSize + lengthSize);
  }
  const metaChildren = topBoxes(heif, meta.offset + 12, meta.offset + meta.size).map((box) =>
    box.type === 'iprp' ? newIprp : box.type === 'iloc' ? newIloc : heif.subarray(box.offset, box.offset + box.size),
  );
  const newMeta = sized('meta', Buffer.concat([heif.subarray(meta.offset + 8, meta.offset + 12), ...metaChildren]));
  return Buffer.concat(top.map((box) => (box.type === 'meta' ? newMeta : heif.subarray(box.offset, box.offset + box.size))));
}

function sized(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(8 + body.length, 0);
  head.write(type, 4, 'latin1');
  return Buffer.concat([head, body]);
}
