/**
 * How large a picture mediaflow agrees to decode. One policy for the probe, which refuses a picture at ingest
 * from its header alone, and the thumbnail step, which checks again before its one decode (a profile may ask for
 * less, never for more).
 */

/**
 * Decoded pixels allowed per picture (all frames, for an animation). 0x3FFF × 0x3FFF: libvips' own default limit,
 * and far above any camera (a 100 MP medium-format back). A 3.8 Gpx PNG can be a few MB of zeros, so the limit is
 * applied to the size the header declares, before a single pixel is decoded.
 */
export const MAX_IMAGE_PIXELS = 268_402_689;

/**
 * The longest edge an SVG is ever rasterized at. An SVG's declared size is only a number in the file (a 121-byte
 * one can declare 16000×16000), so it is not held to MAX_IMAGE_PIXELS: it is drawn at the size of the largest
 * rendition asked for, capped here, and scaled down from there.
 */
export const MAX_SVG_RENDER_EDGE = 4096;

/** "16000×20000 = 320 Mpx", or "640×480 × 300 frames = 92 Mpx" for an animation. */
export function describePixels(width: number, height: number, frames = 1): string {
  const shape = frames > 1 ? `${width}×${height} × ${frames} frames` : `${width}×${height}`;
  return `${shape} = ${formatPixels(width * height * frames)}`;
}

/** "3.8 Gpx", "268 Mpx", "2.1 Mpx", "0.3 Mpx": two or three significant figures are what a reader compares. */
export function formatPixels(pixels: number): string {
  if (pixels >= 1e9) return `${(pixels / 1e9).toFixed(1)} Gpx`;
  const mega = pixels / 1e6;
  return `${mega >= 10 ? Math.round(mega) : mega.toFixed(1)} Mpx`;
}
