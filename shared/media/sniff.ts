/**
 * What a file is, from its first bytes rather than its name. ffprobe's image2 demuxer goes by the extension, so a
 * text file named .jpg passes it as a JPEG; the signatures below say what the bytes are. SVG is text whose root
 * element is <svg>, after whatever BOM, XML declaration, comments and doctype precede it.
 *
 * The size of a picture is read here from its header too: ffprobe learns it by decoding the whole picture for PNG,
 * WebP, TIFF, BMP, PSD and QOI, and by rendering an SVG, which for a few hundred bytes declaring 16000×16000 costs
 * gigabytes. Header readers only: no pixel data is read.
 */
import type { PictureHeader } from './classify.ts';
import { readHeifHeader } from './heif.ts';
import type { ByteSource } from './input.ts';

export type ImageFormat =
  'jpeg' | 'png' | 'gif' | 'webp' | 'tiff' | 'bmp' | 'ico' | 'heif' | 'jxl' | 'jpeg2000' | 'psd' | 'qoi' | 'exr' | 'netpbm' | 'xpm' | 'xbm' | 'svg';

export type Sniffed = { readonly kind: 'image'; readonly format: ImageFormat } | { readonly kind: 'text' } | { readonly kind: 'unknown' };

/** Enough for every signature, and for an SVG's root tag after a long comment or doctype. */
export const SNIFF_BYTES = 64 * 1024;
/** The text check looks at this much: a binary container has a control byte long before. */
const TEXT_SAMPLE_BYTES = 4096;

/** How messages name each format. */
export const IMAGE_FORMAT_NAMES: Readonly<Record<ImageFormat, string>> = {
  jpeg: 'JPEG',
  png: 'PNG',
  gif: 'GIF',
  webp: 'WebP',
  tiff: 'TIFF',
  bmp: 'BMP',
  ico: 'ICO',
  heif: 'HEIF/AVIF',
  jxl: 'JPEG XL',
  jpeg2000: 'JPEG 2000',
  psd: 'PSD',
  qoi: 'QOI',
  exr: 'OpenEXR',
  netpbm: 'Netpbm',
  xpm: 'XPM',
  xbm: 'XBM',
  svg: 'SVG',
};

/** ffprobe's codec names for the formats above; other image codecs (TGA, PCX, DPX, …) have no signature to check. */
const CODEC_FORMATS: Readonly<Record<string, ImageFormat>> = {
  mjpeg: 'jpeg',
  jpegls: 'jpeg',
  png: 'png',
  apng: 'png',
  gif: 'gif',
  webp: 'webp',
  tiff: 'tiff',
  bmp: 'bmp',
  ico: 'ico',
  jpegxl: 'jxl',
  jpeg2000: 'jpeg2000',
  psd: 'psd',
  qoi: 'qoi',
  exr: 'exr',
  ppm: 'netpbm',
  pgm: 'netpbm',
  pgmyuv: 'netpbm',
  pbm: 'netpbm',
  pam: 'netpbm',
  xpm: 'xpm',
  xbm: 'xbm',
  svg: 'svg',
};

/** The format a decoder of ffprobe's `codec` expects its bytes in, when that format has a signature. */
export function formatOfCodec(codec: string): ImageFormat | undefined {
  return Object.hasOwn(CODEC_FORMATS, codec) ? CODEC_FORMATS[codec] : undefined;
}

/** BITMAPCOREHEADER, BITMAPINFOHEADER and its V2–V5 successors, OS/2 2.x: the DIB header sizes that exist. */
const BMP_HEADER_SIZES = new Set([12, 40, 52, 56, 64, 108, 124]);
/** ISO BMFF major brands of HEIF/AVIF images and sequences (ISO/IEC 23008-12, AV1 Image File Format). */
const HEIF_BRANDS = new Set(['avif', 'avis', 'heic', 'heix', 'heim', 'heis', 'hevc', 'hevx', 'mif1', 'msf1']);
const JXL_CONTAINER = [0x00, 0x00, 0x00, 0x0c, 0x4a, 0x58, 0x4c, 0x20, 0x0d, 0x0a, 0x87, 0x0a];
const JP2_CONTAINER = [0x00, 0x00, 0x00, 0x0c, 0x6a, 0x50, 0x20, 0x20, 0x0d, 0x0a, 0x87, 0x0a];

