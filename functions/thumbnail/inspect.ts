/**
 * What an image is, from its header alone: size, orientation, colour, frames, EXIF. Enforces the pixel budget
 * before anything is decoded, so a decompression bomb costs a header read.
 */
import { assertWithinBudget, classifySharpError } from './errors.ts';
import { readExifBasics, type ExifBasics } from './exif.ts';
import { readIcc, type IccSummary } from './icc.ts';
import { sharp } from './sharp.ts';
import { isSvg } from './svg.ts';
import type { Dimensions } from './sizes.ts';

export interface SourceFacts {
  /** sharp's decoder name: jpeg, png, webp, gif, heif, tiff, svg, … */
  format: string;
  /** One frame as stored, before orientation. */
  width: number;
  height: number;
  /** As shown: EXIF orientation applied. */
  display: Dimensions;
  /** EXIF Orientation (EXIF 2.32 tag 0x0112), 1 when absent. */
  orientation: number;
  /** libvips' interpretation: srgb, b-w, cmyk, rgb16, grey16, … */
  space: string;
  bitDepth: number;
  channels: number;
  hasAlpha: boolean;
  icc: IccSummary | null;
  exif: ExifBasics | null;
  /** Frames of an animation (GIF, WebP); 1 for a still, and for a multi-page TIFF, which is not an animation. */
  frames: number;
  /** Animation loop count (0 = forever) and per-frame delays in ms, carried into the animated WebP. */
  loop: number;
  delay: readonly number[];
}

const ANIMATED_FORMATS = new Set(['gif', 'webp']);
const BIT_DEPTH: Readonly<Record<string, number>> = { uchar: 8, char: 8, ushort: 16, short: 16, uint: 32, int: 32, float: 32, double: 64 };

export async function inspectImage(path: string, maxInputPixels: number): Promise<SourceFacts> {
  // No decoder limit here: metadata() reads the header only, and the budget below words the refusal for people.
  const meta = await sharp(path, { limitInputPixels: false })
    .metadata()
    .catch((error: unknown) => {
      throw classifySharpError(error);
    });
  // An SVG is drawn at the renditions' size (svg.ts), so what it declares is not what will be decoded.
  if (!isSvg(meta.format)) assertWithinBudget(meta.width, meta.height, 1, maxInputPixels);
  const frames = ANIMATED_FORMATS.has(meta.format) ? Math.max(1, meta.pages ?? 1) : 1;
  return {
    format: meta.format,
    width: meta.width,
    height: meta.height,
    display: { width: meta.autoOrient.width, height: meta.autoOrient.height },
    orientation: meta.orientation ?? 1,
    space: meta.space,
    bitDepth: BIT_DEPTH[meta.depth] ?? 8,
    channels: meta.channels,
    hasAlpha: meta.hasAlpha,
    icc: readIcc(meta.icc),
    exif: await readExifBasics(meta.exif),
    frames,
    loop: meta.loop ?? 0,
    delay: meta.delay ?? [],
  };
}
