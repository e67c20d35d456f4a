import { describe, expect, it } from 'vitest';
import type { ByteSource } from '../../shared/media/input.ts';
import { formatOfCodec, readImageHeader, sniff, svgRootTag, type ImageFormat } from '../../shared/media/sniff.ts';

const bytes = (...parts: (string | number[] | Buffer)[]): Buffer =>
  Buffer.concat(parts.map((part) => (typeof part === 'string' ? Buffer.from(part, 'latin1') : Buffer.isBuffer(part) ? part : Buffer.from(part))));
const inMemory = (data: Buffer): ByteSource => ({ size: data.length, read: async (offset, length) => data.subarray(offset, offset + length) });
const u32be = (value: number) => [(value >>> 24) & 0xff, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff];
const u16le = (value: number) => [value & 0xff, value >>> 8];
const u32le = (value: number) => [value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, value >>> 24];

/** A PNG head: signature, IHDR (no CRC check is made), then the given chunk types with empty bodies. */
function pngHead(width: number, height: number, colourType: number, bitDepth: number, chunks: string[] = []): Buffer {
  const crc = [0, 0, 0, 0];
  return bytes(
    [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a],
    u32be(13),
    'IHDR',
    u32be(width),
    u32be(height),
    [bitDepth, colourType, 0, 0, 0],
    crc,
    ...chunks.flatMap((type) => (type === 'acTL' ? [u32be(8), type, u32be(12), u32be(0), crc] : [u32be(0), type, crc])),
  );
}