const SIGNATURES: readonly (readonly [ImageFormat, (head: Buffer) => boolean])[] = [
  ['jpeg', (head) => startsWith(head, [0xff, 0xd8, 0xff])],
  ['png', (head) => startsWith(head, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])],
  ['gif', (head) => ascii(head, 0, 6) === 'GIF87a' || ascii(head, 0, 6) === 'GIF89a'],
  ['webp', (head) => ascii(head, 0, 4) === 'RIFF' && ascii(head, 8, 12) === 'WEBP'],
  // Classic TIFF (42) and BigTIFF (43), in either byte order.
  ['tiff', (head) => ['II*\0', 'MM\0*', 'II+\0', 'MM\0+'].includes(ascii(head, 0, 4))],
  ['bmp', (head) => ascii(head, 0, 2) === 'BM' && head.length >= 18 && BMP_HEADER_SIZES.has(head.readUInt32LE(14))],
  // ICONDIR: reserved 0, type 1 (icon) or 2 (cursor), at least one image.
  ['ico', (head) => head.length >= 6 && head.readUInt16LE(0) === 0 && [1, 2].includes(head.readUInt16LE(2)) && head.readUInt16LE(4) > 0],
  ['heif', (head) => ascii(head, 4, 8) === 'ftyp' && HEIF_BRANDS.has(ascii(head, 8, 12))],
  ['jxl', (head) => startsWith(head, [0xff, 0x0a]) || startsWith(head, JXL_CONTAINER)],
  ['jpeg2000', (head) => startsWith(head, [0xff, 0x4f, 0xff, 0x51]) || startsWith(head, JP2_CONTAINER)],
  ['psd', (head) => ascii(head, 0, 4) === '8BPS' && head.length >= 6 && [1, 2].includes(head.readUInt16BE(4))],
  ['qoi', (head) => ascii(head, 0, 4) === 'qoif'],
  ['exr', (head) => startsWith(head, [0x76, 0x2f, 0x31, 0x01])],
  // P1–P6 (PBM/PGM/PPM, ASCII and binary) and P7 (PAM): text-like, so checked before the text rule.
  ['netpbm', (head) => /^P[1-7]\s/.test(ascii(head, 0, 3))],
  ['xpm', (head) => ascii(head, 0, 9) === '/* XPM */'],
  ['xbm', (head) => /^#define\s+\S*_width\s+\d/.test(ascii(head, 0, 256))],
];

export function sniff(head: Buffer): Sniffed {
  for (const [format, matches] of SIGNATURES) {
    if (matches(head)) return { kind: 'image', format };
  }
  if (!looksLikeText(head.subarray(0, TEXT_SAMPLE_BYTES))) return { kind: 'unknown' };
  return svgRootTag(head) === undefined ? { kind: 'text' } : { kind: 'image', format: 'svg' };
}

/** Valid UTF-8 with no control characters besides whitespace: no media container starts like that. */
export function looksLikeText(head: Buffer): boolean {
  if (head.length === 0) return false;
  for (const byte of head) {
    const whitespace = byte === 0x09 || byte === 0x0a || byte === 0x0c || byte === 0x0d;
    if ((byte < 0x20 && !whitespace) || byte === 0x7f) return false;
  }
  try {
    // stream: true tolerates a multi-byte character cut at the end of the sample.
    new TextDecoder('utf-8', { fatal: true }).decode(head, { stream: true });
    return true;
  } catch {
    return false;
  }
}

/** The first bytes as hex, for a message that says what a file starts with instead of what it was named. */
export function describeStart(head: Buffer): string {
  const sample = head.subarray(0, 8);
  const printable = sample.every((byte) => byte >= 0x20 && byte < 0x7f);
  return printable ? JSON.stringify(sample.toString('latin1')) : [...sample].map((byte) => byte.toString(16).padStart(2, '0')).join(' ');
}

