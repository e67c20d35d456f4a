/**
 * An audio file's cover art as the squares music apps show: a centre crop at 640, 300 and 64 px in the profile's
 * formats, with the same placeholders (BlurHash, LQIP, dominant colour) as any picture. Decoded once, straight to
 * the largest square, then cascaded down (renditions.ts). Never upscaled: a 500 px cover gets 300 and 64 only, and
 * the outputs say which sizes were left out and why.
 */
import type { StepRunContext } from '../../shared/domain/step.ts';
import type { DerivativeTarget } from '../../shared/runtime/derivatives.ts';
import { withServedSource } from '../../shared/runtime/source-server.ts';
import type { RawImage } from './encoders.ts';
import { classifySharpError } from './errors.ts';
import type { CoverParams } from './cover-plan.ts';
import { fetchCover, type CoverFile } from './cover-source.ts';
import { encodeOptions, parseHexColour } from './image.ts';
import { uploadRenditions, type CoverOutputs, type Derivative } from './outputs.ts';
import { makePlaceholder, type Placeholder } from './placeholder.ts';
import type { ThumbnailProfile } from './profiles.ts';
import { isGrey, renderFromMaster, type StillSet } from './renditions.ts';
import { PIPELINE_TIMEOUT_SECONDS, sharp } from './sharp.ts';

/** Square edges streaming apps ask for: full-screen player, list tile, notification/lock-screen icon. */
export const COVER_SIZES: readonly number[] = [640, 300, 64];

export interface CoverResult {
  readonly inputMd5: string;
  readonly result: { readonly outputs: CoverOutputs; readonly usedFfmpeg: boolean };
}

/** Which of COVER_SIZES a square of `side` px can give without upscaling; a tiny cover still gets its own size. */
export function coverSizes(side: number): { sizes: number[]; skipped: number[] } {
  const sizes = COVER_SIZES.filter((size) => size <= side);
  const skipped = COVER_SIZES.filter((size) => size > side);
  return sizes.length > 0 ? { sizes, skipped } : { sizes: [side], skipped };
}

/** The audio is served with byte ranges, never copied: only the picture's bytes are read (cover-source.ts). */
export function runCover(params: CoverParams, profile: ThumbnailProfile, target: DerivativeTarget, context: StepRunContext): Promise<CoverResult> {
  return context.mediaTools().then(({ sourceDemuxers }) =>
    withServedSource(context.blobs, target.order.source, sourceDemuxers, async (served) => {
      const cover = await fetchCover(served, params, profile.maxInputPixels, context);
      context.signal.throwIfAborted();
      const side = Math.min(cover.facts.display.width, cover.facts.display.height);
      const { sizes, skipped } = coverSizes(side);
      const stills = await renderSquares(cover, sizes, profile);
      const [placeholder, derivatives] = await Promise.all([
        makePlaceholder(stills.tiny, parseHexColour(profile.background)),
        uploadRenditions(target, 'cover', stills.renditions),
      ]);
      return {
        inputMd5: served.meta.md5Hash,
        result: { outputs: coverOutputs(cover, side, sizes, skipped, stills, placeholder, derivatives), usedFfmpeg: cover.viaFfmpeg },
      };
    }),
  );
}

async function renderSquares(cover: CoverFile, sizes: readonly number[], profile: ThumbnailProfile): Promise<StillSet> {
  const edge = sizes[0]!;
  try {
    const master = await decodeSquare(cover, edge, profile.maxInputPixels);
    return await renderFromMaster(master, { width: edge, height: edge }, sizes, profile.formats, encodeOptions(profile, { exif: null }));
  } catch (error) {
    throw classifySharpError(error);
  }
}

/** The one decode: oriented, centre-cropped to a square and scaled to `edge`, 8-bit sRGB (or grey). */
async function decodeSquare(cover: CoverFile, edge: number, maxInputPixels: number): Promise<RawImage> {
  const { facts } = cover;
  let pipeline = sharp(cover.path, { limitInputPixels: maxInputPixels, autoOrient: true, failOn: 'error' })
    .timeout({ seconds: PIPELINE_TIMEOUT_SECONDS })
    .resize(edge, edge, { fit: 'cover', position: 'centre', kernel: 'lanczos3' });
  // As in renditions.ts: sharp 0.35 leaves a tagged 16-bit source in Display P3 unless told to output sRGB.
  if (facts.space === 'rgb16' && facts.icc) pipeline = pipeline.withIccProfile('srgb');
  const { data, info } = await pipeline
    .toColourspace(isGrey(facts) ? 'b-w' : 'srgb')
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

function coverOutputs(
  cover: CoverFile,
  side: number,
  sizes: readonly number[],
  skipped: readonly number[],
  stills: StillSet,
  placeholder: Placeholder,
  derivatives: Derivative[],
): CoverOutputs {
  const { facts } = cover;
  const { width, height } = facts.display;
  return {
    mode: 'cover',
    source: { from: cover.from, format: facts.format, width, height, bytes: cover.bytes },
    crop: width === height ? null : { side, position: 'centre' },
    sizes: [...sizes],
    upscaled: false,
    skippedSizes: [...skipped],
    note: skipped.length > 0 ? `the cover is ${width}×${height}: ${skipped.join(', ')} px not made (never upscaled)` : null,
    colour: { source: facts.space, iccProfile: facts.icc?.description ?? null, output: isGrey(facts) ? 'grey' : 'srgb' },
    transparent: stills.transparent,
    placeholder: { ...placeholder },
    derivatives,
  };
}
