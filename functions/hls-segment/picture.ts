/**
 * The picture half of a shard's filter graph, in the order the frames need it:
 *
 * 1. source stage, on decoded frames, shared by any ladder made from the source (the HDR HEVC ladder, hdr.ts, takes
 *    its output as it is): bwdif first, before fps and trim, because it needs the neighbouring frames and sets
 *    the rate (send_field doubles it, each field's timestamp half a frame apart); then the frame grid (fps),
 *    the shard's frames (trim) and the common offset (setpts). bwdif sees the frames decoded from the keyframe
 *    before the segment and the ones after it, so only a segment that starts exactly on a source keyframe loses
 *    the previous field for its first picture (bwdif then interpolates it spatially): no frame is duplicated or
 *    missed at a shard boundary, since the fps grid and trim decide which pictures exist, not the deinterlacer.
 * 2. SDR stage (tone map, HDR only): per-frame and stateless, after trim so frames outside the shard cost
 *    nothing.
 * 3. per rendition: scale to the rung with the matrix and range conversion, square pixels, 8-bit 4:2:0.
 *
 * Inverse telecine (fieldmatch,decimate or pullup) is not done: decimate drops one frame in five by a cycle that
 * starts wherever its input starts, so each shard, starting at its own keyframe, would drop a different phase
 * and emit 23.976 fps timestamps of its own; the fps/trim grid would then duplicate or drop frames at every
 * boundary, and the cadence breaks at every edit in the film anyway. Telecined film is deinterlaced by bwdif like
 * any interlaced source and comes out progressive at 29.97 fps, without combing, its repeated fields kept as
 * motion judder. Doing it right needs the whole-film cadence found at ingest and passed to every shard.
 */
import { rateText } from '../../shared/media/hls/timeline.ts';
import { toneMapFilters } from '../../shared/media/tonemap.ts';
import { swsMatrix } from '../../shared/media/video-colour.ts';
import type { SegmentParams } from './params.ts';

/** Decoded source frames to the shard's frames on the output grid, deinterlaced, progressive. */
export function sourceStage(params: SegmentParams): string[] {
  const { segment, video, picture } = params;
  const deinterlace = picture.deinterlace;
  return [
    // deint=all: an unflagged interlaced source has frames marked progressive, which deint=interlaced would skip.
    ...(deinterlace ? [`${deinterlace.filter}=mode=${deinterlace.mode}:parity=${deinterlace.parity}:deint=all`] : []),
    // The ladder is progressive: a flagged-but-progressive source's frames keep their interlaced flag otherwise.
    'setfield=prog',
    `fps=${rateText(video.frameRate)}`,
    `trim=start_pts=${segment.startFrame}:end_pts=${segment.startFrame + segment.frames}`,
    `setpts=PTS+${video.offsetFrames}`,
  ];
}

/** HDR to SDR BT.709 (shared/media/tonemap.ts, as the thumbnail step does it); nothing for SDR sources. */
export function sdrStage(params: SegmentParams): string[] {
  const { toneMap } = params.picture.colour;
  return toneMap ? toneMapFilters(toneMap) : [];
}

/** One rung: the scale applies the sample aspect ratio and converts matrix and range; square pixels, yuv420p. */
export function renditionStage(params: SegmentParams, index: number): string[] {
  const rendition = params.renditions[index]!;
  const { colour, renditionSpaces } = params.picture;
  const out = swsMatrix(renditionSpaces[index] ?? 'bt709');
  return [
    `scale=w=${rendition.width}:h=${rendition.height}:flags=bicubic:in_color_matrix=${colour.matrix}:out_color_matrix=${out}:in_range=${colour.range}:out_range=tv`,
    'setsar=1',
    'format=yuv420p',
  ];
}
