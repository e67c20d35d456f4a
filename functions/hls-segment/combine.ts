/**
 * Fan-in of the segment shards, run by the coordinator once every shard has reported. What reaches the asset
 * document is a summary whose size does not grow with the renditions' segments: totals, the distinct init
 * hashes (one per rendition when all is well) and the indices of empty shards. Per-segment facts stay in the
 * results subcollection.
 */
import type { PicturePlan } from '../../shared/media/hls/plan.ts';
import type { DocData } from '../../shared/ports/document-store.ts';
import type { ShardOutputs } from './publish.ts';

export interface SegmentSummary {
  readonly segmentCount: number;
  readonly frames: number;
  readonly durationSeconds: number;
  /** Shards that produced no frame (the probe overstated the duration): the package step drops them from the end. */
  readonly emptySegments: readonly number[];
  readonly renditions: Readonly<Record<string, { readonly bytes: number; readonly initSha256: readonly string[] }>>;
  /** Bytes of the source all shards read together: near the source's size when the ranged reads work, a multiple of it when not. */
  readonly sourceBytesRead: number;
  /** The same for every shard (planned from the probe): scan verdict, deinterlacing, tone map, colour per rung, frame-rate rule. */
  readonly picture?: PicturePlan;
}

/** Where a summary holds more than this many empty shards, the rest are implied by the count; the document stays small. */
const MAX_LISTED_EMPTY = 50;

export function combineShards(shardOutputs: readonly DocData[]): DocData {
  const shards = shardOutputs as unknown as readonly ShardOutputs[];
  const renditions: Record<string, { bytes: number; initSha256: string[] }> = {};
  for (const shard of shards) {
    for (const [name, rendition] of Object.entries(shard.renditions)) {
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
  return summary as unknown as DocData;
}

/**
 * The step's outputs as the package step sees them. The coordinator folds shards with combine only when there
 * are several; a video of one segment records that shard's outputs as they are, so they are folded here.
 */
export function segmentSummary(outputs: DocData): SegmentSummary {
  return ('segmentCount' in outputs ? outputs : combineShards([outputs])) as unknown as SegmentSummary;
}
