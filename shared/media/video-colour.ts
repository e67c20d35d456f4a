/**
 * Colour of the SDR H.264 ladder, decided from the probe: every rendition is 8-bit 4:2:0 limited range, tagged
 * in the bitstream (VUI) and the container (colr). Players, browsers above all, often ignore the tags and assume
 * BT.709 for HD and BT.601 for SD, so a rendition's matrix follows its size: HD rungs are BT.709 always; SD rungs
 * of a BT.601 source keep BT.601 (no conversion, nothing lost); everything else becomes BT.709. HDR sources are
 * tone-mapped to BT.709 first (shared/media/tonemap.ts).
 *
 * Matrix and range are converted by swscale in each rendition's scale, at the rendition's size; BT.601's
 * primaries (SMPTE C, EBU) are not remapped to BT.709's: they differ by less than the matrix error a player
 * would make, and the conversion would need linear light for every frame.
 */
import type { StreamSummary } from './classify.ts';
import { hdrColour, type HdrColour } from './tonemap.ts';

/** The colour spaces a rendition is tagged with, by ffmpeg's colorspace names. */
export type SdrSpace = 'bt709' | 'smpte170m' | 'bt470bg';
/** swscale's in_color_matrix / out_color_matrix names. */
export type SwsMatrix = 'bt709' | 'bt601' | 'bt2020' | 'smpte240m' | 'fcc';
export type ColourRange = 'tv' | 'pc';

export interface PictureColour {
  /** The frames the renditions are scaled from: the decoded source, or the tone map's BT.709 output. */
  readonly matrix: SwsMatrix;
  readonly range: ColourRange;
  readonly toneMap: HdrColour | null;
}

/** The short side from which a rendition counts as HD and is BT.709 whatever its source. */
export const HD_MIN_LINES = 720;
/** Untagged video this large is HD (BT.709), as players assume; smaller is SD (BT.601). */
const HD_GUESS_LONG_SIDE = 1280;
const HD_GUESS_SHORT_SIDE = 576;
/** 576 lines (or 25/50 Hz) is PAL: its BT.601 variant is tagged bt470bg, NTSC's smpte170m. */
const PAL_LINES = 576;

/** ffprobe color_space → swscale matrix. */
const MATRICES: Readonly<Record<string, SwsMatrix>> = {
  bt709: 'bt709',
  smpte170m: 'bt601',
  bt470bg: 'bt601',
  bt2020nc: 'bt2020',
  bt2020c: 'bt2020',
  fcc: 'fcc',
  smpte240m: 'smpte240m',
};

export function sourceMatrix(stream: StreamSummary): SwsMatrix {
  const stated = MATRICES[stream.colorSpace ?? ''];
  if (stated) return stated;
  const long = Math.max(stream.width ?? 0, stream.height ?? 0);
  const short = Math.min(stream.width ?? 0, stream.height ?? 0);
  return long >= HD_GUESS_LONG_SIDE || short > HD_GUESS_SHORT_SIDE ? 'bt709' : 'bt601';
}

/** Full range when the stream says so or its pixel format is a JPEG one (MJPEG's yuvj420p). */
export function sourceRange(stream: StreamSummary): ColourRange {
  return stream.colorRange === 'pc' || (stream.pixelFormat?.startsWith('yuvj') ?? false) ? 'pc' : 'tv';
}

export function planPictureColour(stream: StreamSummary): PictureColour {
  const toneMap = hdrColour(stream) ?? null;
  // The tone map's output is BT.709 limited range: that is what the renditions scale from.
  if (toneMap) return { matrix: 'bt709', range: 'tv', toneMap };
  return { matrix: sourceMatrix(stream), range: sourceRange(stream), toneMap: null };
}

/** A rendition's colour: BT.709, unless it is SD and its source BT.601, which it keeps. */
export function renditionSpace(stream: StreamSummary, colour: PictureColour, rendition: { readonly width: number; readonly height: number }): SdrSpace {
  if (Math.min(rendition.width, rendition.height) >= HD_MIN_LINES || colour.toneMap || colour.matrix !== 'bt601') return 'bt709';
  const pal =
    stream.colorSpace === 'bt470bg' ||
    stream.colorPrimaries === 'bt470bg' ||
    (stream.colorSpace === undefined && Math.min(stream.width ?? 0, stream.height ?? 0) === PAL_LINES);
  return pal ? 'bt470bg' : 'smpte170m';
}

export function swsMatrix(space: SdrSpace): SwsMatrix {
  return space === 'bt709' ? 'bt709' : 'bt601';
}

/**
 * Output options tagging a rendition: x264 writes them into the VUI (colour_primaries, transfer_characteristics,
 * matrix_coefficients, video_full_range_flag) and the MP4 muxer into the colr box. BT.601's transfer is tagged
 * smpte170m (the same curve as BT.709's); bt470bg's own transfer tag means gamma 2.8, which no PAL video has.
 */
export function colourTagArgs(space: SdrSpace): string[] {
  const transfer = space === 'bt709' ? 'bt709' : 'smpte170m';
  return ['-color_primaries', space, '-color_trc', transfer, '-colorspace', space, '-color_range', 'tv'];
}