/**
 * The root element's start tag, `<svg …>` or `<prefix:svg …>`, when the document's first element is one. Skips a
 * BOM, whitespace, processing instructions (the XML declaration), comments and a doctype with its internal subset.
 */
export function svgRootTag(head: Buffer): string | undefined {
  const text = head.toString('utf8');
  let at = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  for (;;) {
    while (at < text.length && /\s/.test(text[at]!)) at += 1;
    if (text.startsWith('<?', at)) at = after(text, '?>', at);
    else if (text.startsWith('<!--', at)) at = after(text, '-->', at + 4);
    else if (text.startsWith('<!DOCTYPE', at)) at = afterDoctype(text, at);
    else break;
    if (at < 0) return undefined;
  }
  if (!/^<(?:[A-Za-z_][\w.-]*:)?svg[\s/>]/.test(text.slice(at, at + 64))) return undefined;
  // The tag ends at the first '>' outside an attribute value.
  let quote: string | undefined;
  for (let end = at + 1; end < text.length; end += 1) {
    const char = text[end]!;
    if (quote) {
      if (char === quote) quote = undefined;
    } else if (char === '"' || char === "'") {
      quote = char;
    } else if (char === '>') {
      return text.slice(at, end + 1);
    }
  }
  return undefined;
}

function after(text: string, terminator: string, from: number): number {
  const found = text.indexOf(terminator, from);
  return found < 0 ? -1 : found + terminator.length;
}

/** `<!DOCTYPE svg PUBLIC "…" "…" [ <!ENTITY …> ]>`: the '>' that ends it follows the internal subset, if any. */
function afterDoctype(text: string, from: number): number {
  const close = text.indexOf('>', from);
  const open = text.indexOf('[', from);
  if (open < 0 || (close >= 0 && close < open)) return close < 0 ? -1 : close + 1;
  const subsetEnd = text.indexOf(']', open);
  return subsetEnd < 0 ? -1 : after(text, '>', subsetEnd);
}

function startsWith(head: Buffer, bytes: readonly number[]): boolean {
  return head.length >= bytes.length && bytes.every((byte, index) => head[index] === byte);
}

function ascii(head: Buffer, start: number, end: number): string {
  return head.toString('latin1', start, Math.min(end, head.length));
}

/** A header walk reads this much at a time, so many small chunk headers cost few reads (each may be a request). */
const WINDOW_BYTES = 64 * 1024;
/** Bounds a walk over hostile input: real files reach their image data within a few dozen segments or chunks. */
const MAX_SEGMENTS = 1024;
/** WebP animations are walked to count their frames; past this many chunks the count is left unstated. */
const MAX_WEBP_CHUNKS = 100_000;
/** libvips keeps sizes in a C int. */
const MAX_DIMENSION = 2 ** 31 - 1;

/**
 * The size (and what else is cheap) from the header of a picture of `format`, which `sniff` found in `head`, the
 * first bytes of `bytes`. Undefined for a format without a reader here, or a header too damaged to read.
 */
export async function readImageHeader(format: ImageFormat, head: Buffer, bytes: ByteSource): Promise<PictureHeader | undefined> {
  const reader = new WindowReader(bytes, head);
  switch (format) {
    case 'png':
      return pngHeader(reader);
    case 'jpeg':
      return jpegHeader(reader);
    case 'gif':
      return head.length >= 10 ? sized({ codec: 'gif', frames: 1 }, head.readUInt16LE(6), head.readUInt16LE(8)) : undefined;
    case 'webp':
      return webpHeader(head, reader);
    case 'tiff':
      return tiffHeader(head, reader);
    case 'bmp':
      return bmpHeader(head);
    // PSD file header: signature, version, 6 reserved bytes, channels, then height and width (Adobe PSD spec).
    case 'psd':
      return head.length >= 26 ? sized({ codec: 'psd', frames: 1 }, head.readUInt32BE(18), head.readUInt32BE(14)) : undefined;
    case 'qoi':
      return head.length >= 14 ? sized({ codec: 'qoi', frames: 1 }, head.readUInt32BE(4), head.readUInt32BE(8)) : undefined;
    case 'svg':
      return svgHeader(head);
    case 'heif':
      return heifHeader(reader);
    default:
      return undefined;
  }
}

