/**
 * The hls-segment work order's params (params.v1.schema.json beside this file): which frames this shard
 * encodes and everything needed to encode them the same way as every other shard, resolved at plan time from
 * the probe, so a shard never re-probes and all shards agree.
 */
import type { DeepReadonly } from '../../shared/domain/step.ts';
import type { HlsSegmentParams } from '../../events/generated/steps/hls-segment.ts';
import type { Rendition } from '../../shared/media/hls/ladder.ts';
import type { VideoPlan } from '../../shared/media/hls/plan.ts';
import type { HlsSettings } from '../../shared/media/hls/settings.ts';
import { segmentWindow } from '../../shared/media/hls/timeline.ts';

/** The params of one hls-segment work order, generated from params.v1.schema.json beside this file. */
export type SegmentParams = DeepReadonly<HlsSegmentParams>;

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
    encoder: { preset: x264Preset(settings.x264Preset), crf: settings.crf, threads: settings.threads },
    ...(plan.hdr ? { hdr: { renditions: plan.hdr.renditions, colour: plan.hdr.colour, crf: settings.x265Crf } } : {}),
  };
}

type X264Preset = SegmentParams['encoder']['preset'];
const X264_PRESETS: readonly X264Preset[] = ['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium', 'slow', 'slower', 'veryslow'];

/** The settings name the preset as a string; the params schema knows x264's presets. */
function x264Preset(name: string): X264Preset {
  const preset = X264_PRESETS.find((known) => known === name);
  if (!preset) throw new Error(`'${name}' is not an x264 preset (${X264_PRESETS.join(', ')})`);
  return preset;
}
