/**
 * Reads the few EXIF fields worth recording on an asset: camera, lens, capture time, exposure, and the rights
 * holder. A deliberately small TIFF reader (EXIF 2.32 §4.6): it walks IFD0 and the Exif IFD and nothing else, so
 * the GPS IFD (tag 0x8825) is never even opened. Malformed EXIF yields what could be read, never an exception:
 * metadata must not fail a thumbnail.
 */

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

const TAG = {
  make: 0x010f,
  model: 0x0110,
  artist: 0x013b,
  copyright: 0x8298,
  exifIfd: 0x8769,
  exposureTime: 0x829a,
  fNumber: 0x829d,
  iso: 0x8827,
  dateTimeOriginal: 0x9003,
  offsetTimeOriginal: 0x9011,
  focalLength: 0x920a,
  lensModel: 0xa434,
} as const;

/** Bytes per component of each TIFF field type (TIFF 6.0 §2); others are not read. */
const TYPE_SIZE: Readonly<Record<number, number>> = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 7: 1, 9: 4, 10: 8 };
/** Far more than any camera writes; bounds the work on a crafted file. */
const MAX_ENTRIES = 1000;
/** Values this long are not camera names; they would bloat the asset document. */
const MAX_TEXT = 96;

interface Entry {
  readonly type: number;
  readonly count: number;
  /** Absolute offset of the value in the buffer. */
  readonly at: number;
}

class TiffReader {
  readonly #view: DataView;
  readonly #little: boolean;
  readonly #base: number;

  constructor(buffer: Buffer, base: number, little: boolean) {
    this.#view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    this.#base = base;
    this.#little = little;
  }

  u16(at: number): number {
    return this.#view.getUint16(at, this.#little);
  }

  u32(at: number): number {
    return this.#view.getUint32(at, this.#little);
  }

  get length(): number {
    return this.#view.byteLength;
  }

  /** The entries of the IFD at a TIFF offset (relative to the TIFF header), keyed by tag. */
  ifd(offset: number): Map<number, Entry> {
    const entries = new Map<number, Entry>();
    const start = this.#base + offset;
    if (offset <= 0 || start + 2 > this.length) return entries;
    const count = Math.min(this.u16(start), MAX_ENTRIES);
    for (let index = 0; index < count; index += 1) {
      const at = start + 2 + index * 12;
      if (at + 12 > this.length) break;
      const type = this.u16(at + 2);
      const components = this.u32(at + 4);
      const size = (TYPE_SIZE[type] ?? 0) * components;
      if (size === 0) continue;
      const valueAt = size <= 4 ? at + 8 : this.#base + this.u32(at + 8);
      if (valueAt + size > this.length) continue;
      entries.set(this.u16(at), { type, count: components, at: valueAt });
    }
    return entries;
  }

  text(entry: Entry | undefined): string | null {
    if (!entry || (entry.type !== 2 && entry.type !== 7)) return null;
    const bytes = new Uint8Array(this.#view.buffer, this.#view.byteOffset + entry.at, entry.count);
    const end = bytes.indexOf(0);
    // EXIF says ASCII; cameras and editors write UTF-8 in practice, which ASCII is a subset of.
    const decoded = new TextDecoder('utf-8').decode(end === -1 ? bytes : bytes.subarray(0, end));
    // eslint-disable-next-line no-control-regex -- stripping control characters is the point
    const clean = decoded.replace(/[\u0000-\u001f\u007f]/g, ' ').replace(/\s+/g, ' ').trim();
    return clean === '' ? null : clean.slice(0, MAX_TEXT);
  }

  number(entry: Entry | undefined): number | null {
    if (!entry) return null;
    switch (entry.type) {
      case 3:
        return this.u16(entry.at);
      case 4:
        return this.u32(entry.at);
      case 5:
      case 10: {
        const signed = entry.type === 10;
        const numerator = signed ? this.#view.getInt32(entry.at, this.#little) : this.u32(entry.at);
        const denominator = signed ? this.#view.getInt32(entry.at + 4, this.#little) : this.u32(entry.at + 4);
        return denominator === 0 ? null : numerator / denominator;
      }
      default:
        return null;
    }
  }
}

/** sharp's `metadata().exif`: an APP1 payload starting "Exif\0\0", or a bare TIFF structure (HEIF, some PNGs). */
export function readExifBasics(exif: Buffer | undefined): ExifBasics | null {
  if (!exif || exif.length < 8) return null;
  const base = exif.toString('latin1', 0, 6) === 'Exif\0\0' ? 6 : 0;
  if (exif.length < base + 8) return null;
  const order = exif.toString('latin1', base, base + 2);
  if (order !== 'II' && order !== 'MM') return null;
  const reader = new TiffReader(exif, base, order === 'II');
  if (reader.u16(base + 2) !== 42) return null;

  const ifd0 = reader.ifd(reader.u32(base + 4));
  const exifPointer = reader.number(ifd0.get(TAG.exifIfd));
  const sub = exifPointer === null ? new Map<number, Entry>() : reader.ifd(exifPointer);
  return {
    make: reader.text(ifd0.get(TAG.make)),
    model: reader.text(ifd0.get(TAG.model)),
    lens: reader.text(sub.get(TAG.lensModel)),
    capturedAt: captureTime(reader.text(sub.get(TAG.dateTimeOriginal)), reader.text(sub.get(TAG.offsetTimeOriginal))),
    exposureTime: exposure(reader.number(sub.get(TAG.exposureTime))),
    fNumber: rounded(reader.number(sub.get(TAG.fNumber)), 1),
    iso: rounded(reader.number(sub.get(TAG.iso)), 0),
    focalLengthMm: rounded(reader.number(sub.get(TAG.focalLength)), 1),
    artist: reader.text(ifd0.get(TAG.artist)),
    copyright: reader.text(ifd0.get(TAG.copyright)),
  };
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
