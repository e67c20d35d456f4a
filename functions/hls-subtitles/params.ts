/**
 * The hls-subtitles work order's params (params.v1.schema.json beside this file): which subtitle
 * streams become WebVTT renditions and how the master playlist names them, which are skipped and why, and the
 * video timeline their segments follow (computed from the probe exactly as hls-segment does).
 */
import type { DeepReadonly } from '../../shared/domain/step.ts';
import type { HlsSubtitlesParams as GeneratedHlsSubtitlesParams } from '../../events/generated/steps/hls-subtitles.ts';
import type { PlanContext } from '../../shared/domain/step.ts';
import type { StreamSummary } from '../../shared/media/classify.ts';
import { subtitleRendition } from '../../shared/media/hls/layout.ts';
import { tryPlanVideo } from '../../shared/media/hls/plan.ts';
import { languageTag, renditionName } from '../../shared/media/hls/playlist.ts';
import type { HlsSettings } from '../../shared/media/hls/settings.ts';
import { offsetSeconds } from '../../shared/media/hls/timeline.ts';

/** One text subtitle stream of the plan, as the work order carries it. */
export type SubtitleTrackPlan = HlsSubtitlesParams['tracks'][number];
type TextSubtitleCodec = SubtitleTrackPlan['codec'];

/** Text subtitle codecs ffmpeg converts to WebVTT (styling beyond WebVTT's is dropped). */
const TEXT_CODECS: readonly TextSubtitleCodec[] = ['subrip', 'srt', 'ass', 'ssa', 'mov_text', 'webvtt', 'text'];
export const TEXT_SUBTITLE_CODECS: ReadonlySet<string> = new Set(TEXT_CODECS);

function textCodec(codec: string): TextSubtitleCodec | undefined {
  return TEXT_CODECS.find((text) => text === codec);
}

/** The params of the hls-subtitles work order, generated from params.v1.schema.json beside this file. */
export type HlsSubtitlesParams = DeepReadonly<GeneratedHlsSubtitlesParams>;

export function subtitleStreams(context: Pick<PlanContext, 'probe'>): StreamSummary[] {
  return context.probe.streams.filter((stream) => stream.type === 'subtitle');
}

export function planSubtitlesParams(context: PlanContext, settings: HlsSettings): HlsSubtitlesParams {
  const streams = subtitleStreams(context);
  const text = streams.flatMap((stream) => {
    const codec = textCodec(stream.codec);
    return codec ? [{ ...stream, codec }] : [];
  });
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
