/**
 * Uploading renditions and describing them on the asset. Files live under `v<recipe>/` in the step's derivative
 * folder (its output version's folder, on a reprocess): they are served with an immutable cache-control, so a
 * recipe that changes pixels must change the URL.
 * The description stays small (a few KB): Firestore documents are capped at 1 MiB.
 */
import type { ThumbnailOutputs } from '../../events/generated/steps/thumbnail.ts';
import { derivativeUri, writeDerivative, type DerivativeTarget } from '../../shared/runtime/derivatives.ts';
import { FORMAT_INFO } from './encoders.ts';
import type { ImageRender } from './image.ts';
import type { SourceFacts } from './inspect.ts';
import type { Placeholder } from './placeholder.ts';
import type { EncodedRendition } from './renditions.ts';
import { storyboardSheetName, type VideoRender } from './video.ts';

export type Role = 'still' | 'animated' | 'poster' | 'cover';

/** The step's outputs for each mode (outputs.v1.schema.json beside this file). */
export type ImageOutputs = Extract<ThumbnailOutputs, { mode: 'image' }>;
export type CoverOutputs = Extract<ThumbnailOutputs, { mode: 'cover' }>;
export type VideoOutputs = Extract<ThumbnailOutputs, { mode: 'video' }>;
export type Derivative = ThumbnailOutputs['derivatives'][number];

const VTT_CONTENT_TYPE = 'text/vtt; charset=utf-8';

function fileName(target: DerivativeTarget, name: string): string {
  return `v${target.recipeVersion}/${name}`;
}

export async function uploadRenditions(target: DerivativeTarget, role: Role, renditions: readonly EncodedRendition[]): Promise<Derivative[]> {
  return Promise.all(
    renditions.map(async (rendition) => {
      const { extension, contentType } = FORMAT_INFO[rendition.format];
      const file = fileName(target, `${role}-${rendition.size}.${extension}`);
      await writeDerivative(target, file, rendition.data, {
        contentType,
        metadata: { role, width: String(rendition.width), height: String(rendition.height) },
      });
      return derivative(target, file, role, rendition, rendition.format, rendition.data.length);
    }),
  );
}

function derivative(target: DerivativeTarget, file: string, role: Role, size: { width: number; height: number }, format: string, bytes: number): Derivative {
  return { uri: derivativeUri(target.config, target.order, file), role, width: size.width, height: size.height, format, bytes };
}

/** The outputs of an image or a cover: what it is, how it was treated, and every file made from it. */
export function imageOutputs(mode: 'image', render: ImageRender, placeholder: Placeholder, derivatives: Derivative[]): ImageOutputs {
  const { facts, stills } = render;
  return {
    mode,
    source: sourceOutputs(facts),
    display: { width: facts.display.width, height: facts.display.height },
    orientationApplied: facts.orientation !== 1,
    colour: colourOutputs(facts),
    transparent: stills.transparent,
    exif: facts.exif ? { ...facts.exif } : null,
    placeholder: { ...placeholder },
    animation: facts.frames > 1 ? { frames: facts.frames, loop: facts.loop, skipped: render.animationSkipped } : null,
    derivatives,
  };
}

function sourceOutputs(facts: SourceFacts): ImageOutputs['source'] {
  return {
    format: facts.format,
    width: facts.width,
    height: facts.height,
    bitDepth: facts.bitDepth,
    channels: facts.channels,
    hasAlpha: facts.hasAlpha,
    orientation: facts.orientation,
  };
}

/**
 * Every rendition is sRGB (grey stays grey), untagged. A wide-gamut source (Display P3, Adobe RGB) is converted
 * with its profile's perceptual intent; its matrix profiles have no perceptual table, so colours outside sRGB are
 * clipped to the sRGB boundary: saturated reds and greens lose some saturation, everything in gamut is exact.
 */
function colourOutputs(facts: SourceFacts): ImageOutputs['colour'] {
  return {
    source: facts.space,
    iccProfile: facts.icc?.description ?? null,
    wideGamut: facts.icc?.wideGamut ?? false,
    output: facts.space === 'b-w' || facts.space === 'grey16' ? 'grey' : 'srgb',
    gamutClipped: facts.icc?.wideGamut === true,
  };
}

export type Sprite = { uri: string; width: number; height: number; bytes: number };

export async function uploadStoryboard(
  target: DerivativeTarget,
  sheets: readonly { data: Buffer; width: number; height: number }[],
  vtt: string,
): Promise<{ sprites: Sprite[]; vttUri: string }> {
  const sprites = await Promise.all(
    sheets.map(async ({ data, width, height }, index) => {
      const file = fileName(target, storyboardSheetName(index));
      await writeDerivative(target, file, data, {
        contentType: FORMAT_INFO.jpeg.contentType,
        metadata: { role: 'storyboard', width: String(width), height: String(height) },
      });
      return { uri: derivativeUri(target.config, target.order, file), width, height, bytes: data.length };
    }),
  );
  const vttFile = fileName(target, 'storyboard.vtt');
  await writeDerivative(target, vttFile, vtt, { contentType: VTT_CONTENT_TYPE, metadata: { role: 'storyboard' } });
  return { sprites, vttUri: derivativeUri(target.config, target.order, vttFile) };
}

export function videoOutputs(
  render: VideoRender,
  display: { width: number; height: number },
  hdrToneMapped: boolean,
  placeholder: Placeholder,
  derivatives: Derivative[],
  storyboard: { sprites: Sprite[]; vttUri: string } | null,
): VideoOutputs {
  const board = render.storyboard;
  return {
    mode: 'video',
    display,
    hdrToneMapped,
    poster: { timeSeconds: Math.round(render.poster.timeSeconds * 1000) / 1000, width: render.poster.width, height: render.poster.height },
    placeholder: { ...placeholder },
    storyboard:
      board && storyboard
        ? {
            vttUri: storyboard.vttUri,
            sprites: storyboard.sprites,
            tileWidth: board.tile.width,
            tileHeight: board.tile.height,
            columns: board.columns,
            intervalSeconds: board.intervalSeconds,
            tiles: board.tiles,
          }
        : null,
    derivatives,
  };
}
