/**
 * The HDR ladder's encode: HEVC Main10 from the shared source stage, untouched by the tone map, kept in BT.2020
 * with the source's transfer (PQ or HLG), and HDR10's static metadata carried over for PQ.
 *
 * Stitchable shards: x265's parameter sets depend only on its settings (size, rate, VBV, profile, GOP), never on
 * the pictures, so with the version-info SEI off (`info=0`: it would be the same anyway, but it is noise) and the
 * same settings in every shard the init segments (hvcC) are byte-identical, as x264's `stitchable=1` makes them
 * for the SDR ladder; the package's init-segments check holds it. `repeat-headers` puts VPS/SPS/PPS before every
 * keyframe too, so each segment decodes on its own whatever a player keeps of the init.
 *
 * HDR10 metadata: ffmpeg 5.1's libx265 wrapper passes no mastering display or content light level to x265, and
 * the ingest probe reads streams, not frames, while x265 encoders write them as SEI on frames (the MP4 has no
 * mdcv box then). Each shard reads them from the source's first frame (or the stream, where the container
 * states them): the same frame for every shard, so every shard encodes the same SEI.
 */
import { runTool } from '../../shared/media/ffmpeg/run.ts';
import type { Rendition } from '../../shared/media/hls/ladder.ts';
import { inputArgs, type MediaInput } from '../../shared/media/input.ts';
import type { HdrColour } from '../../shared/media/tonemap.ts';

/** HEVC Main10's pixels; the rung's scale keeps BT.2020 and the limited range (no matrix conversion). */
export const HDR_PIXEL_FORMAT = 'yuv420p10le';
/** SMPTE ST 2086 in x265's units: chromaticities in 0.00002, luminance in 0.0001 cd/m². */
const CHROMATICITY_UNITS = 50_000;
const LUMINANCE_UNITS = 10_000;

export interface Hdr10Metadata {
  /** x265's master-display: 'G(x,y)B(x,y)R(x,y)WP(x,y)L(max,min)'. */
  readonly masterDisplay: string;
  /** x265's max-cll: 'MaxCLL,MaxFALL' in cd/m². */
  readonly maxCll: string;
}

export interface HdrLadderParams {
  readonly renditions: readonly Rendition[];
  readonly colour: HdrColour;
  readonly crf: number;
}

type Json = Readonly<Record<string, unknown>>;

/** ffprobe's side data ("34000/50000") to a number; NaN for anything else. */
function rational(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value !== 'string') return Number.NaN;
  const [num, den = '1'] = value.split('/');
  return Number(num) / Number(den);
}

/**
 * ffprobe's "Mastering display metadata" and "Content light level metadata" side data (stream or frame) to x265's
 * options; null when either is missing or incomplete: x265's hdr10 needs both, and an invented one would mislead
 * a display's tone mapping more than none.
 */
export function hdr10FromSideData(sideData: readonly Json[]): Hdr10Metadata | null {
  const display = sideData.find((entry) => entry.side_data_type === 'Mastering display metadata');
  const light = sideData.find((entry) => entry.side_data_type === 'Content light level metadata');
  if (!display || !light) return null;
  const xy = (x: string, y: string): number[] => [rational(display[x]), rational(display[y])].map((v) => Math.round(v * CHROMATICITY_UNITS));
  const luminance = [rational(display.max_luminance), rational(display.min_luminance)].map((v) => Math.round(v * LUMINANCE_UNITS));
  const cll = [rational(light.max_content), rational(light.max_average)].map((v) => Math.round(v));
  const all = [...xy('green_x', 'green_y'), ...xy('blue_x', 'blue_y'), ...xy('red_x', 'red_y'), ...xy('white_point_x', 'white_point_y'), ...luminance, ...cll];
  if (all.some((v) => !Number.isFinite(v) || v < 0)) return null;
  const [gx, gy, bx, by, rx, ry, wx, wy, max, min, maxCll, maxFall] = all;
  return { masterDisplay: `G(${gx},${gy})B(${bx},${by})R(${rx},${ry})WP(${wx},${wy})L(${max},${min})`, maxCll: `${maxCll},${maxFall}` };
}

/** HDR10 metadata of the source's video stream, from its first frame; null for HLG (it has none) or when absent. */
export async function readHdr10Metadata(
  ffprobe: string,
  source: MediaInput,
  streamIndex: number,
  colour: HdrColour,
  signal: AbortSignal,
): Promise<Hdr10Metadata | null> {
  if (colour.transfer !== 'smpte2084') return null;
  const run = await runTool(
    ffprobe,
    [
      '-hide_banner',
      '-v',
      'error',
      '-print_format',
      'json',
      '-select_streams',
      String(streamIndex),
      '-read_intervals',
      '%+#1',
      '-show_streams',
      '-show_frames',
      ...inputArgs(source),
    ],
    { tool: 'ffprobe', label: 'ffprobe', signal, stdout: true },
  );
  const json = JSON.parse(run.stdout) as { streams?: { side_data_list?: Json[] }[]; frames?: { side_data_list?: Json[] }[] };
  return hdr10FromSideData(json.streams?.[0]?.side_data_list ?? []) ?? hdr10FromSideData(json.frames?.[0]?.side_data_list ?? []);
}

/** x265 parameters of every HDR rendition: closed GOPs at the SDR ladder's cadence, HDR10 SEI for PQ. */
export function x265Params(framesPerKeyframe: number, threads: number, hdr10: Hdr10Metadata | null): string {
  return [
    'log-level=error',
    `keyint=${framesPerKeyframe}`,
    `min-keyint=${framesPerKeyframe}`,
    'scenecut=0',
    'open-gop=0',
    'repeat-headers=1',
    'info=0',
    // ffmpeg 5.1 does not pass -threads to libx265, whose pool would otherwise take every core.
    `pools=${threads}`,
    'frame-threads=1',
    ...(hdr10 ? ['hdr10=1', 'hdr10-opt=1', `master-display=${hdr10.masterDisplay}`, `max-cll=${hdr10.maxCll}`] : []),
  ].join(':');
}

/** One HDR rung: the sample aspect ratio applied, BT.2020 and limited range kept, 10-bit 4:2:0. */
export function hdrRenditionStage(rendition: Rendition): string[] {
  return [
    `scale=w=${rendition.width}:h=${rendition.height}:flags=bicubic:in_color_matrix=bt2020:out_color_matrix=bt2020:in_range=tv:out_range=tv`,
    'setsar=1',
    `format=${HDR_PIXEL_FORMAT}`,
  ];
}

/** Tags in the VUI and the colr box: BT.2020 non-constant luminance and the source's own transfer. */
export function hdrColourTagArgs(colour: HdrColour): string[] {
  return ['-color_primaries', 'bt2020', '-color_trc', colour.transfer, '-colorspace', 'bt2020nc', '-color_range', 'tv'];
}
