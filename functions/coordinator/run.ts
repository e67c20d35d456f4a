/**
 * coordinator: the single writer of asset status. It records each step result inside a transaction, queues
 * the steps that became ready, decides READY or FAILED, and publishes through the outbox. A duplicate result
 * changes nothing and emits nothing new.
 */
import { EventType, type StepCompleted, type StepFailed } from '../../events/catalog.ts';
import { assetPath } from '../../shared/domain/asset-id.ts';
import type { AssetDoc } from '../../shared/domain/asset.ts';
import { applyProbeCompleted, applyStepCompleted, applyStepFailed, outcomeOf, type Decision } from '../../shared/domain/coordination.ts';
import { PROBE_STEP } from '../../shared/domain/step.ts';
import { PermanentError } from '../../shared/errors.ts';
import type { ProbeSummary } from '../../shared/media/classify.ts';
import { logs } from '../../shared/observability/messages.ts';
import type { Deps } from '../../shared/runtime/deps.ts';
import { eventFunction, type Outcome } from '../../shared/runtime/handler.ts';
import { recordShard } from './fan-in.ts';
import { flushOutbox, stageEmissions } from './outbox.ts';

export const coordinatorFunction = eventFunction({
  name: 'coordinator',
  accepts: (type) => type === EventType.stepCompleted || type === EventType.stepFailed,
  async run(event, { log }, deps) {
    const outcome =
      event.type === EventType.stepCompleted ? await onCompleted(event.data as StepCompleted, deps) : await decide((event.data as StepFailed).assetId, deps, (asset, now) => applyStepFailed(asset, event.data as StepFailed, now));
    const assetId = (event.data as StepCompleted | StepFailed).assetId;
    logs.stepResultRecorded(log, assetId, (event.data as StepCompleted | StepFailed).step, outcome);
    // Also on duplicates: an earlier delivery may have committed and died before publishing.
    for (const failure of await flushOutbox(assetId, deps)) {
      await decide(assetId, deps, (asset, now) => applyStepFailed(asset, failure, now));
      await flushOutbox(assetId, deps);
    }
    return outcome;
  },
});

async function onCompleted(result: StepCompleted, deps: Deps): Promise<Outcome> {
  if (result.step === PROBE_STEP) {
    return decide(result.assetId, deps, (asset, now) => applyProbeCompleted(asset, outcomeOf(result), result.outputs as unknown as ProbeSummary, deps.steps, now));
  }
  if (result.shard.count === 1) {
    // A fanned-out step that happened to need one shard still gets its outputs folded the same way.
    const definition = deps.steps.get(result.step);
    const outcome = outcomeOf(result);
    const folded = definition?.combine ? { ...outcome, outputs: definition.combine([outcome.outputs]) } : outcome;
    return decide(result.assetId, deps, (asset, now) => applyStepCompleted(asset, folded, now));
  }
  const progress = await recordShard(result, deps);
  if (!progress.complete) return progress.created ? 'done' : 'duplicate';
  return decide(result.assetId, deps, (asset, now) => applyStepCompleted(asset, progress.outcome, now));
}

async function decide(assetId: string, deps: Deps, apply: (asset: AssetDoc, now: Date) => Decision): Promise<Outcome> {
  const path = assetPath(assetId);
  const decision = await deps.store.runTransaction(async (tx) => {
    const asset = await tx.get<AssetDoc>(path);
    // Ingest creates the document before it publishes anything, so a result for a missing asset is not ours.
    if (!asset) throw new PermanentError('ASSET_NOT_FOUND', `no asset ${assetId} for this step result`);
    const now = deps.clock.now();
    const next = apply(asset, now);
    if (next.note === 'applied') {
      tx.set(path, next.asset);
      stageEmissions(tx, assetId, next.emissions, now);
    }
    return next;
  });
  if (decision.note !== 'applied') return 'duplicate';
  if (decision.asset.status !== 'PROCESSING') logs.assetSettled(deps.log, assetId, decision.asset.status);
  return 'done';
}
