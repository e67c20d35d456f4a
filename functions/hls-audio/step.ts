/**
 * hls-audio: the HLS audio renditions, one AAC-LC track per audio stream of the source (one work order each),
 * all in one audio group, at the playback gain the audio step computed for the primary stream. Video assets pair it with the hls-segment video; audio-only assets get
 * an audio-only HLS of it alone.
 */
import path from 'node:path';
import { stepSchemas } from '../../events/step-schemas.ts';
import { defineStep, shardedOrders, skip } from '../../shared/domain/step.ts';
import { PermanentError } from '../../shared/errors.ts';
import { settleRun } from '../../shared/media/ffmpeg/classify.ts';
import { runTool } from '../../shared/media/ffmpeg/run.ts';
import { HLS_AUDIO_STEP } from '../../shared/media/hls/layout.ts';
import { DEFAULT_HLS_SETTINGS, type HlsSettings } from '../../shared/media/hls/settings.ts';
import { withServedSource } from '../../shared/runtime/source-server.ts';
import { audioEncodeArgs, leadingSilence } from './encode.ts';
import { AUDIO_ANALYSIS_STEP, audioStreams, planAudioParams, primaryAudioStream, type HlsAudioParams } from './params.ts';
import { combineAudioTracks, type AudioTracks } from './combine.ts';
import { publishAudio, type AudioOutputs } from './publish.ts';
import { alignShiftSeconds, sourceStarts } from './source-start.ts';
import { MEDIA_STEP_NEEDS } from '../../shared/runtime/needs.ts';

/** Pub/Sub's 600 s ack ceiling less the pipeline's margin. */
export const HLS_AUDIO_TIMEOUT_MS = 585_000;
/**
 * Longest track one order encodes in time: ffmpeg's AAC encoder runs at ~60× realtime on one busy core, so
 * three hours take ~180 s plus the download, well inside the timeout.
 */
export const MAX_HLS_AUDIO_SECONDS = 3 * 3600;
/** 4: audio starting after the first video frame is padded with silence back to it. */
export const HLS_AUDIO_RECIPE_VERSION = '4';

export function createHlsAudioStep(settings: HlsSettings = DEFAULT_HLS_SETTINGS) {
  return defineStep<HlsAudioParams, AudioOutputs, AudioTracks>({
    name: HLS_AUDIO_STEP,
    needs: MEDIA_STEP_NEEDS,
    dependsOn: [AUDIO_ANALYSIS_STEP],
    timeoutMs: HLS_AUDIO_TIMEOUT_MS,
    recipeVersion: HLS_AUDIO_RECIPE_VERSION,
    ...stepSchemas(import.meta.dirname),
    plan: (context) =>
      (context.kind === 'audio' || context.kind === 'video') && primaryAudioStream(context) !== undefined
        ? // One order per audio stream: each is a rendition of the one audio group (functions/hls-audio/combine.ts).
          shardedOrders(audioStreams(context).length, (shard) => planAudioParams(context, settings, shard))
        : skip(),
    combine: combineAudioTracks,
    async run(order, context) {
      const { params } = order;
      if (params.durationSeconds !== null && params.durationSeconds > MAX_HLS_AUDIO_SECONDS) {
        throw new PermanentError(
          'AUDIO_TOO_LONG',
          `${Math.round(params.durationSeconds)} s of audio is more than the ${MAX_HLS_AUDIO_SECONDS} s one HLS audio order is sized for`,
        );
      }
      const tools = await context.mediaTools();
      const output = path.join(context.scratchDir, 'audio.mp4');
      // Streamed rather than downloaded: a film's audio track is read once, and its video bytes never land in scratch.
      const { starts, silence, md5Hash } = await withServedSource(context.blobs, order.source, tools.sourceDemuxers, async (source) => {
        const probed = await source.settle(sourceStarts(tools.ffprobe, source.input, params.stream.index, params.videoStreamIndex, context.signal));
        const shift = alignShiftSeconds(probed, params.aloneStarts);
        const pad = leadingSilence(params, shift, probed.audioSeconds);
        await settleRun(
          runTool(tools.ffmpeg, audioEncodeArgs(params, source.input, output, shift, pad), { tool: 'ffmpeg', label: 'AAC encode', signal: context.signal }),
          { what: 'the source audio could not be decoded and encoded' },
          source,
        );
        return { starts: probed, silence: pad, md5Hash: source.meta.md5Hash };
      });
      const outputs = await publishAudio(
        { blobs: context.blobs, config: context.config, order, recipeVersion: HLS_AUDIO_RECIPE_VERSION },
        params,
        output,
        starts,
        silence.samples,
      );
      return { outputs, inputMd5: md5Hash, tools: { ffmpeg: tools.versions.ffmpeg } };
    },
  });
}
