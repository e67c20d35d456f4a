/**
 * Publishing one shard: each rendition's fragmented file is split into its init segment and its media segment.
 * Only shard 0 writes the init segments (every shard's are byte-identical, and a thousand shards rewriting one
 * object would exceed GCS's one-write-per-second-per-object limit); every shard records its init's hash, so
 * the package step can prove they are identical. The shard's measurements go to the results subcollection.
 */
import type { HlsSegmentOutputs } from '../../events/generated/steps/hls-segment.ts';
import type { DeepReadonly } from '../../shared/domain/step.ts';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { INIT_CONTENT_TYPE, initFile, SEGMENT_CONTENT_TYPE, segmentFile } from '../../shared/media/hls/layout.ts';
import { parseInit, parseSegment, splitFragmented, type SegmentTiming } from '../../shared/media/hls/fmp4.ts';
import { writeDerivative, type DerivativeTarget } from '../../shared/runtime/derivatives.ts';
import type { SourceReadStats } from '../../shared/runtime/source-server.ts';
import { allRenditions, type SegmentParams } from './params.ts';

/** What one shard reports (outputs.v1.schema.json beside this file). */
export type ShardOutputs = DeepReadonly<HlsSegmentOutputs>;

export async function publishShard(
  target: DerivativeTarget,
  params: SegmentParams,
  files: readonly string[],
  sourceRead: SourceReadStats,
): Promise<ShardOutputs> {
  const renditions: Record<string, { bytes: number; initSha256: string }> = {};
  let timing: (SegmentTiming & { timescale: number }) | undefined;
  for (const [i, rendition] of allRenditions(params).entries()) {
    const { init, fragments } = splitFragmented(await readFile(files[i]!));
    const [track] = parseInit(init);
    if (!track) throw new Error(`${rendition.name}: the encoder wrote an init segment without a track`);
    const initSha256 = createHash('sha256').update(init).digest('hex');
    if (params.segment.index === 0) await writeDerivative(target, initFile(rendition.name), init, { contentType: INIT_CONTENT_TYPE });
    if (fragments.length === 0) {
      renditions[rendition.name] = { bytes: 0, initSha256 };
      continue;
    }
    const media = Buffer.concat(fragments);
    timing ??= { ...parseSegment(media, track), timescale: track.timescale };
    await writeDerivative(target, segmentFile(rendition.name, params.segment.index), media, {
      contentType: SEGMENT_CONTENT_TYPE,
      metadata: { 'mediaflow-segment-index': String(params.segment.index), 'mediaflow-rendition': rendition.name },
    });
    renditions[rendition.name] = { bytes: media.length, initSha256 };
  }
  return {
    index: params.segment.index,
    frames: timing?.samples ?? 0,
    startSeconds: timing ? timing.presentationStart / timing.timescale : null,
    durationSeconds: timing ? timing.duration / timing.timescale : 0,
    renditions,
    sourceRead: { requests: sourceRead.requests, bytesRead: sourceRead.bytesRead },
    picture: params.picture,
  };
}
