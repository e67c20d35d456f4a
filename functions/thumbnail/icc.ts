/**
 * Names an embedded ICC profile and tells whether it is wider than sRGB (ICC.1:2010 §7 header, §9 tags). Only
 * matrix/TRC RGB profiles carry colorant tags (rXYZ, gXYZ, bXYZ); for others the gamut is reported unknown.
 */

export interface IccSummary {
  /** The profile's own description ("Display P3", "Adobe RGB (1998)"), or null when it has none. */
  description: string | null;
  /** The header's data colour space: 'RGB', 'CMYK', 'GRAY', … */
  colourSpace: string;
  /** Gamut notably larger than sRGB's (Display P3, Adobe RGB, ProPhoto); null when the profile does not say. */
  wideGamut: boolean | null;
}

const HEADER_BYTES = 128;
const MAX_TAGS = 100;
const MAX_DESCRIPTION = 96;
/** Display P3 is 1.36× sRGB's area in xy; 1.1 leaves room for sRGB variants written by different tools. */
const WIDE_GAMUT_AREA_RATIO = 1.1;
/** The D50-adapted colorants of the ICC sRGB profile (IEC 61966-2-1), as every sRGB profile carries them. */
const SRGB_COLORANTS: readonly Xyz[] = [
  [0.4361, 0.2225, 0.0139],
  [0.3851, 0.7169, 0.0971],
  [0.1431, 0.0606, 0.7141],
];

type Xyz = readonly [number, number, number];

export function readIcc(profile: Buffer | undefined): IccSummary | null {
  if (!profile || profile.length < HEADER_BYTES + 4 || profile.toString('latin1', 36, 40) !== 'acsp') return null;
  const tags = new Map<string, { offset: number; size: number }>();
  const count = Math.min(profile.readUInt32BE(HEADER_BYTES), MAX_TAGS);
  for (let index = 0; index < count; index += 1) {
    const at = HEADER_BYTES + 4 + index * 12;
    if (at + 12 > profile.length) break;
    const offset = profile.readUInt32BE(at + 4);
    const size = profile.readUInt32BE(at + 8);
    if (offset + size <= profile.length) tags.set(profile.toString('latin1', at, at + 4), { offset, size });
  }
  const read = (signature: string): Buffer | undefined => {
    const tag = tags.get(signature);
    return tag ? profile.subarray(tag.offset, tag.offset + tag.size) : undefined;
  };
  const colorants = ['rXYZ', 'gXYZ', 'bXYZ'].map((signature) => xyz(read(signature))).filter((colorant) => colorant !== undefined);
  return {
    description: description(read('desc')),
    colourSpace: profile.toString('latin1', 16, 20).trim(),
    wideGamut: colorants.length === 3 ? gamutArea(colorants) / gamutArea(SRGB_COLORANTS) > WIDE_GAMUT_AREA_RATIO : null,
  };
}

/** ICC v2 'desc' (textDescriptionType: ASCII) or v4 'mluc' (UTF-16BE records; the first is taken). */
function description(tag: Buffer | undefined): string | null {
  if (!tag || tag.length < 12) return null;
  const type = tag.toString('latin1', 0, 4);
  let text: string | undefined;
  if (type === 'desc') {
    const length = tag.readUInt32BE(8);
    text = tag.toString('latin1', 12, Math.min(tag.length, 12 + length));
  } else if (type === 'mluc' && tag.length >= 28) {
    const length = tag.readUInt32BE(20);
    const offset = tag.readUInt32BE(24);
    // Copied before swapping: swap16 works in place, and the buffer is sharp's metadata.
    if (offset + length <= tag.length)
      text = Buffer.from(tag.subarray(offset, offset + length - (length % 2)))
        .swap16()
        .toString('utf16le');
  }
  // eslint-disable-next-line no-control-regex -- NUL padding and stray control bytes are common in 'desc'
  const clean = text?.replace(/[\u0000-\u001f]/g, '').trim();
  return clean ? clean.slice(0, MAX_DESCRIPTION) : null;
}

/** XYZType: 'XYZ ', 4 reserved bytes, then three s15Fixed16Number. */
function xyz(tag: Buffer | undefined): Xyz | undefined {
  if (!tag || tag.length < 20 || tag.toString('latin1', 0, 4) !== 'XYZ ') return undefined;
  return [tag.readInt32BE(8) / 65536, tag.readInt32BE(12) / 65536, tag.readInt32BE(16) / 65536];
}

/** Area of the primaries' triangle in CIE xy: comparable across profiles adapted to the same white (D50). */
function gamutArea(colorants: readonly Xyz[]): number {
  const [r, g, b] = colorants.map(([x, y, z]) => [x / (x + y + z), y / (x + y + z)] as const);
  if (!r || !g || !b) return 0;
  return Math.abs((g[0] - r[0]) * (b[1] - r[1]) - (b[0] - r[0]) * (g[1] - r[1])) / 2;
}
