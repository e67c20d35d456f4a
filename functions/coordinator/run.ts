/**
 * coordinator: the single writer of asset status. It records each step result inside a transaction, queues
 * the steps that became ready, decides READY or FAILED, and publishes through the outbox. A duplicate result
 * changes nothing and emits nothing new.
 */
import { EventType, type StepCompleted, type StepFailed } from '../../events/catalog.ts';
import { assetPath } from '../../shared/domain/asset-id.ts';
import type { AssetDoc } from '../../shared/domain/asset.ts';
import { firestoreSize } from '../../shared/domain/bounded.ts';
import { applyProbeCompleted, outcomeOf, stepFailure, type Decision, type StepOutcome } from '../../shared/domain/coordination.ts';
import { applyCompletedOfRun, applyFailureOfRun, applyForcedFailureOfRun } from '../../shared/domain/reprocess.ts';
import { probeSummaryOf } from '../../shared/domain/probe-doc.ts';
import { PROBE_STEP } from '../../shared/domain/step.ts';
import { errorMessage, PermanentError } from '../../shared/errors.ts';
import { logs } from '../../shared/observability/messages.ts';
import type { Deps } from '../../shared/runtime/deps.ts';
import { eventFunction, type Outcome } from '../../shared/runtime/handler.ts';
import { recordShard } from './fan-in.ts';
import { stageEmissions } from './outbox-entries.ts';
import { flushOutbox } from './outbox.ts';

/** Firestore refuses documents over 1 MiB; an asset stops well short, so its failure can still be written. */
export const ASSET_DOC_BUDGET_BYTES = 768 * 1024;
/** An asset whose next document would not fit. */
export const DOCUMENT_TOO_LARGE = 'DOCUMENT_TOO_LARGE';
/** A step result the coordinator could not apply (an inconsistent document, or a bug): failed, not retried. */
export const COORDINATION_FAILED = 'COORDINATION_FAILED';

export const coordinatorFunction = eventFunction({
  name: 'coordinator',
  needs: { documents: true, sources: 'none', derivatives: 'none', publishes: ['work', 'assetEvents'], vertexAi: false, config: [] },
  accepts: (type) => type === EventType.stepCompleted || type === EventType.stepFailed,
  async run(event, { log }, deps) {
    const result = event.data as StepCompleted | StepFailed;
    const outcome =
      event.type === EventType.stepCompleted
        ? await onCompleted(result as StepCompleted, deps)
        : await decide(result, deps, (asset, now) => applyFailureOfRun(asset, result as StepFailed, now));
    logs.stepResultRecorded(log, result.assetId, result.step, outcome);
    // Also on duplicates: an earlier delivery may have committed and died before publishing.
    await flushAndSettle(result.assetId, deps);
    return outcome;
  },
});

async function onCompleted(result: StepCompleted, deps: Deps): Promise<Outcome> {
  if (result.step === PROBE_STEP) {
    return decide(result, deps, (asset, now) =>
      applyProbeCompleted(asset, outcomeOf(result), probeSummaryOf(result.outputs), deps.steps, now, deps.config.limits),
    );
  }
  // A reprocess's result is recorded on its run, beside the live outputs it must not touch (shared/domain/reprocess.ts).
  const apply = (outcome: StepOutcome) => (asset: AssetDoc, now: Date) => applyCompletedOfRun(asset, outcome, result.outputVersion, now);
  if (result.shard.count === 1) {
    // A fanned-out step that happened to need one shard still gets its outputs folded the same way.
    const definition = deps.steps.get(result.step);
    const outcome = outcomeOf(result);
    return decide(result, deps, apply(definition?.combine ? { ...outcome, outputs: definition.combine([outcome.outputs]) } : outcome));
  }
  const progress = await recordShard(result, deps);
  if (!progress.complete) return progress.created ? 'done' : 'duplicate';
  return decide(result, deps, apply(progress.outcome));
}

/**
 * Publishes what the asset's outbox holds; a step whose work orders cannot be built is failed (a decision of its
 * own, whose asset.failed is then published too). The coordinator does this after every result, the watchdog for
 * entries whose flush never happened.
 */
export async function flushAndSettle(assetId: string, deps: Deps): Promise<void> {
  for (const failure of await flushOutbox(assetId, deps)) {
    await decide(failure, deps, (asset, now) => applyFailureOfRun(asset, failure, now));
    await flushOutbox(assetId, deps);
  }
}

/** What a decision is about: the asset, and the step whose result it applies (or that the watchdog found stuck). */
export type ResultRef = Pick<StepCompleted, 'assetId' | 'step' | 'shard' | 'outputVersion'>;

/** Applies a pure decision to the asset in one transaction with the emissions it stages; 'duplicate' when it changed nothing. */
export async function decide(result: ResultRef, deps: Deps, apply: (asset: AssetDoc, now: Date) => Decision): Promise<Outcome> {
  const path = assetPath(result.assetId);
  const decision = await deps.store.runTransaction(async (tx) => {
    const asset = await tx.get<AssetDoc>(path);
    // Ingest creates the document before it publishes anything, so a result for a missing asset is not ours.
    if (!asset) throw new PermanentError('ASSET_NOT_FOUND', `no asset ${result.assetId} for this step result`);
    const now = deps.clock.now();
    const next = decideOrFail(asset, result, now, apply);
    if (next.note === 'applied') {
      tx.set(path, next.asset);
      stageEmissions(tx, result.assetId, next.emissions, now);
    }
    return { ...next, before: asset.status };
  });
  if (decision.note !== 'applied') return 'duplicate';
  if (decision.forced) logs.decisionForced(deps.log, result.assetId, result.step, decision.forced.code, decision.forced.message);
  // A reprocess's decisions leave a READY asset READY: settled once, logged once.
  if (decision.asset.status !== 'PROCESSING' && decision.asset.status !== decision.before) logs.assetSettled(deps.log, result.assetId, decision.asset.status);
  return 'done';
}

/**
 * The decision, or the asset failed with why there is none. A pure decision that throws will throw on every
 * redelivery, and a document over Firestore's limit will be refused on every one: neither is worth a retry, and
 * both would leave the asset PROCESSING forever.
 */
function decideOrFail(
  asset: AssetDoc,
  result: ResultRef,
  now: Date,
  apply: (asset: AssetDoc, now: Date) => Decision,
): Decision & { forced?: StepFailed['error'] } {
  let error: StepFailed['error'];
  try {
    const next = apply(asset, now);
    const size = next.note === 'applied' ? firestoreSize(next.asset) : 0;
    if (size <= ASSET_DOC_BUDGET_BYTES) return next;
    error = {
      code: DOCUMENT_TOO_LARGE,
      message: `the asset document would be ${size} bytes after this ${result.step} result; the budget is ${ASSET_DOC_BUDGET_BYTES}`,
    };
  } catch (thrown) {
    error = { code: COORDINATION_FAILED, message: `the ${result.step} result could not be applied: ${errorMessage(thrown)}` };
  }
  const failure = stepFailure(result.assetId, result.step, result.shard.count, error, now, { outputVersion: result.outputVersion });
  return { ...applyForcedFailureOfRun(asset, failure, now), forced: failure.error };
}
