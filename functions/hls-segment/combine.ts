/**
 * Fan-in of the segment shards, run by the coordinator once every shard has reported. What reaches the asset
 * document is a summary whose size does not grow with the renditions' segments: totals, the distinct init
 * hashes (one per rendition when all is well) and the indices of empty shards. Per-segment facts stay in the
 * results subcollection.
 */
import type { HlsSegmentCombinedOutputs, HlsSegmentOutputs } from '../../events/generated/steps/hls-segment.ts';
import { COMBINED_SCHEMA_FILE, OUTPUTS_SCHEMA_FILE, readStepSchema } from '../../events/step-schemas.ts';
import { schemaGuard } from '../../shared/domain/schema-guard.ts';
import type { DeepReadonly } from '../../shared/domain/step.ts';
import type { DocData } from '../../shared/ports/document-store.ts';
import type { ShardOutputs } from './publish.ts';

/** What the asset records for the step (combined.v1.schema.json beside this file). */
export type SegmentSummary = DeepReadonly<HlsSegmentCombinedOutputs>;

/** Where a summary holds more than this many empty shards, the rest are implied by the count; the document stays small. */
const MAX_LISTED_EMPTY = 50;

export function combineShards(shards: readonly ShardOutputs[]): SegmentSummary {
  const renditions: Record<string, { bytes: number; initSha256: string[] }> = {};
  for (const shard of shards) {
    for (const [name, rendition] of Object.entries(shard.renditions)) {
      if (!rendition) continue;
      const entry = (renditions[name] ??= { bytes: 0, initSha256: [] });
      entry.bytes += rendition.bytes;
      if (!entry.initSha256.includes(rendition.initSha256)) entry.initSha256.push(rendition.initSha256);
    }
  }
  const summary: SegmentSummary = {
    segmentCount: shards.length,
    frames: shards.reduce((sum, shard) => sum + shard.frames, 0),
    durationSeconds: shards.reduce((sum, shard) => sum + shard.durationSeconds, 0),
    emptySegments: shards
      .filter((shard) => shard.frames === 0)
      .map((shard) => shard.index)
      .slice(0, MAX_LISTED_EMPTY),
    renditions,
    sourceBytesRead: shards.reduce((sum, shard) => sum + shard.sourceRead.bytesRead, 0),
    ...(shards[0]?.picture ? { picture: shards[0].picture } : {}),
  };
  return summary;
}

const summaries = schemaGuard<HlsSegmentCombinedOutputs>(readStepSchema(import.meta.dirname, COMBINED_SCHEMA_FILE), 'the hls-segment outputs');
const shardOutputs = schemaGuard<HlsSegmentOutputs>(readStepSchema(import.meta.dirname, OUTPUTS_SCHEMA_FILE), 'the hls-segment shard outputs');

/**
 * The step's outputs as the package step sees them, checked against their schema. The coordinator folds a step's
 * shards with combine even when there is one; a document recorded before it did holds that shard's outputs as
 * they are, so they are folded here.
 */
export function segmentSummary(outputs: DocData): SegmentSummary {
  return 'segmentCount' in outputs ? summaries.check(outputs) : combineShards([shardOutputs.check(outputs)]);
}
