/**
 * SVG has no pixels of its own: libvips' svgload draws it at a density, and at sharp's default of 72 dpi one user
 * unit becomes one pixel. Drawn at its declared size, a 121-byte document declaring 16000×16000 is a 1 GB canvas
 * (and a filter over it minutes of CPU); drawn at the density that gives the largest rendition, it costs what that
 * rendition costs. So an SVG is held to a render size (MAX_SVG_RENDER_EDGE), not to the pixel budget.
 */
import { PermanentError, PermanentErrorCode } from '../../shared/errors.ts';
import { MAX_SVG_RENDER_EDGE } from '../../shared/media/image-limits.ts';
import { fitLongEdge, type Dimensions } from './sizes.ts';

/** The density at which libvips draws one SVG user unit as one pixel. */
const NATIVE_DENSITY = 72;
/** The lowest density sharp accepts, so the most an SVG can be scaled down while it is drawn is 1/72. */
const MIN_DENSITY = 1;

/** sharp's name for the format. */
export function isSvg(format: string): boolean {
  return format === 'svg';
}

/** The size the renditions are planned from: an SVG's declared size, scaled down to the most it is drawn at. */
export function renderableSize(format: string, display: Dimensions): Dimensions {
  if (!isSvg(format) || Math.max(display.width, display.height) <= MAX_SVG_RENDER_EDGE) return display;
  return fitLongEdge(display, MAX_SVG_RENDER_EDGE);
}

/** The density that draws an SVG declared `declared` (at 72 dpi) with a long edge of `longEdge` pixels. */
export function svgDensity(declared: Dimensions, longEdge: number): number {
  const declaredEdge = Math.max(declared.width, declared.height);
  const density = (NATIVE_DENSITY * longEdge) / declaredEdge;
  if (density < MIN_DENSITY) {
    throw new PermanentError(
      PermanentErrorCode.IMAGE_TOO_LARGE,
      `the SVG declares ${declared.width}×${declared.height}, more than ${NATIVE_DENSITY}× the ${longEdge} px it would be drawn at`,
    );
  }
  return density;
}
