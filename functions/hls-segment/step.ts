/**
 * hls-segment: the video half of adaptive HLS, fanned out one work order per segment. Each order decodes its
 * few seconds of the source once and encodes every rendition of the ladder from that decode, as fragmented MP4
 * (CMAF-style) whose timestamps continue across orders, so an hour of video is hundreds of small parallel
 * invocations and the player still sees one continuous stream per rendition.
 */
import path from 'node:path';
import { stepSchemas } from '../../events/step-schemas.ts';
import { defineStep, reject, shardedOrders, skip } from '../../shared/domain/step.ts';
import { PermanentErrorCode } from '../../shared/errors.ts';
import { settleRun } from '../../shared/media/ffmpeg/classify.ts';
import { runTool } from '../../shared/media/ffmpeg/run.ts';
import { HLS_SEGMENT_STEP } from '../../shared/media/hls/layout.ts';
import { primaryVideoStream } from '../../shared/media/hls/ladder.ts';
import { tryPlanVideo } from '../../shared/media/hls/plan.ts';
import { DEFAULT_HLS_SETTINGS, hlsSettingsFor, type HlsSettings } from '../../shared/media/hls/settings.ts';
import { withServedSource } from '../../shared/runtime/source-server.ts';
import { combineShards, type SegmentSummary } from './combine.ts';
import { encodeArgs } from './encode.ts';
import { readHdr10Metadata } from './hdr.ts';
import { allRenditions, segmentParams, type SegmentParams } from './params.ts';
import { publishShard, type ShardOutputs } from './publish.ts';
import { MEDIA_STEP_NEEDS } from '../../shared/runtime/needs.ts';

/**
 * Six seconds of 1080p into four renditions take ~10 CPU-s single-threaded with veryfast on the bench machine;
 * five minutes covers a slow instance, a slower preset and the source download, and stays inside Pub/Sub's
 * 600 s ack ceiling.
 */
export const SEGMENT_TIMEOUT_MS = 5 * 60_000;
/** Bumped whenever the segments change for the same input and settings. */
export const SEGMENT_RECIPE_VERSION = '2';

export function createSegmentStep(settings: HlsSettings = DEFAULT_HLS_SETTINGS) {
  return defineStep<SegmentParams, ShardOutputs, SegmentSummary>({
    name: HLS_SEGMENT_STEP,
    needs: MEDIA_STEP_NEEDS,
    dependsOn: [],
    timeoutMs: SEGMENT_TIMEOUT_MS,
    recipeVersion: SEGMENT_RECIPE_VERSION,
    ...stepSchemas(import.meta.dirname),
    plan: (context) => {
      if (context.kind !== 'video' || primaryVideoStream(context.probe) === undefined) return skip();
      const resolved = hlsSettingsFor(settings, context.profile);
      const planned = tryPlanVideo(context, resolved);
      // A video that cannot be cut into segments fails at planning, with the reason, before any order exists.
      if (!('plan' in planned)) return reject(PermanentErrorCode.UNSUPPORTED_MEDIA, planned.problem);
      return shardedOrders(planned.plan.timeline.segmentCount, (shard) => segmentParams(planned.plan, resolved, shard));
    },
    async run(order, context) {
      const { params } = order;
      const tools = await context.mediaTools();
      const files = allRenditions(params).map((rendition) => path.join(context.scratchDir, `${rendition.name}.mp4`));
      const label = `segment ${params.segment.index} of ${params.segment.count}`;
      // Served with byte ranges rather than downloaded: the shard reads its few seconds and the file's index, not the whole film.
      const read = await withServedSource(context.blobs, order.source, tools.sourceDemuxers, async (source) => {
        const hdr10 = params.hdr
          ? await settleRun(
              readHdr10Metadata(tools.ffprobe, source.input, params.video.streamIndex, params.hdr.colour, context.signal),
              { what: `the source's HDR10 metadata could not be read (${label})` },
              source,
            )
          : null;
        await settleRun(
          runTool(tools.ffmpeg, encodeArgs(params, source.input, files, hdr10), { tool: 'ffmpeg', label: 'ffmpeg', signal: context.signal }),
          { what: `the source video could not be decoded and encoded (${label})` },
          source,
        );
        return { md5Hash: source.meta.md5Hash, ...source.stats() };
      });
      const shard = await publishShard({ blobs: context.blobs, config: context.config, order, recipeVersion: SEGMENT_RECIPE_VERSION }, params, files, read);
      return { outputs: shard, inputMd5: read.md5Hash, tools: { ffmpeg: tools.versions.ffmpeg } };
    },
    combine: combineShards,
  });
}
