/**
 * What the thumbnail step makes, per asset profile. An asset's profile comes from upload metadata or the partner's
 * ingest event; a name missing here falls back to `default`, because a typo in a partner's profile should still
 * yield thumbnails rather than a failed asset.
 */
import { MAX_IMAGE_PIXELS } from '../../shared/media/image-limits.ts';

export type StillFormat = 'avif' | 'webp' | 'jpeg';

export interface EncoderSettings {
  readonly format: StillFormat;
  /** The encoder's own quality scale: libaom cq for AVIF, libwebp q, libjpeg q. */
  readonly quality: number;
  /** sharp's effort (AVIF 0–9, libaom cpu-used = 9 − effort; WebP 0–6, the libwebp method); JPEG has none. */
  readonly effort?: number;
}

export interface AnimationSettings {
  /** Long edges of the animated WebP renditions; each is a full decode and encode of every frame. */
  readonly sizes: readonly number[];
  readonly quality: number;
  readonly effort: number;
}

export interface StoryboardSettings {
  /** Long edge of one tile. */
  readonly tileSize: number;
  readonly columns: number;
  readonly rowsPerSheet: number;
  /** Caps the tile count of long videos: the interval grows instead. */
  readonly maxTiles: number;
  readonly minIntervalSeconds: number;
  readonly quality: number;
}

export interface ThumbnailProfile {
  /** Long edges in pixels. Never upscaled: a smaller source gets the sizes below its own plus its own size. */
  readonly sizes: readonly number[];
  /** Encoded in this order for every size; clients pick the first they support. */
  readonly formats: readonly EncoderSettings[];
  /** Alpha is flattened onto this colour for JPEG and the blurhash; WebP and AVIF keep it. */
  readonly background: string;
  /** Decoded pixels allowed per image (all frames, for an animation); larger inputs fail with IMAGE_TOO_LARGE. */
  readonly maxInputPixels: number;
  /** null: animated sources only get the still renditions of their first frame. */
  readonly animation: AnimationSettings | null;
  readonly storyboard: StoryboardSettings;
  /**
   * 'strip' writes no metadata at all. 'rights' writes back Artist and Copyright only: never GPS, serial numbers
   * or anything else that locates or identifies a person or a device.
   */
  readonly exif: 'strip' | 'rights';
}

/**
 * Encoder effort follows who gets served what. Nearly every browser takes AVIF now, so AVIF gets the effort:
 * effort 3 is 10–22% smaller than 2 at equal SSIM for about 1.3× the CPU, while effort 4 costs 4× more for 6%.
 * WebP and JPEG are fallbacks for the few clients left: WebP effort 2 is within 3% of effort 4 at a third of the
 * CPU, and JPEG skips mozjpeg's trellis quantisation, which costs 6× the CPU for the file almost nobody fetches.
 */
const defaultProfile: ThumbnailProfile = {
  sizes: [160, 320, 640, 1280, 2048],
  formats: [
    { format: 'avif', quality: 50, effort: 3 },
    { format: 'webp', quality: 75, effort: 2 },
    { format: 'jpeg', quality: 80 },
  ],
  background: '#ffffff',
  maxInputPixels: MAX_IMAGE_PIXELS,
  animation: { sizes: [320, 640], quality: 70, effort: 2 },
  storyboard: { tileSize: 160, columns: 10, rowsPerSheet: 10, maxTiles: 100, minIntervalSeconds: 1, quality: 70 },
  exif: 'strip',
};

export const thumbnailProfiles: Readonly<Record<string, ThumbnailProfile>> = {
  default: defaultProfile,
  /** Profile pictures: small squares-ish, never animated, and the uploader's name may not leak into the file. */
  avatar: { ...defaultProfile, sizes: [64, 128, 256, 512], animation: null, maxInputPixels: 50_000_000 },
  /** Photographers' portfolios: larger sizes, and their copyright travels with every file. */
  portfolio: { ...defaultProfile, sizes: [320, 640, 1280, 2048, 3072], exif: 'rights' },
};

export function resolveProfile(name: string): ThumbnailProfile {
  return Object.hasOwn(thumbnailProfiles, name) ? thumbnailProfiles[name]! : defaultProfile;
}
