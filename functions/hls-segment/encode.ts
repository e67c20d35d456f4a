/**
 * One shard's encode: a single decode of the source from just before the segment, split into every rendition.
 *
 * - Seek: `-ss` lands on the keyframe at or before the segment (-noaccurate_seek: nothing is dropped by ffmpeg),
 *   and with -copyts -start_at_zero the timestamps stay on the source's own timeline (zero = the file's start).
 * - Frames: the fps filter puts them on one constant-rate grid (duplicating or dropping by timestamp, which is
 *   also how a variable-rate source is handled), and trim keeps exactly grid frames [start, start + frames):
 *   integers in the 1/rate time base, so neighbouring shards neither overlap nor leave a gap.
 * - Timestamps: every frame keeps its grid number plus the common offset, so the fragments' decode times
 *   (tfdt, written from the first packet's dts with frag_discont) continue across shards: one stream to a player.
 * - GOPs: each shard starts with an IDR frame, then one every framesPerKeyframe; closed GOPs, no scene-cut
 *   keyframes, so all renditions switch at the same frames. x264's stitchable mode keeps the SPS/PPS independent
 *   of the content, so every shard writes byte-identical init segments.
 */
import { FMP4_MOVFLAGS, fmp4MuxerArgs, quietArgs } from '../../shared/media/hls/ffmpeg.ts';
import { inputArgs, type MediaInput } from '../../shared/media/input.ts';
import { colourTagArgs } from '../../shared/media/video-colour.ts';
import { hdrColourTagArgs, hdrRenditionStage, x265Params, type Hdr10Metadata } from './hdr.ts';
import type { SegmentParams } from './params.ts';
import { renditionStage, sdrStage, sourceStage } from './picture.ts';

/** One movie fragment per GOP: each fragment starts with a keyframe, and the muxer never holds more than 2 s. */
const FRAGMENT_PER_KEYFRAME = '+frag_keyframe';

/**
 * Where the demuxer seeks: the segment's first frame, less the slack the plan allows, rounded up to ffmpeg's
 * microseconds so a keyframe exactly on the boundary is the one found (rounding down would back up a whole GOP).
 */
export function segmentSeekSeconds(params: SegmentParams): number {
  const { num, den } = params.video.frameRate;
  const seconds = ((params.segment.startFrame - params.video.seekSlackFrames) * den) / num;
  return seconds <= 0 ? 0 : Math.ceil(seconds * 1e6 - 1e-6) / 1e6;
}

export function filterGraph(params: SegmentParams): string {
  const { video, renditions, hdr } = params;
  const source = `[0:${video.streamIndex}]${sourceStage(params).join(',')}`;
  const sdrSplit = `split=${renditions.length}${renditions.map((_, i) => `[s${i}]`).join('')}`;
  const branches = renditions.map((_, i) => `[s${i}]${renditionStage(params, i).join(',')}[v${i}]`);
  // Deinterlacing, the frame grid and the tone map run once per shard; the rungs branch after them (picture.ts).
  if (!hdr) return [[source, ...sdrStage(params), sdrSplit].join(','), ...branches].join(';');
  // The HDR ladder branches off the source stage, before the tone map: its rungs keep the source's HDR pictures.
  const first = renditions.length;
  return [
    `${source},split=2[sdr][hdr]`,
    `[sdr]${[...sdrStage(params), sdrSplit].join(',')}`,
    `[hdr]split=${hdr.renditions.length}${hdr.renditions.map((_, i) => `[h${i}]`).join('')}`,
    ...branches,
    ...hdr.renditions.map((rendition, i) => `[h${i}]${hdrRenditionStage(rendition).join(',')}[v${first + i}]`),
  ].join(';');
}

export function encodeArgs(params: SegmentParams, source: MediaInput, outputs: readonly string[], hdr10: Hdr10Metadata | null = null): string[] {
  const { encoder, video } = params;
  const threads = String(encoder.threads);
  const args = [
    ...quietArgs(),
    '-copyts',
    '-start_at_zero',
    '-noaccurate_seek',
    '-ss',
    segmentSeekSeconds(params).toFixed(6),
    // ffmpeg's autorotate (on by default) turns the pictures as the display matrix asks and writes none on the
    // output; turning them in the graph instead would leave the matrix on the output for players to apply again.
    '-threads',
    threads,
    ...inputArgs(source),
    '-filter_complex_threads',
    threads,
    '-filter_complex',
    filterGraph(params),
  ];
  params.renditions.forEach((rendition, i) => {
    args.push(
      '-map',
      `[v${i}]`,
      '-c:v',
      'libx264',
      '-preset',
      encoder.preset,
      '-profile:v',
      'high',
      '-crf',
      String(encoder.crf),
      '-maxrate',
      `${rendition.maxKbps}k`,
      '-bufsize',
      `${rendition.bufferKbits}k`,
      // Tagged in the VUI and the colr box: the same for every shard, so the init segments stay identical.
      ...colourTagArgs(params.picture.renditionSpaces[i] ?? 'bt709'),
      '-x264-params',
      `keyint=${video.framesPerKeyframe}:scenecut=0:open-gop=0:stitchable=1`,
      '-threads',
      threads,
      '-flags:v',
      '+bitexact',
      ...fmp4MuxerArgs(),
      '-movflags',
      `${FRAGMENT_PER_KEYFRAME}${FMP4_MOVFLAGS}`,
      outputs[i]!,
    );
  });
  const first = params.renditions.length;
  params.hdr?.renditions.forEach((rendition, i) => {
    args.push(
      '-map',
      `[v${first + i}]`,
      '-c:v',
      'libx265',
      '-preset',
      encoder.preset,
      '-profile:v',
      'main10',
      '-crf',
      String(params.hdr!.crf),
      '-maxrate',
      `${rendition.maxKbps}k`,
      '-bufsize',
      `${rendition.bufferKbits}k`,
      // hvc1: parameter sets in the sample entry, which Apple's HLS authoring spec asks of HEVC (not hev1).
      '-tag:v',
      'hvc1',
      ...hdrColourTagArgs(params.hdr!.colour),
      '-x265-params',
      x265Params(video.framesPerKeyframe, encoder.threads, hdr10),
      '-flags:v',
      '+bitexact',
      ...fmp4MuxerArgs(),
      '-movflags',
      `${FRAGMENT_PER_KEYFRAME}${FMP4_MOVFLAGS}`,
      outputs[first + i]!,
    );
  });
  return args;
}
