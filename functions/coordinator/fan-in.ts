/**
 * Fan-in for steps split into many work orders. Each shard's result is its own document in the asset's
 * `results` subcollection, created if absent; completion is decided by counting them. The asset document is
 * written once per step, not once per shard, so a thousand segments never make it a hot document.
 */
import type { StepCompleted } from '../../events/catalog.ts';
import { assetPath } from '../../shared/domain/asset-id.ts';
import { outcomeOf, type StepOutcome } from '../../shared/domain/coordination.ts';
import type { DocData } from '../../shared/ports/document-store.ts';
import type { Deps } from '../../shared/runtime/deps.ts';

type ShardResult = { step: string; shard: number; attempt: number; startedAt: Date; finishedAt: Date; outputs: DocData; provenance: DocData; recordedAt: Date };

function resultsCollection(assetId: string): string {
  return `${assetPath(assetId)}/results`;
}

export type ShardProgress =
  { readonly complete: false; readonly created: boolean; readonly done: number } | { readonly complete: true; readonly outcome: StepOutcome };

export async function recordShard(result: StepCompleted, deps: Deps): Promise<ShardProgress> {
  const collection = resultsCollection(result.assetId);
  const outcome = outcomeOf(result);
  const created = await deps.store.create(`${collection}/${result.step}~${String(result.shard.index).padStart(6, '0')}`, {
    step: result.step,
    shard: result.shard.index,
    attempt: outcome.attempt,
    startedAt: outcome.startedAt,
    finishedAt: outcome.finishedAt,
    outputs: outcome.outputs,
    provenance: outcome.provenance,
    recordedAt: deps.clock.now(),
  } satisfies ShardResult);
  const done = await deps.store.count(collection, { where: [['step', '==', result.step]] });
  if (done < result.shard.count) return { complete: false, created, done };
  return { complete: true, outcome: await combineShards(result, deps) };
}

async function combineShards(result: StepCompleted, deps: Deps): Promise<StepOutcome> {
  const shards = await deps.store.list<ShardResult>(resultsCollection(result.assetId), { where: [['step', '==', result.step]], orderBy: { field: 'shard' } });
  const definition = deps.steps.get(result.step);
  const outputs = shards.map((shard) => shard.data.outputs);
  return {
    step: result.step,
    attempt: Math.max(...shards.map((shard) => shard.data.attempt)),
    startedAt: new Date(Math.min(...shards.map((shard) => shard.data.startedAt.getTime()))),
    finishedAt: new Date(Math.max(...shards.map((shard) => shard.data.finishedAt.getTime()))),
    outputs: definition?.combine ? definition.combine(outputs) : { shards: outputs },
    provenance: shards[0]!.data.provenance,
  };
}
