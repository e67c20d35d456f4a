/**
 * What a client shows before a thumbnail arrives: a BlurHash, a tiny WebP as a data URI (for clients without a
 * BlurHash decoder), and the dominant colour. All come from one tiny RGBA copy of the smallest rendition.
 */
import { encodeBlurhash } from './blurhash.ts';
import { sharp } from './sharp.ts';
import { fitLongEdge, type Dimensions } from './sizes.ts';

export interface Placeholder {
  blurhash: string;
  /** data:image/webp;base64,…, a few hundred bytes. */
  lqip: string;
  /** '#rrggbb' of the most common colour, weighted by opacity; null for a fully transparent image. */
  dominantColour: string | null;
}

/** Long edge of the pixels the placeholders are computed from: a BlurHash has at most 9×9 components. */
export const PLACEHOLDER_SOURCE_SIZE = 32;
/** Long edge of the LQIP; browsers upscale it with smoothing, which is the blur. */
const LQIP_SIZE = 16;
const LQIP_QUALITY = 40;
/** 4 bits per channel: 4096 bins, coarse enough that noise does not split one colour across many bins. */
const DOMINANT_BITS = 4;

export interface TinyImage {
  /** RGBA, unpremultiplied, PLACEHOLDER_SOURCE_SIZE on the long edge. */
  readonly rgba: Buffer;
  readonly width: number;
  readonly height: number;
}

export async function makePlaceholder(tiny: TinyImage, background: { r: number; g: number; b: number }): Promise<Placeholder> {
  const { rgba, width, height } = tiny;
  const [componentsX, componentsY] = components({ width, height });
  const lqipSize = fitLongEdge({ width, height }, Math.min(LQIP_SIZE, Math.max(width, height)));
  const lqip = await sharp(rgba, { raw: { width, height, channels: 4 } })
    .resize(lqipSize.width, lqipSize.height, { fit: 'fill' })
    .webp({ quality: LQIP_QUALITY, effort: 6, alphaQuality: LQIP_QUALITY })
    .toBuffer();
  return {
    blurhash: encodeBlurhash(flatten(rgba, background), width, height, componentsX, componentsY),
    lqip: `data:image/webp;base64,${lqip.toString('base64')}`,
    dominantColour: dominantColour(rgba),
  };
}

/** Four components along the long side and proportionally fewer across, so a panorama's hash is not mostly noise. */
function components({ width, height }: Dimensions): [number, number] {
  const across = (long: number, short: number): number => Math.max(1, Math.min(4, Math.round((4 * short) / long)));
  return width >= height ? [4, across(width, height)] : [across(height, width), 4];
}

/** BlurHash has no alpha: blend onto the background the JPEG renditions use, so both placeholders agree. */
function flatten(rgba: Buffer, background: { r: number; g: number; b: number }): Uint8Array {
  const rgb = new Uint8Array((rgba.length / 4) * 3);
  for (let pixel = 0, out = 0; pixel < rgba.length; pixel += 4, out += 3) {
    const alpha = rgba[pixel + 3]! / 255;
    rgb[out] = Math.round(rgba[pixel]! * alpha + background.r * (1 - alpha));
    rgb[out + 1] = Math.round(rgba[pixel + 1]! * alpha + background.g * (1 - alpha));
    rgb[out + 2] = Math.round(rgba[pixel + 2]! * alpha + background.b * (1 - alpha));
  }
  return rgb;
}

/** The mean colour of the heaviest histogram bin; transparent pixels weigh nothing. */
export function dominantColour(rgba: Buffer): string | null {
  const shift = 8 - DOMINANT_BITS;
  const bins = 1 << (DOMINANT_BITS * 3);
  const weight = new Float64Array(bins);
  const sums = new Float64Array(bins * 3);
  for (let pixel = 0; pixel < rgba.length; pixel += 4) {
    const [r, g, b, a] = [rgba[pixel]!, rgba[pixel + 1]!, rgba[pixel + 2]!, rgba[pixel + 3]!];
    if (a === 0) continue;
    const bin = ((r >> shift) << (DOMINANT_BITS * 2)) | ((g >> shift) << DOMINANT_BITS) | (b >> shift);
    weight[bin]! += a;
    sums[bin * 3]! += r * a;
    sums[bin * 3 + 1]! += g * a;
    sums[bin * 3 + 2]! += b * a;
  }
  let best = -1;
  for (let bin = 0; bin < bins; bin += 1) if (weight[bin]! > (best === -1 ? 0 : weight[best]!)) best = bin;
  if (best === -1) return null;
  const channel = (offset: number): string =>
    Math.round(sums[best * 3 + offset]! / weight[best]!)
      .toString(16)
      .padStart(2, '0');
  return `#${channel(0)}${channel(1)}${channel(2)}`;
}
