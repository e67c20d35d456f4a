/**
 * hls-subtitles: every text subtitle stream (SRT, ASS/SSA, mov_text, WebVTT) becomes a rendition of the
 * SUBTITLES group, segmented WebVTT aligned with the video segments. Bitmap subtitles (PGS, DVB, DVD) are
 * skipped with a note in the outputs: turning pictures into text needs OCR, which this pipeline does not do.
 */
import path from 'node:path';
import { readFile } from 'node:fs/promises';
import { stepSchemas } from '../../events/step-schemas.ts';
import { defineStep, orders, skip } from '../../shared/domain/step.ts';
import { PermanentError, PermanentErrorCode } from '../../shared/errors.ts';
import { settleRun } from '../../shared/media/ffmpeg/classify.ts';
import { runTool } from '../../shared/media/ffmpeg/run.ts';
import { quietArgs } from '../../shared/media/hls/ffmpeg.ts';
import { HLS_SUBTITLES_STEP } from '../../shared/media/hls/layout.ts';
import { primaryVideoStream } from '../../shared/media/hls/ladder.ts';
import { DEFAULT_HLS_SETTINGS, type HlsSettings } from '../../shared/media/hls/settings.ts';
import { inputArgs } from '../../shared/media/input.ts';
import { withServedSource } from '../../shared/runtime/source-server.ts';
import { planSubtitlesParams, subtitleStreams, type HlsSubtitlesParams } from './params.ts';
import { publishTrack, type SubtitlesOutputs } from './publish.ts';
import { MEDIA_STEP_NEEDS } from '../../shared/runtime/needs.ts';

/** Converting text is quick; the bound is the read of the whole source, which the demuxer streams. */
export const HLS_SUBTITLES_TIMEOUT_MS = 300_000;
export const HLS_SUBTITLES_RECIPE_VERSION = '1';

export function createSubtitlesStep(settings: HlsSettings = DEFAULT_HLS_SETTINGS) {
  return defineStep<HlsSubtitlesParams, SubtitlesOutputs>({
    name: HLS_SUBTITLES_STEP,
    needs: MEDIA_STEP_NEEDS,
    dependsOn: [],
    timeoutMs: HLS_SUBTITLES_TIMEOUT_MS,
    recipeVersion: HLS_SUBTITLES_RECIPE_VERSION,
    ...stepSchemas(import.meta.dirname),
    plan: (context) =>
      context.kind === 'video' && primaryVideoStream(context.probe) !== undefined && subtitleStreams(context).length > 0
        ? orders(planSubtitlesParams(context, settings))
        : skip(),
    async run(order, context) {
      const { params } = order;
      const timeline = params.timeline;
      if (!timeline) throw new PermanentError(PermanentErrorCode.UNSUPPORTED_MEDIA, 'the video cannot be cut into segments, so its subtitles cannot be either');
      const tools = await context.mediaTools();
      const target = { blobs: context.blobs, config: context.config, order, recipeVersion: HLS_SUBTITLES_RECIPE_VERSION };
      const tracks: SubtitlesOutputs['tracks'][number][] = [];
      const md5Hash = await withServedSource(context.blobs, order.source, tools.sourceDemuxers, async (source) => {
        for (const track of params.tracks) {
          const output = path.join(context.scratchDir, `${track.rendition}.vtt`);
          // Without -copyts ffmpeg times the output from the file's start: the timeline's zero.
          const args = [...quietArgs(), ...inputArgs(source.input), '-map', `0:${track.index}`, '-c:s', 'webvtt', '-f', 'webvtt', output];
          await settleRun(
            runTool(tools.ffmpeg, args, { tool: 'ffmpeg', label: `subtitle stream ${track.index} conversion`, signal: context.signal }),
            { what: `subtitle stream ${track.index} (${track.codec}) could not be converted to WebVTT` },
            source,
          );
          tracks.push(await publishTrack(target, track, await readFile(output, 'utf8'), timeline, params.offsetSeconds));
        }
        return source.meta.md5Hash;
      });
      const outputs: SubtitlesOutputs = { segmentCount: timeline.segmentCount, tracks, skipped: params.skipped };
      return { outputs, inputMd5: md5Hash, tools: { ffmpeg: tools.versions.ffmpeg } };
    },
  });
}