class WindowReader {
  private readonly bytes: ByteSource;
  private offset = 0;
  private data: Buffer;
  constructor(bytes: ByteSource, head: Buffer) {
    this.bytes = bytes;
    this.data = head;
  }

  get size(): number {
    return this.bytes.size;
  }

  /** Up to `length` bytes from `offset`; fewer only at the end of the bytes. */
  async read(offset: number, length: number): Promise<Buffer> {
    const start = offset - this.offset;
    if (start >= 0 && start + length <= this.data.length) return this.data.subarray(start, start + length);
    this.offset = offset;
    this.data = await this.bytes.read(offset, Math.max(length, WINDOW_BYTES));
    return this.data.subarray(0, length);
  }
}

function sized(header: PictureHeader, width: number, height: number): PictureHeader | undefined {
  const valid = (edge: number) => Number.isInteger(edge) && edge > 0 && edge <= MAX_DIMENSION;
  return valid(width) && valid(height) ? { ...header, width, height } : undefined;
}

/**
 * A HEIF/AVIF still's primary item (shared/media/heif.ts): its shown size, after irot/clap, since that is what
 * every decoder here outputs. A sequence (with a 'moov' track) is left to ffprobe.
 */
async function heifHeader(reader: WindowReader): Promise<PictureHeader | undefined> {
  const heif = await readHeifHeader(reader);
  return heif ? sized({ codec: heif.codec, frames: 1 }, heif.width, heif.height) : undefined;
}

/** ffmpeg's pixel formats for PNG colour type × bit depth (PNG 1.2 §4.1.1); 1/2/4-bit grey decodes to gray/monob. */
const PNG_PIXEL_FORMATS: Readonly<Record<string, string>> = {
  '0/1': 'monob',
  '0/2': 'gray',
  '0/4': 'gray',
  '0/8': 'gray',
  '0/16': 'gray16be',
  '2/8': 'rgb24',
  '2/16': 'rgb48be',
  '3/1': 'pal8',
  '3/2': 'pal8',
  '3/4': 'pal8',
  '3/8': 'pal8',
  '4/8': 'ya8',
  '4/16': 'ya16be',
  '6/8': 'rgba',
  '6/16': 'rgba64be',
};

/** IHDR is the first chunk; an APNG announces itself with an acTL chunk before the first IDAT. */
async function pngHeader(reader: WindowReader): Promise<PictureHeader | undefined> {
  const ihdr = await reader.read(8, 25);
  if (ihdr.length < 25 || ascii(ihdr, 4, 8) !== 'IHDR') return undefined;
  const pixelFormat = PNG_PIXEL_FORMATS[`${ihdr[17]}/${ihdr[16]}`];
  let header: PictureHeader = { codec: 'png', frames: 1, ...(pixelFormat ? { pixelFormat } : {}) };
  for (let offset = 8, count = 0; offset + 12 <= reader.size && count < MAX_SEGMENTS; count += 1) {
    const chunk = await reader.read(offset, 12);
    if (chunk.length < 12) break;
    const type = ascii(chunk, 4, 8);
    if (type === 'IDAT') break;
    if (type === 'acTL') header = { ...header, codec: 'apng', frames: Math.max(1, chunk.readUInt32BE(8)) };
    offset += 12 + chunk.readUInt32BE(0);
  }
  return sized(header, ihdr.readUInt32BE(8), ihdr.readUInt32BE(12));
}

/** Start-of-frame markers (ITU T.81 Table B.1): every SOFn but DHT (C4), JPG (C8) and DAC (CC). */
const JPEG_SOF = new Set([0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf]);

