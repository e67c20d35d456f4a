/**
 * The hls-subtitles work order's params (events/schemas/work/hls-subtitles.params.v1.json): which subtitle
 * streams become WebVTT renditions and how the master playlist names them, which are skipped and why, and the
 * video timeline their segments follow (computed from the probe exactly as hls-segment does).
 */
import type { PlanContext } from '../../shared/domain/step.ts';
import type { StreamSummary } from '../../shared/media/classify.ts';
import { subtitleRendition } from '../../shared/media/hls/layout.ts';
import { tryPlanVideo } from '../../shared/media/hls/plan.ts';
import { languageTag, renditionName } from '../../shared/media/hls/playlist.ts';
import type { HlsSettings } from '../../shared/media/hls/settings.ts';
import { offsetSeconds, type VideoTimeline } from '../../shared/media/hls/timeline.ts';

/** Text subtitle codecs ffmpeg converts to WebVTT (styling beyond WebVTT's is dropped). */
export const TEXT_SUBTITLE_CODECS: ReadonlySet<string> = new Set(['subrip', 'srt', 'ass', 'ssa', 'mov_text', 'webvtt', 'text']);

export interface SubtitleTrackPlan {
  /** Absolute stream index in the source. */
  readonly index: number;
  readonly codec: string;
  readonly rendition: string;
  readonly name: string;
  readonly language?: string;
  readonly default: boolean;
  readonly forced: boolean;
}

export interface HlsSubtitlesParams {
  readonly tracks: readonly SubtitleTrackPlan[];
  /** Streams that are not text (PGS, DVB, DVD bitmaps): nothing to convert without OCR. */
  readonly skipped: readonly { readonly index: number; readonly codec: string; readonly reason: string }[];
  /** The video's segment grid; null when the video cannot be planned (hls-segment then fails the asset). */
  readonly timeline: VideoTimeline | null;
  /** Where the timeline's zero sits on the HLS media timeline (X-TIMESTAMP-MAP's MPEGTS, in seconds). */
  readonly offsetSeconds: number;
}

export function subtitleStreams(context: Pick<PlanContext, 'probe'>): StreamSummary[] {
  return context.probe.streams.filter((stream) => stream.type === 'subtitle');
}

export function planSubtitlesParams(context: PlanContext, settings: HlsSettings): HlsSubtitlesParams {
  const streams = subtitleStreams(context);
  const text = streams.filter((stream) => TEXT_SUBTITLE_CODECS.has(stream.codec));
  const planned = tryPlanVideo(context, settings);
  const timeline = 'plan' in planned ? planned.plan.timeline : null;
  return {
    tracks: text.map((stream, position) => {
      const language = languageTag(stream.language);
      return {
        index: stream.index,
        codec: stream.codec,
        rendition: subtitleRendition(position),
        name: renditionName(stream.title, language, `Subtitles ${position + 1}`),
        ...(language ? { language } : {}),
        default: stream.defaultTrack === true,
        forced: stream.forced === true,
      };
    }),
    skipped: streams
      .filter((stream) => !TEXT_SUBTITLE_CODECS.has(stream.codec))
      .map((stream) => ({ index: stream.index, codec: stream.codec, reason: 'bitmap subtitles (no text to convert to WebVTT without OCR)' })),
    timeline,
    offsetSeconds: timeline ? offsetSeconds(timeline) : 0,
  };
}
