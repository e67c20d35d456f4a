/**
 * Fan-in for steps split into many work orders. Each shard's result is its own document in the asset's
 * `results` subcollection, created if absent; completion is decided by counting them. The asset document is
 * written once per step, not once per shard, so a thousand segments never make it a hot document.
 */
import type { StepCompleted } from '../../events/catalog.ts';
import { collections } from '../../shared/domain/collections.ts';
import { outcomeOf, type StepOutcome } from '../../shared/domain/coordination.ts';
import { sumFigures, type CostFigures } from '../../shared/domain/cost.ts';
import type { DocData } from '../../shared/ports/document-store.ts';
import type { Deps } from '../../shared/runtime/deps.ts';

type ShardResult = {
  /** The step, or `<step>@<output version>` for a reprocess's shards, which must not count with the first run's. */
  step: string;
  shard: number;
  attempt: number;
  startedAt: Date;
  finishedAt: Date;
  outputs: DocData;
  provenance: DocData;
  recordedAt: Date;
  /** The shard's usage, priced; summed once into the step's outcome when the last shard lands. */
  cost?: CostFigures;
};

const { results } = collections;

export type ShardProgress =
  { readonly complete: false; readonly created: boolean; readonly done: number } | { readonly complete: true; readonly outcome: StepOutcome };

/** Whose shards these are: the step's first run, or one reprocess of it. */
function runKey(result: Pick<StepCompleted, 'step' | 'outputVersion'>): string {
  return result.outputVersion === undefined ? result.step : `${result.step}@${result.outputVersion}`;
}

export async function recordShard(result: StepCompleted, deps: Deps): Promise<ShardProgress> {
  const outcome = outcomeOf(result);
  const key = runKey(result);
  const created = await deps.store.create(results.doc(result.assetId, key, result.shard.index), {
    step: key,
    shard: result.shard.index,
    attempt: outcome.attempt,
    startedAt: outcome.startedAt,
    finishedAt: outcome.finishedAt,
    outputs: outcome.outputs,
    provenance: outcome.provenance,
    recordedAt: deps.clock.now(),
    ...(outcome.cost ? { cost: outcome.cost } : {}),
  } satisfies ShardResult);
  const done = await deps.store.count(results.path(result.assetId), results.queries.ofStep.query({ step: key }));
  if (done < result.shard.count) return { complete: false, created, done };
  return { complete: true, outcome: await combineShards(result, deps) };
}

async function combineShards(result: StepCompleted, deps: Deps): Promise<StepOutcome> {
  const shards = await deps.store.list<ShardResult>(results.path(result.assetId), results.queries.ofStepByShard.query({ step: runKey(result) }));
  const definition = deps.steps.get(result.step);
  const outputs = shards.map((shard) => shard.data.outputs);
  return {
    step: result.step,
    attempt: Math.max(...shards.map((shard) => shard.data.attempt)),
    startedAt: new Date(Math.min(...shards.map((shard) => shard.data.startedAt.getTime()))),
    finishedAt: new Date(Math.max(...shards.map((shard) => shard.data.finishedAt.getTime()))),
    outputs: definition?.combine ? definition.combine(outputs) : { shards: outputs },
    provenance: shards[0]!.data.provenance,
    // One document per shard (created if absent), so each shard's usage is counted once however often it was delivered.
    ...costOf(shards),
  };
}

function costOf(shards: readonly { data: ShardResult }[]): { cost?: CostFigures } {
  const cost = sumFigures(shards.map((shard) => shard.data.cost));
  return cost ? { cost } : {};
}
