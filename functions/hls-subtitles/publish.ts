/**
 * Converting and publishing one subtitle track: ffmpeg turns the stream into one WebVTT document, timed from the
 * file's start (the timeline's zero: ffmpeg subtracts the input's start_time when -copyts is not given), which
 * is then cut into one `.vtt` per video segment under deterministic names.
 */
import type { DocData } from '../../shared/ports/document-store.ts';
import { vttSegmentFile, WEBVTT_CONTENT_TYPE } from '../../shared/media/hls/layout.ts';
import { rateValue, segmentWindow, type VideoTimeline } from '../../shared/media/hls/timeline.ts';
import { writeDerivative, type DerivativeTarget } from '../../shared/runtime/derivatives.ts';
import type { SubtitleTrackPlan } from './params.ts';
import { parseWebVtt, webVttSegment, type Window } from './webvtt.ts';

export interface SubtitleTrackOutputs {
  readonly rendition: string;
  readonly name: string;
  readonly language?: string;
  readonly default: boolean;
  readonly forced: boolean;
}

export interface SubtitlesOutputs {
  readonly segmentCount: number;
  readonly tracks: readonly (SubtitleTrackOutputs & { readonly cues: number })[];
  readonly skipped: readonly { readonly index: number; readonly codec: string; readonly reason: string }[];
}

/**
 * Segment i covers the video's segment i: from its boundary on the grid (zero for the first, so a cue before a
 * late-starting video is not lost) to the next boundary, the last one to the video's end.
 */
export function subtitleWindows(timeline: VideoTimeline): Window[] {
  const rate = rateValue(timeline.frameRate);
  return Array.from({ length: timeline.segmentCount }, (_, index) => {
    const window = segmentWindow(timeline, index);
    return { start: index === 0 ? 0 : window.startFrame / rate, end: (window.startFrame + window.frames) / rate };
  });
}

export async function publishTrack(
  target: DerivativeTarget,
  track: SubtitleTrackPlan,
  vtt: string,
  timeline: VideoTimeline,
  offsetSeconds: number,
): Promise<SubtitleTrackOutputs & { cues: number }> {
  const cues = parseWebVtt(vtt);
  for (const [index, window] of subtitleWindows(timeline).entries()) {
    await writeDerivative(target, vttSegmentFile(track.rendition, index), webVttSegment(cues, window, offsetSeconds), {
      contentType: WEBVTT_CONTENT_TYPE,
      metadata: { 'mediaflow-segment-index': String(index), 'mediaflow-rendition': track.rendition },
    });
  }
  return {
    rendition: track.rendition,
    name: track.name,
    ...(track.language ? { language: track.language } : {}),
    default: track.default,
    forced: track.forced,
    cues: cues.length,
  };
}

/** The step's outputs as the package step reads them; undefined when the step did not run. */
export function subtitleSummary(outputs: DocData | undefined): { segmentCount: number; tracks: SubtitleTrackOutputs[] } | undefined {
  if (!outputs || typeof outputs.segmentCount !== 'number' || !Array.isArray(outputs.tracks)) return undefined;
  const tracks = outputs.tracks.flatMap((value): SubtitleTrackOutputs[] => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return [];
    const { rendition, name, language, default: isDefault, forced } = value as Partial<Record<keyof SubtitleTrackOutputs, unknown>>;
    if (typeof rendition !== 'string' || typeof name !== 'string') return [];
    return [{ rendition, name, ...(typeof language === 'string' ? { language } : {}), default: isDefault === true, forced: forced === true }];
  });
  return tracks.length > 0 ? { segmentCount: outputs.segmentCount, tracks } : undefined;
}
