/**
 * ffmpeg arguments for pictures, and the filter chain that turns a stored video frame into display pixels (tone
 * mapping, YUV matrix, sample aspect ratio, rotation). The runs go through shared/media/ffmpeg/.
 */
import type { ClassifyContext } from '../../shared/media/ffmpeg/classify.ts';
import { hdrColour, isHdrTransfer, toneMapFilters } from '../../shared/media/tonemap.ts';
import type { VideoParams } from './plan.ts';
import type { Dimensions } from './sizes.ts';

/** ffprobe color_space → swscale's in_color_matrix. */
const MATRICES: Readonly<Record<string, string>> = {
  bt709: 'bt709',
  smpte170m: 'bt601',
  bt470bg: 'bt601',
  bt2020nc: 'bt2020',
  bt2020c: 'bt2020',
  fcc: 'fcc',
  smpte240m: 'smpte240m',
};

/** Every picture ffmpeg makes is a decode of the source: its failure is the source's, CORRUPT_MEDIA. */
export const PICTURE_DECODE: ClassifyContext = { what: 'ffmpeg could not decode the picture' };

/** Common arguments: quiet, no stdin. Each input brings its own protocol whitelist (inputArgs), so a crafted playlist fetches nothing. */
export function baseArgs(): string[] {
  return ['-nostdin', '-hide_banner', '-v', 'error'];
}

/**
 * Stored frame → display pixels at `target` (display orientation), as packed RGB24:
 * - PQ and HLG (BT.2100) are tone-mapped to SDR BT.709 with Hable's curve, or the poster would look washed out;
 * - YUV → RGB with the stream's own matrix, or, untagged, BT.709 for HD and BT.601 for SD (what players assume);
 * - the scale to the display size applies the sample aspect ratio: 720×480 at SAR 32:27 becomes 853×480;
 * - the rotation side data is applied last, on the small frame, as players do (-noautorotate keeps ffmpeg from
 *   doing it a second time).
 */
export function displayFilters(video: VideoParams, target: Dimensions): string[] {
  const filters: string[] = [];
  let matrix =
    MATRICES[video.colorSpace ?? ''] ?? (Math.max(video.width, video.height) >= 1280 || Math.min(video.width, video.height) > 576 ? 'bt709' : 'bt601');
  // The tone map the HLS ladder uses too (shared/media/tonemap.ts), so the poster matches the stream.
  const hdr = hdrColour(video);
  if (hdr) {
    filters.push(...toneMapFilters(hdr));
    matrix = 'bt709';
  }
  const turned = video.rotation === 90 || video.rotation === 270;
  const stored = turned ? { width: target.height, height: target.width } : target;
  filters.push(`scale=w=${stored.width}:h=${stored.height}:flags=lanczos+accurate_rnd+full_chroma_int:in_color_matrix=${matrix}`, 'format=rgb24', 'setsar=1');
  if (video.rotation === 90) filters.push('transpose=clock');
  if (video.rotation === 270) filters.push('transpose=cclock');
  if (video.rotation === 180) filters.push('hflip', 'vflip');
  return filters;
}

export function isHdr(video: VideoParams): boolean {
  return isHdrTransfer(video.colorTransfer);
}
