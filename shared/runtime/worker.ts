/**
 * Turns a StepDefinition into a worker function: validated work order in, step result out. Workers are pure
 * and idempotent: deterministic output paths, no status writes, and a re-run of the same order produces the
 * same result event id, which the coordinator dedupes.
 */
import { EventType, workOrderType, type StepCompleted, type StepFailed, type WorkOrder } from '../../events/catalog.ts';
import type { StepDefinition } from '../domain/step.ts';
import { isPermanent, PermanentError, PermanentErrorCode } from '../errors.ts';
import { logs } from '../observability/messages.ts';
import { BlobNotFoundError } from '../ports/blob-store.ts';
import type { Deps } from './deps.ts';
import { eventFunction, type FunctionDefinition } from './handler.ts';
import { publishEvent, sourceOf } from './publish.ts';
import { withScratchDir } from './scratch.ts';
import { withTimeout } from './timeout.ts';

export function workerFunction(step: StepDefinition): FunctionDefinition {
  const type = workOrderType(step.name);
  return eventFunction({
    name: step.name,
    needs: step.needs,
    accepts: (candidate) => candidate === type,
    async run(event, { delivery, log }, deps) {
      const order = event.data as WorkOrder;
      const startedAt = deps.clock.now();
      logs.workStarted(log, order.orderId);
      const common = { orderId: order.orderId, assetId: order.assetId, step: order.step, shard: order.shard, attempt: delivery.deliveryAttempt };
      try {
        const result = await withScratchDir((scratchDir) =>
          withTimeout(step.timeoutMs, `step '${step.name}' for ${order.orderId}`, (signal) =>
            step.run(order, {
              blobs: deps.blobs,
              config: deps.config,
              clock: deps.clock,
              log,
              mediaTools: deps.mediaTools,
              scratchDir,
              signal,
              deliveryAttempt: delivery.deliveryAttempt,
            }),
          ),
        ).catch((error: unknown) => {
          throw sourceGoneIsPermanent(error, order);
        });
        const completed: StepCompleted = {
          ...common,
          startedAt: startedAt.toISOString(),
          finishedAt: deps.clock.now().toISOString(),
          outputs: { ...result.outputs },
          provenance: { ...(result.inputMd5 ? { inputMd5: result.inputMd5 } : {}), recipeVersion: step.recipeVersion, tools: { ...(result.tools ?? {}) } },
        };
        await publishStepResult(deps, step.name, completed);
        return 'done';
      } catch (error) {
        if (!isPermanent(error)) throw error;
        logs.workFailedPermanently(log, order.orderId, error.code, error.message);
        const failed: StepFailed = {
          ...common,
          failedAt: deps.clock.now().toISOString(),
          error: { code: error.code, message: error.message },
          deadLettered: false,
        };
        await publishStepResult(deps, step.name, failed);
        return 'failed';
      }
    },
  });
}

/** The pinned source generation is gone for good (GCS keeps no old generations here); retrying cannot bring it back. */
function sourceGoneIsPermanent(error: unknown, order: WorkOrder): unknown {
  if (!(error instanceof BlobNotFoundError)) return error;
  const { bucket, name } = error.ref;
  if (bucket !== order.source.bucket || name !== order.source.name) return error;
  return new PermanentError(PermanentErrorCode.SOURCE_CHANGED, `gs://${bucket}/${name}#${order.source.generation} is no longer the live object`, {
    cause: error,
  });
}

/** Result event ids derive from the order id, so re-running an order re-publishes a recognisable duplicate. */
export async function publishStepResult(deps: Deps, functionName: string, result: StepCompleted | StepFailed): Promise<void> {
  const completed = 'outputs' in result;
  await publishEvent(deps.bus, deps.config.topics.stepResults, {
    type: completed ? EventType.stepCompleted : EventType.stepFailed,
    id: `${result.orderId}/${completed ? 'completed' : 'failed'}`,
    source: sourceOf(functionName),
    subject: result.assetId,
    time: deps.clock.now(),
    data: result,
  });
}