describe('sniff', () => {
  it.each<[string, Buffer, ImageFormat]>([
    ['JPEG', bytes([0xff, 0xd8, 0xff, 0xe0]), 'jpeg'],
    ['PNG', pngHead(1, 1, 2, 8), 'png'],
    ['GIF87a', bytes('GIF87a'), 'gif'],
    ['GIF89a', bytes('GIF89a'), 'gif'],
    ['WebP', bytes('RIFF', [0, 0, 0, 0], 'WEBPVP8 '), 'webp'],
    ['little-endian TIFF', bytes('II*\0', u32le(8)), 'tiff'],
    ['big-endian TIFF', bytes('MM\0*', u32be(8)), 'tiff'],
    ['BMP', bytes('BM', u32le(0), u32le(0), u32le(54), u32le(40)), 'bmp'],
    ['ICO', bytes([0, 0, 1, 0, 1, 0]), 'ico'],
    ['AVIF', bytes(u32be(24), 'ftypavif'), 'heif'],
    ['HEIC', bytes(u32be(24), 'ftypheic'), 'heif'],
    ['HEIF (mif1)', bytes(u32be(24), 'ftypmif1'), 'heif'],
    ['AVIF sequence', bytes(u32be(24), 'ftypavis'), 'heif'],
    ['JPEG XL codestream', bytes([0xff, 0x0a]), 'jxl'],
    ['JPEG XL container', bytes([0, 0, 0, 0x0c], 'JXL ', [0x0d, 0x0a, 0x87, 0x0a]), 'jxl'],
    ['JPEG 2000', bytes([0, 0, 0, 0x0c], 'jP  ', [0x0d, 0x0a, 0x87, 0x0a]), 'jpeg2000'],
    ['PSD', bytes('8BPS', [0, 1]), 'psd'],
    ['QOI', bytes('qoif'), 'qoi'],
    ['OpenEXR', bytes([0x76, 0x2f, 0x31, 0x01]), 'exr'],
    ['ASCII PPM, which is text', bytes('P3\n2 2\n255\n'), 'netpbm'],
    ['XPM, which is text', bytes('/* XPM */\nstatic char *x[] = {'), 'xpm'],
    ['XBM, which is text', bytes('#define icon_width 16\n#define icon_height 16\n'), 'xbm'],
    ['bare SVG', bytes('<svg xmlns="http://www.w3.org/2000/svg" width="16000" height="16000"/>'), 'svg'],
    ['SVG after a BOM and an XML declaration', bytes([0xef, 0xbb, 0xbf], '<?xml version="1.0" encoding="UTF-8"?>\n<svg>'), 'svg'],
    [
      'SVG after comments and a doctype',
      bytes(
        '<!-- by hand -->\n<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">\n<!-- b --><svg\n width="1">',
      ),
      'svg',
    ],
    ['SVG after a doctype with an internal subset', bytes('<!DOCTYPE svg [ <!ENTITY w "10"> <!ENTITY x "<a>"> ]>\n<svg width="&w;">'), 'svg'],
    ['SVG with a namespace prefix', bytes('<?xml version="1.0"?><svg:svg xmlns:svg="http://www.w3.org/2000/svg"/>'), 'svg'],
  ])('recognises %s', (_name, head, format) => {
    expect(sniff(head)).toEqual({ kind: 'image', format });
  });

  it.each<[string, Buffer]>([
    ['plain text', bytes('hello, this is not a jpeg at all\n')],
    ['HTML with an inline SVG', bytes('<!DOCTYPE html><html><body><svg width="10"></svg></body></html>')],
    ['XML whose root is not svg', bytes('<?xml version="1.0"?><svgish width="1"/>')],
    ['an unterminated comment before an SVG', bytes('<!-- <svg width="1">')],
    ['BM followed by text, not a bitmap header', bytes('BMW owners manual, chapter one: the engine')],
  ])('calls %s text', (_name, head) => {
    expect(sniff(head)).toEqual({ kind: 'text' });
  });

  it.each<[string, Buffer]>([
    ['an MP4', bytes(u32be(32), 'ftypisom', [0, 0, 2, 0])],
    ['an MP3 frame', bytes([0xff, 0xfb, 0x90, 0x64, 0x00])],
    ['random bytes', bytes([0x00, 0x13, 0x37, 0x80, 0xfe])],
    ['a JPEG missing its third signature byte', bytes([0xff, 0xd8, 0x00, 0x00])],
    ['a RIFF WAVE, not WebP', bytes('RIFF', [0, 0, 0, 0], 'WAVEfmt ', [0x10, 0, 0, 0])],
  ])('does not recognise %s', (_name, head) => {
    expect(sniff(head)).toEqual({ kind: 'unknown' });
  });

  it('maps ffprobe codecs to the signature their bytes must carry', () => {
    expect([formatOfCodec('mjpeg'), formatOfCodec('apng'), formatOfCodec('ppm'), formatOfCodec('targa'), formatOfCodec('toString')]).toEqual([
      'jpeg',
      'png',
      'netpbm',
      undefined,
      undefined,
    ]);
  });

  it('returns the root tag of an SVG, quoted > included', () => {
    expect(svgRootTag(bytes('<svg a="x>y" width="3">…</svg>'))).toBe('<svg a="x>y" width="3">');
  });
});

