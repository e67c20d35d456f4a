/**
 * The hls-segment work order's params (events/schemas/work/hls-segment.params.v1.json): which frames this shard
 * encodes and everything needed to encode them the same way as every other shard, resolved at plan time from
 * the probe, so a shard never re-probes and all shards agree.
 */
import type { Rendition } from '../../shared/media/hls/ladder.ts';
import type { PicturePlan, VideoPlan } from '../../shared/media/hls/plan.ts';
import type { HdrLadderParams } from './hdr.ts';
import type { HlsSettings } from '../../shared/media/hls/settings.ts';
import { segmentWindow, type Rational, type SegmentWindow } from '../../shared/media/hls/timeline.ts';

export interface SegmentParams {
  readonly segment: SegmentWindow & { readonly count: number };
  readonly video: {
    /** Absolute stream index in the source, as ffmpeg's `0:<index>` names it. */
    readonly streamIndex: number;
    readonly frameRate: Rational;
    readonly framesPerKeyframe: number;
    readonly offsetFrames: number;
    /**
     * Frames to seek before the segment. A constant-rate source kept at its rate has a frame exactly on the
     * boundary: none. Otherwise (variable rate, a halved rate) the frame the fps filter picks for the first slot
     * may sit up to half a frame early: half a frame. Containers without a seek index add the plan's margin.
     */
    readonly seekSlackFrames: number;
  };
  readonly renditions: readonly Rendition[];
  /** Deinterlacing, tone mapping, colour conversion and tags, and the frame-rate rule: the same for every shard. */
  readonly picture: PicturePlan;
  readonly encoder: { readonly preset: string; readonly crf: number; readonly threads: number };
  /** The HEVC Main10 ladder of a PQ or HLG source when the asset's profile asks for it; absent otherwise. */
  readonly hdr?: HdrLadderParams;
}

/** The SDR renditions, then the HDR ones: the order of the encoder's outputs. */
export function allRenditions(params: Pick<SegmentParams, 'renditions' | 'hdr'>): readonly Rendition[] {
  return [...params.renditions, ...(params.hdr?.renditions ?? [])];
}

export function segmentParams(plan: VideoPlan, settings: HlsSettings, index: number): SegmentParams {
  const { timeline } = plan;
  return {
    segment: { ...segmentWindow(timeline, index), count: timeline.segmentCount },
    video: {
      streamIndex: plan.streamIndex,
      frameRate: timeline.frameRate,
      framesPerKeyframe: timeline.framesPerKeyframe,
      offsetFrames: timeline.offsetFrames,
      seekSlackFrames: (plan.sourceOnGrid ? 0 : 0.5) + Math.ceil((plan.seekMarginSeconds * timeline.frameRate.num) / timeline.frameRate.den),
    },
    renditions: plan.renditions,
    picture: plan.picture,
    encoder: { preset: settings.x264Preset, crf: settings.crf, threads: settings.threads },
    ...(plan.hdr ? { hdr: { renditions: plan.hdr.renditions, colour: plan.hdr.colour, crf: settings.x265Crf } } : {}),
  };
}
