/**
 * Planning: which assets get thumbnails, and the probe facts the worker needs to make them (the work order's
 * params, params.v1.schema.json beside this file). Images are re-inspected by the worker from their header,
 * so their params stay empty of facts; a video's poster and storyboard geometry come from the probe.
 */
import type { ThumbnailParams as GeneratedThumbnailParams } from '../../events/generated/steps/thumbnail.ts';
import type { DeepReadonly, PlanContext } from '../../shared/domain/step.ts';
import type { StreamSummary } from '../../shared/media/classify.ts';
import { planCover } from './cover-plan.ts';

/** The thumbnail work order's params, generated from params.v1.schema.json beside this file. */
export type ThumbnailParams = DeepReadonly<GeneratedThumbnailParams>;
export type VideoParams = Extract<ThumbnailParams, { mode: 'video' }>['video'];

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