/** Walks the marker segments to the first SOFn, which holds the frame's lines and samples per line. */
async function jpegHeader(reader: WindowReader): Promise<PictureHeader | undefined> {
  let offset = 2;
  for (let count = 0; count < MAX_SEGMENTS; count += 1) {
    const segment = await reader.read(offset, 9);
    if (segment.length < 4 || segment[0] !== 0xff) return undefined;
    const marker = segment[1]!;
    // Fill bytes (0xFF) may precede a marker; standalone markers (TEM, RSTn) have no length.
    if (marker === 0xff || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      offset += marker === 0xff ? 1 : 2;
      continue;
    }
    // End of image or start of scan before any frame header: there is no size to read.
    if (marker === 0xd9 || marker === 0xda) return undefined;
    if (JPEG_SOF.has(marker)) return segment.length < 9 ? undefined : sized({ codec: 'mjpeg', frames: 1 }, segment.readUInt16BE(7), segment.readUInt16BE(5));
    offset += 2 + segment.readUInt16BE(2);
  }
  return undefined;
}

/** The WebP container (RFC 9649): a simple lossy (VP8) or lossless (VP8L) file, or the extended VP8X form. */
async function webpHeader(head: Buffer, reader: WindowReader): Promise<PictureHeader | undefined> {
  // The longest header read below ends at byte 30 (VP8 and VP8X); VP8L's at byte 25.
  const chunk = ascii(head, 12, 16);
  if (head.length < (chunk === 'VP8L' ? 25 : 30)) return undefined;
  if (chunk === 'VP8 ') {
    // RFC 6386 §9.1: a 3-byte frame tag, the start code 9D 01 2A, then 14-bit width and height.
    if (head[23] !== 0x9d || head[24] !== 0x01 || head[25] !== 0x2a) return undefined;
    return sized({ codec: 'webp', frames: 1, pixelFormat: 'yuv420p' }, head.readUInt16LE(26) & 0x3fff, head.readUInt16LE(28) & 0x3fff);
  }
  if (chunk === 'VP8L') {
    // The lossless bitstream: signature 0x2F, then 14-bit width − 1 and height − 1, least significant bits first.
    if (head[20] !== 0x2f) return undefined;
    const bits = head.readUInt32LE(21);
    return sized({ codec: 'webp', frames: 1, pixelFormat: 'argb' }, (bits & 0x3fff) + 1, ((bits >>> 14) & 0x3fff) + 1);
  }
  if (chunk !== 'VP8X') return undefined;
  const animated = (head[20]! & 0x02) !== 0;
  const frames = animated ? await countWebpFrames(reader) : 1;
  return sized({ codec: 'webp', frames }, head.readUIntLE(24, 3) + 1, head.readUIntLE(27, 3) + 1);
}

/** An animation's frames are its ANMF chunks; chunks are padded to an even size. 0 (unknown) past the walk's bound. */
async function countWebpFrames(reader: WindowReader): Promise<number> {
  let frames = 0;
  for (let offset = 12, count = 0; offset + 8 <= reader.size; count += 1) {
    if (count >= MAX_WEBP_CHUNKS) return 0;
    const chunk = await reader.read(offset, 8);
    if (chunk.length < 8) break;
    if (ascii(chunk, 0, 4) === 'ANMF') frames += 1;
    const size = chunk.readUInt32LE(4);
    offset += 8 + size + (size % 2);
  }
  return frames;
}

/** TIFF 6.0 §2: the first IFD's ImageWidth (256) and ImageLength (257), each a SHORT or a LONG. BigTIFF is not read. */
async function tiffHeader(head: Buffer, reader: WindowReader): Promise<PictureHeader | undefined> {
  if (head.length < 8 || head[2] === 0x2b || head[3] === 0x2b) return undefined;
  const little = head[0] === 0x49;
  const u16 = (buffer: Buffer, at: number) => (little ? buffer.readUInt16LE(at) : buffer.readUInt16BE(at));
  const u32 = (buffer: Buffer, at: number) => (little ? buffer.readUInt32LE(at) : buffer.readUInt32BE(at));
  const ifd = u32(head, 4);
  const countBytes = await reader.read(ifd, 2);
  if (countBytes.length < 2) return undefined;
  const count = Math.min(u16(countBytes, 0), MAX_SEGMENTS);
  const entries = await reader.read(ifd + 2, count * 12);
  const sizes = new Map<number, number>();
  for (let at = 0; at + 12 <= entries.length; at += 12) {
    const tag = u16(entries, at);
    const type = u16(entries, at + 2);
    if ((tag === 256 || tag === 257) && (type === 3 || type === 4)) sizes.set(tag, type === 3 ? u16(entries, at + 8) : u32(entries, at + 8));
  }
  return sized({ codec: 'tiff', frames: 1 }, sizes.get(256) ?? 0, sizes.get(257) ?? 0);
}

