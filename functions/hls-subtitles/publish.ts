/**
 * Converting and publishing one subtitle track: ffmpeg turns the stream into one WebVTT document, timed from the
 * file's start (the timeline's zero: ffmpeg subtracts the input's start_time when -copyts is not given), which
 * is then cut into one `.vtt` per video segment under deterministic names.
 */
import type { HlsSubtitlesOutputs } from '../../events/generated/steps/hls-subtitles.ts';
import { OUTPUTS_SCHEMA_FILE, readStepSchema } from '../../events/step-schemas.ts';
import { schemaGuard } from '../../shared/domain/schema-guard.ts';
import type { DeepReadonly } from '../../shared/domain/step.ts';
import type { DocData } from '../../shared/ports/document-store.ts';
import { vttSegmentFile, WEBVTT_CONTENT_TYPE } from '../../shared/media/hls/layout.ts';
import { rateValue, segmentWindow, type VideoTimeline } from '../../shared/media/hls/timeline.ts';
import { writeDerivative, type DerivativeTarget } from '../../shared/runtime/derivatives.ts';
import type { SubtitleTrackPlan } from './params.ts';
import { parseWebVtt, webVttSegment, type Window } from './webvtt.ts';

/** One WebVTT rendition as the package step names it in the master playlist: its outputs less the cue count. */
export type SubtitleTrackOutputs = Omit<SubtitlesOutputs['tracks'][number], 'cues'>;

/** What the step reports (outputs.v1.schema.json beside this file). */
export type SubtitlesOutputs = DeepReadonly<HlsSubtitlesOutputs>;

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
  if (!outputs) return undefined;
  const { segmentCount, tracks } = recorded.check(outputs);
  return tracks.length > 0 ? { segmentCount, tracks: tracks.map(({ cues: _cues, ...track }) => track) } : undefined;
}

const recorded = schemaGuard<HlsSubtitlesOutputs>(readStepSchema(import.meta.dirname, OUTPUTS_SCHEMA_FILE), 'the hls-subtitles outputs');
