/**
 * HDR to SDR: the one tone map every picture the pipeline makes from an HDR video goes through (the thumbnail
 * step's posters and storyboard, the H.264 HLS ladder), so a poster and the stream it stands for look alike.
 *
 * PQ (SMPTE ST 2084, HDR10) and HLG (ARIB STD-B67, BT.2100; iPhone video, whose Dolby Vision profile 8.4 layer
 * rides on an HLG base that every decoder here plays) are linearised by zscale with 100 nits as 1.0, converted to
 * BT.709 primaries in linear light, compressed by Hable's curve without desaturation, and re-encoded as BT.709
 * limited-range 4:2:0. For HLG, zimg applies the BT.2100 reference OOTF for a 1000-nit display when linearising,
 * so HLG and PQ meet the curve on the same absolute scale.
 */

/** ffprobe's color_transfer names of the two HDR transfers. */
export type HdrTransfer = 'smpte2084' | 'arib-std-b67';

export interface HdrColour {
  readonly transfer: HdrTransfer;
  /** ffprobe's color_space and color_primaries, which zscale takes by the same names. */
  readonly matrix: string;
  readonly primaries: string;
}

const HDR_TRANSFERS: ReadonlySet<string> = new Set<HdrTransfer>(['smpte2084', 'arib-std-b67']);
/** HDR video that states its transfer but not the rest is BT.2100: BT.2020 non-constant luminance. */
const DEFAULT_HDR_MATRIX = 'bt2020nc';
const DEFAULT_HDR_PRIMARIES = 'bt2020';
/** Linear light 1.0 in nits: SDR reference white, so diffuse white lands where an SDR display puts it. */
const NOMINAL_PEAK_NITS = 100;

export function isHdrTransfer(transfer: string | null | undefined): transfer is HdrTransfer {
  return transfer !== null && transfer !== undefined && HDR_TRANSFERS.has(transfer);
}

/** The colour of an HDR stream, or undefined for SDR. */
export function hdrColour(stream: {
  readonly colorTransfer?: string | null;
  readonly colorSpace?: string | null;
  readonly colorPrimaries?: string | null;
}): HdrColour | undefined {
  if (!isHdrTransfer(stream.colorTransfer)) return undefined;
  return { transfer: stream.colorTransfer, matrix: stream.colorSpace ?? DEFAULT_HDR_MATRIX, primaries: stream.colorPrimaries ?? DEFAULT_HDR_PRIMARIES };
}

/** Decoded HDR frames in, SDR BT.709 limited-range yuv420p out (per-frame: no state carried between frames). */
export function toneMapFilters(colour: HdrColour): string[] {
  return [
    `zscale=tin=${colour.transfer}:min=${colour.matrix}:pin=${colour.primaries}:t=linear:npl=${NOMINAL_PEAK_NITS}`,
    'format=gbrpf32le',
    'zscale=p=bt709',
    'tonemap=tonemap=hable:desat=0',
    'zscale=t=bt709:m=bt709:r=tv',
    'format=yuv420p',
  ];
}
