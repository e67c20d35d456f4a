/**
 * The video plan every HLS step derives from the probe alone: stream, timeline and ladder (at the display size,
 * rotation and sample aspect ratio applied). The segment shards, the audio rendition (which starts where the
 * video does) and the package step each compute it from the same probe and settings, so they agree without
 * passing it around.
 */
import type { PlanContext } from '../../domain/step.ts';
import { PermanentError } from '../../errors.ts';
import { chooseLadder, primaryVideoStream, type Rendition } from './ladder.ts';
import type { HlsSettings } from './settings.ts';
import { AUDIO_ONLY_OFFSET_SECONDS, offsetSeconds, planTimeline, rateValue, type VideoTimeline } from './timeline.ts';

/** 2997/100 and 30000/1001 are the same rate to 0.01 %. */
const SAME_RATE_TOLERANCE = 0.001;

export interface VideoPlan {
  readonly streamIndex: number;
  readonly timeline: VideoTimeline;
  readonly renditions: readonly Rendition[];
  /** Every source frame sits on the output grid: a constant-rate source kept at its own rate. */
  readonly sourceOnGrid: boolean;
}

/** The video stream's own duration when the container states it (MP4 edit lists applied), else the file's. */
export function planVideo(context: Pick<PlanContext, 'probe'>, settings: HlsSettings): VideoPlan {
  const stream = primaryVideoStream(context.probe);
  if (!stream) throw new Error('the asset has no video stream; no HLS video step should have been planned');
  const timeline = planTimeline(stream, stream.durationSeconds ?? context.probe.durationSeconds, settings);
  const sourceOnGrid = !stream.variableFrameRate && stream.frameRate !== undefined && Math.abs(stream.frameRate / rateValue(timeline.frameRate) - 1) < SAME_RATE_TOLERANCE;
  return { streamIndex: stream.index, timeline, renditions: chooseLadder(context.probe, timeline.frameRate, settings), sourceOnGrid };
}

/**
 * The plan, or why the video cannot have one (no frame rate, no duration, no picture size). Planning runs in the
 * coordinator, where a throw would only be retried; the reason travels in the work order instead, and the worker
 * fails the asset with it.
 */
export function tryPlanVideo(context: Pick<PlanContext, 'probe'>, settings: HlsSettings): { readonly plan: VideoPlan } | { readonly problem: string } {
  try {
    return { plan: planVideo(context, settings) };
  } catch (error) {
    if (error instanceof PermanentError) return { problem: error.message };
    throw error;
  }
}

/** Where the HLS presentation starts: the video's offset, or for audio-only assets a plain second. */
export function timelineOffsetSeconds(context: Pick<PlanContext, 'probe' | 'kind'>, settings: HlsSettings): number {
  const planned = context.kind === 'video' && primaryVideoStream(context.probe) ? tryPlanVideo(context, settings) : undefined;
  return planned && 'plan' in planned ? offsetSeconds(planned.plan.timeline) : AUDIO_ONLY_OFFSET_SECONDS;
}