describe('readImageHeader', () => {
  const header = (format: ImageFormat, head: Buffer) => readImageHeader(format, head, inMemory(head));

  it.each<[string, number, number, string]>([
    ['8-bit RGB', 2, 8, 'rgb24'],
    ['16-bit RGBA', 6, 16, 'rgba64be'],
    ['8-bit grey', 0, 8, 'gray'],
    ['palette', 3, 8, 'pal8'],
  ])('reads a %s PNG from IHDR', async (_name, colourType, bitDepth, pixelFormat) => {
    expect(await header('png', pngHead(16000, 20000, colourType, bitDepth, ['IDAT']))).toEqual({
      codec: 'png',
      frames: 1,
      width: 16000,
      height: 20000,
      pixelFormat,
    });
  });

  it('reads an APNG from its acTL chunk', async () => {
    expect(await header('png', pngHead(64, 48, 6, 8, ['acTL', 'IDAT']))).toMatchObject({ codec: 'apng', frames: 12, width: 64, height: 48 });
  });

  it('walks JPEG segments to the frame header', async () => {
    const exif = bytes([0xff, 0xe1], [0x00, 0x10], 'Exif\0\0', Array<number>(8).fill(0));
    const sof = bytes([0xff, 0xc2, 0x00, 0x11, 0x08], [0x4e, 0x20], [0x3e, 0x80], [0x03]);
    expect(await header('jpeg', bytes([0xff, 0xd8], exif, [0xff], sof))).toEqual({ codec: 'mjpeg', frames: 1, width: 16000, height: 20000 });
  });

  it('reads GIF, lossy, lossless and extended WebP, TIFF, BMP, PSD and QOI sizes', async () => {
    const vp8 = bytes('RIFF', u32le(0), 'WEBPVP8 ', u32le(0), [0, 0, 0, 0x9d, 0x01, 0x2a], u16le(640), u16le(480));
    const vp8l = bytes('RIFF', u32le(0), 'WEBPVP8L', u32le(0), [0x2f], u32le((639 | (479 << 14)) >>> 0), [0]);
    const vp8x = bytes('RIFF', u32le(0), 'WEBPVP8X', u32le(10), [0x10, 0, 0, 0], [0x7f, 0x02, 0x00], [0xdf, 0x01, 0x00], [0, 0]);
    const tiff = bytes('II*\0', u32le(8), u16le(2), u16le(256), u16le(4), u32le(1), u32le(640), u16le(257), u16le(3), u32le(1), u16le(480), u16le(0));
    const bmp = bytes('BM', u32le(0), u32le(0), u32le(54), u32le(40), u32le(640), u32le(-480 >>> 0), u16le(1), u16le(24));
    const psd = bytes('8BPS', [0, 1], Array<number>(6).fill(0), [0, 3], u32be(480), u32be(640), [0, 8, 0, 3]);
    const sizes = await Promise.all([
      header('gif', bytes('GIF89a', u16le(640), u16le(480))),
      header('webp', vp8),
      header('webp', vp8l),
      header('webp', vp8x),
      header('tiff', tiff),
      header('bmp', bmp),
      header('psd', psd),
      header('qoi', bytes('qoif', u32be(640), u32be(480), [4, 0])),
    ]);
    expect(sizes.map((facts) => [facts?.width, facts?.height])).toEqual(Array(8).fill([640, 480]));
  });

  it('counts the frames of an animated WebP', async () => {
    const frame = bytes('ANMF', u32le(2), [0, 0]);
    const webp = bytes(
      'RIFF',
      u32le(0),
      'WEBPVP8X',
      u32le(10),
      [0x12, 0, 0, 0],
      [0x3f, 0, 0],
      [0x3f, 0, 0],
      'ANIM',
      u32le(6),
      Array<number>(6).fill(0),
      frame,
      frame,
      frame,
    );
    expect(await header('webp', webp)).toEqual({ codec: 'webp', frames: 3, width: 64, height: 64 });
  });

  it.each<[string, string, [number, number] | undefined]>([
    ['width and height', 'width="16000" height="16000"', [16000, 16000]],
    ['units at 72 dpi', 'width="1in" height="2cm"', [72, 57]],
    ['points, millimetres and em', 'width="72pt" height="10mm"', [72, 28]],
    ['a viewBox alone', 'viewBox="0 0 300 200"', [300, 200]],
    ['percentages, which defer to the viewBox', 'width="50%" height="50%" viewBox="0,0,300,200"', [300, 200]],
    ['a width and the viewBox aspect', 'width="400" viewBox="0 0 300 200"', [400, 267]],
    ['nothing to size it by', '', undefined],
  ])('sizes an SVG from %s as sharp does', async (_name, attributes, size) => {
    const facts = await header(
      'svg',
      bytes(`<?xml version="1.0"?>\n<!-- x -->\n<svg xmlns="http://www.w3.org/2000/svg" ${attributes}><rect width="10" height="10"/></svg>`),
    );
    expect(facts).toEqual({ codec: 'svg', frames: 1, ...(size ? { width: size[0], height: size[1] } : {}) });
  });

  it('gives up on damaged headers and formats it has no reader for', async () => {
    expect(await header('png', bytes([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], u32be(13), 'IDAT'))).toBeUndefined();
    expect(await header('jpeg', bytes([0xff, 0xd8, 0xff, 0xd9]))).toBeUndefined();
    expect(await header('png', pngHead(0, 10, 2, 8))).toBeUndefined();
    expect(await header('heif', bytes(u32be(24), 'ftypavif'))).toBeUndefined();
  });
});
