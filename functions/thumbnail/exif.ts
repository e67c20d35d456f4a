/**
 * Reads the few EXIF fields worth recording on an asset: camera, lens, capture time, exposure, and the rights
 * holder. Parsing is exifr's (github.com/MikeKovarik/exifr), told to walk IFD0 and the Exif IFD and nothing else,
 * so the GPS IFD (tag 0x8825) is never even opened. Malformed EXIF yields what could be read, never an exception:
 * metadata must not fail a thumbnail.
 */
import exifr from 'exifr';

export interface ExifBasics {
  make: string | null;
  model: string | null;
  lens: string | null;
  /** ISO 8601 local time, with the offset when the camera recorded one (OffsetTimeOriginal, EXIF 2.31+). */
  capturedAt: string | null;
  /** "1/250" below a second, "2.5" (seconds) above. */
  exposureTime: string | null;
  fNumber: number | null;
  iso: number | null;
  focalLengthMm: number | null;
  artist: string | null;
  copyright: string | null;
}

const IFD0 = { make: 0x010f, model: 0x0110, artist: 0x013b, copyright: 0x8298 } as const;
const EXIF = {
  exposureTime: 0x829a,
  fNumber: 0x829d,
  iso: 0x8827,
  dateTimeOriginal: 0x9003,
  offsetTimeOriginal: 0x9011,
  focalLength: 0x920a,
  lensModel: 0xa434,
} as const;

/**
 * Every block but IFD0 (which cannot be) and the Exif IFD switched off, GPS first among them. Never add
 * `tiff: true`: that shorthand turns every TIFF block back on, GPS included, whatever `gps` says. Exported for
 * the test that holds it to this.
 */
export const EXIFR_OPTIONS = {
  ifd0: { pick: Object.values(IFD0) },
  exif: { pick: Object.values(EXIF) },
  gps: false,
  interop: false,
  ifd1: false,
  makerNote: false,
  userComment: false,
  xmp: false,
  icc: false,
  iptc: false,
  jfif: false,
  ihdr: false,
  translateKeys: false,
  translateValues: false,
  reviveValues: false,
  mergeOutput: false,
} satisfies Parameters<typeof exifr.parse>[1];

/** Values this long are not camera names; they would bloat the asset document. */
const MAX_TEXT = 96;

type Block = ReadonlyMap<number, unknown>;

/** sharp's `metadata().exif`: an APP1 payload starting "Exif\0\0", or a bare TIFF structure (HEIF, some PNGs). */
export async function readExifBasics(exif: Buffer | undefined): Promise<ExifBasics | null> {
  if (!exif || exif.length < 8) return null;
  const tiff = exif.toString('latin1', 0, 6) === 'Exif\0\0' ? exif.subarray(6) : exif;
  if (tiff.length < 8) return null;
  const order = tiff.toString('latin1', 0, 2);
  if (order !== 'II' && order !== 'MM') return null;
  if ((order === 'II' ? tiff.readUInt16LE(2) : tiff.readUInt16BE(2)) !== 42) return null;

  const [ifd0, sub] = await parse(tiff);
  return {
    make: text(ifd0.get(IFD0.make)),
    model: text(ifd0.get(IFD0.model)),
    lens: text(sub.get(EXIF.lensModel)),
    capturedAt: captureTime(text(sub.get(EXIF.dateTimeOriginal)), text(sub.get(EXIF.offsetTimeOriginal))),
    exposureTime: exposure(number(sub.get(EXIF.exposureTime))),
    fNumber: rounded(number(sub.get(EXIF.fNumber)), 1),
    iso: rounded(number(sub.get(EXIF.iso)), 0),
    focalLengthMm: rounded(number(sub.get(EXIF.focalLength)), 1),
    artist: text(ifd0.get(IFD0.artist)),
    copyright: text(ifd0.get(IFD0.copyright)),
  };
}

/** IFD0 and the Exif IFD, tag → value; a block exifr could not read (it records the error and goes on) is empty. */
async function parse(tiff: Buffer): Promise<[Block, Block]> {
  let output: unknown;
  try {
    output = await exifr.parse(tiff, EXIFR_OPTIONS);
  } catch {
    return [new Map(), new Map()];
  }
  return [block(output, 'ifd0'), block(output, 'exif')];
}

function block(output: unknown, name: 'ifd0' | 'exif'): Block {
  const found = typeof output === 'object' && output !== null ? (output as Record<string, unknown>)[name] : undefined;
  const tags = new Map<number, unknown>();
  if (typeof found !== 'object' || found === null) return tags;
  for (const [key, value] of Object.entries(found)) if (/^\d+$/.test(key)) tags.set(Number(key), value);
  return tags;
}

function text(value: unknown): string | null {
  // EXIF says ASCII; cameras and editors write UTF-8 in practice, which ASCII is a subset of.
  const raw = typeof value === 'string' ? value : value instanceof Uint8Array ? new TextDecoder('utf-8').decode(value) : null;
  if (raw === null) return null;
  const end = raw.indexOf('\0');
  const clean = (end === -1 ? raw : raw.slice(0, end))
    // eslint-disable-next-line no-control-regex -- stripping control characters is the point
    .replace(/[\u0000-\u001f\u007f]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return clean === '' ? null : clean.slice(0, MAX_TEXT);
}

/** A count above one (ISOSpeedRatings may carry two) comes as an array: the first is the value. */
function number(value: unknown): number | null {
  const first = Array.isArray(value) ? (value as unknown[])[0] : value;
  return typeof first === 'number' ? first : null;
}

/** "2024:05:01 12:34:56" (+ "+02:00") → "2024-05-01T12:34:56+02:00"; blank or zeroed dates (cameras write both) → null. */
function captureTime(dateTime: string | null, offset: string | null): string | null {
  const match = dateTime ? /^(\d{4}):(\d{2}):(\d{2})[ T](\d{2}):(\d{2}):(\d{2})/.exec(dateTime) : null;
  if (!match || match[1] === '0000') return null;
  const [, year, month, day, hour, minute, second] = match;
  const zone = offset && /^[+-]\d{2}:\d{2}$/.test(offset) ? offset : '';
  return `${year}-${month}-${day}T${hour}:${minute}:${second}${zone}`;
}

function exposure(seconds: number | null): string | null {
  if (seconds === null || !(seconds > 0)) return null;
  if (seconds >= 1) return String(rounded(seconds, 1));
  return `1/${Math.round(1 / seconds)}`;
}

function rounded(value: number | null, digits: number): number | null {
  if (value === null || !Number.isFinite(value) || value <= 0) return null;
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
