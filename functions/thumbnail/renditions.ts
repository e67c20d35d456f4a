/**
 * The still renditions of one picture, decoded once.
 *
 * sharp's clone() does not share a decode: every clone runs the whole pipeline from the file again. So the source
 * is decoded exactly once, straight to the largest size needed (with libjpeg's shrink-on-load when the source is
 * at least twice that size), orientation applied and colour converted to sRGB, into memory. Each smaller size is
 * then resized from the next larger one (a 2048 → 1280 → 640 → 320 → 160 cascade, each step at most 2× with
 * Lanczos-3, which filters as well as one big step and reads far fewer pixels), and every size × format encode
 * works from those pixels. The encodes run largest first, one per core: the cores stay busy with the expensive
 * AVIF encodes while the small ones fill the gaps, and no more encoders are alive at once than can run (libaom
 * holds about 100 MB for a 2048 px image; libuv's four pool threads would otherwise keep four of them alive).
 */
import os from 'node:os';
import { encode, type EncodeOptions, type RawImage } from './encoders.ts';
import type { SourceFacts } from './inspect.ts';
import { PLACEHOLDER_SOURCE_SIZE, type TinyImage } from './placeholder.ts';
import type { EncoderSettings, StillFormat } from './profiles.ts';
import { PIPELINE_TIMEOUT_SECONDS, sharp } from './sharp.ts';
import { fitLongEdge, type Dimensions } from './sizes.ts';
import { isSvg, svgDensity } from './svg.ts';

/** Encoders alive at once: one per core this process may use. */
export const ENCODE_CONCURRENCY = os.availableParallelism();

export interface EncodedRendition {
  /** The long edge the rendition was made for; also its file name. */
  readonly size: number;
  readonly width: number;
  readonly height: number;
  readonly format: StillFormat;
  readonly data: Buffer;
}

export interface StillSet {
  readonly renditions: EncodedRendition[];
  readonly tiny: TinyImage;
  /** Some pixel is not fully opaque, so the WebP and AVIF renditions carry alpha. */
  readonly transparent: boolean;
}

export interface DecodeOptions {
  readonly maxInputPixels: number;
  /** Which frame of an animation or page of a multi-page file. */
  readonly page?: number;
}

/** The one decode: the source at `longEdge`, oriented, 8-bit sRGB (or grey), unpremultiplied. */
export async function decodeMaster(path: string, facts: SourceFacts, longEdge: number, options: DecodeOptions): Promise<RawImage> {
  const target = fitLongEdge(facts.display, longEdge);
  // An SVG is drawn straight at the target size rather than at the size it declares and then shrunk.
  const density = isSvg(facts.format) ? { density: svgDensity(facts.display, longEdge) } : {};
  // failOn 'error': warnings such as "extraneous bytes before marker", common in camera files, still render.
  // Orientation as the facts say: a HEIC's decoded JPEG keeps the EXIF Orientation that libheif's irot already
  // applied (heif.ts), so its facts say 1 and the tag is not applied twice. For any other file this is the same.
  let pipeline = sharp(path, {
    limitInputPixels: options.maxInputPixels,
    autoOrient: facts.orientation !== 1,
    failOn: 'error',
    page: options.page ?? 0,
    ...density,
  }).timeout({ seconds: PIPELINE_TIMEOUT_SECONDS });
  if (target.width !== facts.display.width || target.height !== facts.display.height) {
    pipeline = pipeline.resize(target.width, target.height, { fit: 'fill', kernel: 'lanczos3' });
  }
  if (facts.space === 'rgb16' && facts.icc) {
    // sharp 0.35 imports a 16-bit RGB source with an embedded profile into Display P3 and then only casts it to
    // 8 bits, so the pixels would be P3 numbers read as sRGB (oversaturated). An output transform from its
    // processing space to sRGB puts them right; 8-bit sources and untagged 16-bit ones go the ordinary way.
    pipeline = pipeline.withIccProfile('srgb');
  }
  const { data, info } = await pipeline
    .toColourspace(isGrey(facts) ? 'b-w' : 'srgb')
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

export function isGrey(facts: Pick<SourceFacts, 'space'>): boolean {
  return facts.space === 'b-w' || facts.space === 'grey16';
}

/** Every size × format from the master; `sizes` is largest first and its first entry is the master's size. */
export async function renderFromMaster(
  decoded: RawImage,
  display: Dimensions,
  sizes: readonly number[],
  formats: readonly EncoderSettings[],
  options: EncodeOptions,
): Promise<StillSet> {
  const { image: master, transparent } = dropOpaqueAlpha(decoded);
  const scaled: [number, RawImage][] = [[sizes[0]!, master]];
  for (const size of sizes.slice(1)) scaled.push([size, await resize(scaled.at(-1)![1], fitLongEdge(display, size))]);

  const jobs = scaled.flatMap(([size, image]) =>
    formats.map((settings) => async (): Promise<EncodedRendition> => ({
      size,
      width: image.width,
      height: image.height,
      format: settings.format,
      data: await encode(image, settings, options),
    })),
  );
  const smallest = scaled.at(-1)![1];
  const [renditions, tiny] = await Promise.all([inOrder(jobs, ENCODE_CONCURRENCY), tinyCopy(smallest, display)]);
  return { renditions, tiny, transparent };
}

/** Runs the jobs `limit` at a time, starting them in order; results keep the jobs' order. */
async function inOrder<T>(jobs: readonly (() => Promise<T>)[], limit: number): Promise<T[]> {
  const results: T[] = new Array<T>(jobs.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let index = next++; index < jobs.length; index = next++) results[index] = await jobs[index]!();
  };
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, worker));
  return results;
}

async function resize(image: RawImage, to: Dimensions): Promise<RawImage> {
  const { data, info } = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: image.channels } })
    .timeout({ seconds: PIPELINE_TIMEOUT_SECONDS })
    .resize(to.width, to.height, { fit: 'fill', kernel: 'lanczos3' })
    .toColourspace(image.channels <= 2 ? 'b-w' : 'srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

async function tinyCopy(image: RawImage, display: Dimensions): Promise<TinyImage> {
  const to = fitLongEdge(display, Math.min(PLACEHOLDER_SOURCE_SIZE, Math.max(image.width, image.height)));
  const { data, info } = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: image.channels } })
    .resize(to.width, to.height, { fit: 'fill' })
    .toColourspace('srgb')
    .ensureAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { rgba: data, width: info.width, height: info.height };
}

/**
 * PNGs and WebPs are often saved with an alpha channel that is 255 everywhere. Encoding it would cost bytes and
 * CPU in every rendition and make clients composite for nothing, so a fully opaque alpha is dropped.
 */
export function dropOpaqueAlpha(image: RawImage): { image: RawImage; transparent: boolean } {
  if (image.channels !== 2 && image.channels !== 4) return { image, transparent: false };
  const { data, channels } = image;
  for (let at = channels - 1; at < data.length; at += channels) {
    if (data[at] !== 255) return { image, transparent: true };
  }
  const colour = channels - 1;
  const opaque = Buffer.allocUnsafe((data.length / channels) * colour);
  for (let from = 0, to = 0; from < data.length; from += channels) {
    for (let band = 0; band < colour; band += 1) opaque[to++] = data[from + band]!;
  }
  return { image: { ...image, data: opaque, channels: colour as 1 | 3 }, transparent: false };
}