/** BITMAPCOREHEADER has 16-bit sizes; the later headers 32-bit ones, with a negative height for top-down rows. */
function bmpHeader(head: Buffer): PictureHeader | undefined {
  if (head.length < 30) return undefined;
  const core = head.readUInt32LE(14) === 12;
  const width = core ? head.readUInt16LE(18) : head.readInt32LE(18);
  const height = core ? head.readUInt16LE(20) : Math.abs(head.readInt32LE(22));
  const bitsPerPixel = core ? head.readUInt16LE(24) : head.readUInt16LE(28);
  const pixelFormat = ({ 8: 'pal8', 24: 'bgr24' } as Readonly<Record<number, string>>)[bitsPerPixel];
  return sized({ codec: 'bmp', frames: 1, ...(pixelFormat ? { pixelFormat } : {}) }, width, height);
}

/**
 * Pixels per unit the way libvips' svgload sizes a document at its default 72 dpi (so a point is a pixel), with
 * librsvg's 12 px font for em and ex; measured against sharp's metadata().
 */
const SVG_UNITS: Readonly<Record<string, number>> = { '': 1, px: 1, pt: 1, pc: 12, in: 72, cm: 72 / 2.54, mm: 72 / 25.4, em: 12, ex: 6 };

/**
 * The root's width and height; where one is missing or a percentage, the viewBox supplies it or the aspect ratio.
 * A document with neither is sized by its drawing, which only a render can tell: the size is then left unstated.
 */
function svgHeader(head: Buffer): PictureHeader {
  const header: PictureHeader = { codec: 'svg', frames: 1 };
  const tag = svgRootTag(head);
  if (!tag) return header;
  const attributes = new Map<string, string>();
  for (const match of tag.matchAll(/([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) attributes.set(match[1]!, match[2] ?? match[3] ?? '');
  const width = svgLength(attributes.get('width'));
  const height = svgLength(attributes.get('height'));
  const box = viewBox(attributes.get('viewBox'));
  const size =
    width !== undefined && height !== undefined
      ? [width, height]
      : box && width !== undefined
        ? [width, (width * box[1]) / box[0]]
        : box && height !== undefined
          ? [(height * box[0]) / box[1], height]
          : box;
  if (!size) return header;
  return sized(header, Math.max(1, Math.round(size[0]!)), Math.max(1, Math.round(size[1]!))) ?? header;
}

function svgLength(value: string | undefined): number | undefined {
  const match = /^\s*\+?(\d*\.?\d+(?:e[+-]?\d+)?)\s*(px|pt|pc|in|cm|mm|em|ex)?\s*$/i.exec(value ?? '');
  if (!match) return undefined;
  const length = Number(match[1]) * SVG_UNITS[(match[2] ?? '').toLowerCase()]!;
  return Number.isFinite(length) && length > 0 ? length : undefined;
}

/** "min-x min-y width height", separated by whitespace and/or a comma; only the width and height matter. */
function viewBox(value: string | undefined): [number, number] | undefined {
  const parts = (value ?? '')
    .trim()
    .split(/[\s,]+/)
    .map(Number);
  if (parts.length !== 4 || parts.some((part) => !Number.isFinite(part))) return undefined;
  const [, , width, height] = parts as [number, number, number, number];
  return width > 0 && height > 0 ? [width, height] : undefined;
}
