/** Rendition geometry: which long edges a source gets, and the exact pixel size of each. Pure. */

export interface Dimensions {
  readonly width: number;
  readonly height: number;
}

/**
 * The long edges to render for a source, largest first, never upscaled: the profile's sizes up to the source's
 * long edge, plus the source's own long edge when it is smaller than the largest size, so a 1000 px upload still
 * gets a full-resolution rendition rather than stopping at 640.
 */
export function targetSizes(sizes: readonly number[], source: Dimensions): number[] {
  const longEdge = Math.max(source.width, source.height);
  const targets = new Set(sizes.filter((size) => size <= longEdge));
  if (longEdge < Math.max(...sizes)) targets.add(longEdge);
  return [...targets].sort((a, b) => b - a);
}

/**
 * The size of a rendition whose long edge is `longEdge`. Always computed from the source, never from the previous
 * rendition, so cascading resizes do not accumulate rounding; at least 1 px, for extreme panoramas.
 */
export function fitLongEdge(source: Dimensions, longEdge: number): Dimensions {
  const scale = longEdge / Math.max(source.width, source.height);
  return { width: Math.max(1, Math.round(source.width * scale)), height: Math.max(1, Math.round(source.height * scale)) };
}
