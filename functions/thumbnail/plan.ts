/**
 * Planning: which assets get thumbnails, and the probe facts the worker needs to make them (the work order's
 * params, events/schemas/work/thumbnail.params.v1.json). Images are re-inspected by the worker from their header,
 * so their params stay empty of facts; a video's poster and storyboard geometry come from the probe.
 */
import type { PlanContext } from '../../shared/domain/step.ts';
import type { StreamSummary } from '../../shared/media/classify.ts';
import { planCover, type CoverParams } from './cover-plan.ts';

/** A type, not an interface: params must be assignable to the store's DocData. */
export type VideoParams = {
  /** ffprobe's index of the picture stream, so cover art muxed first is not mistaken for the video. */
  streamIndex: number;
  durationSeconds: number | null;
  /** Display size: sample aspect ratio and rotation applied. */
  width: number;
  height: number;
  /** Clockwise degrees the stored frames are turned for display. */
  rotation: 0 | 90 | 180 | 270;
  colorSpace: string | null;
  colorTransfer: string | null;
  colorPrimaries: string | null;
};

export type ThumbnailParams = { mode: 'image' } | { mode: 'video'; video: VideoParams } | { mode: 'cover'; cover: CoverParams };

export function planThumbnail(context: PlanContext): ThumbnailParams | undefined {
  const { probe } = context;
  const picture = probe.streams.find((stream) => stream.type === 'video' && !stream.attachedPicture);
  if (context.kind === 'image') return picture ? { mode: 'image' } : undefined;
  if (context.kind === 'video') {
    if (!picture || !probe.display) return undefined;
    return { mode: 'video', video: videoParams(picture, probe.display, probe.durationSeconds) };
  }
  return planCover(probe);
}

function videoParams(stream: StreamSummary, display: { width: number; height: number }, durationSeconds: number | null): VideoParams {
  const rotation = stream.rotation === 90 || stream.rotation === 180 || stream.rotation === 270 ? stream.rotation : 0;
  return {
    streamIndex: stream.index,
    durationSeconds: durationSeconds !== null && durationSeconds > 0 ? durationSeconds : null,
    width: display.width,
    height: display.height,
    rotation,
    colorSpace: stream.colorSpace ?? null,
    colorTransfer: stream.colorTransfer ?? null,
    colorPrimaries: stream.colorPrimaries ?? null,
  };
}
