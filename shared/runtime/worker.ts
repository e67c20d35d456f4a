/**
 * Turns a StepDefinition into a worker function: validated work order in, step result out. Workers are pure
 * and idempotent: deterministic output paths, no status writes, and a re-run of the same order produces the
 * same result event id, which the coordinator dedupes. Each run's result carries what it used (`usage`): CPU and
 * wall time (shared/media/ffmpeg/usage.ts), the bytes it moved through the blob store it was given, and the
 * model's tokens; the coordinator prices and sums them on the asset (shared/domain/cost.ts).
 */
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { EventType, workOrderType, type StepCompleted, type StepFailed, type WorkOrder } from '../../events/catalog.ts';
import { modelTokensIn, type StepUsage } from '../domain/cost.ts';
import type { StepDefinition } from '../domain/step.ts';
import { isPermanent, PermanentError, PermanentErrorCode } from '../errors.ts';
import { startMeter, type CpuUsage } from '../media/ffmpeg/usage.ts';
import { logs } from '../observability/messages.ts';
import { BlobNotFoundError, type BlobStore } from '../ports/blob-store.ts';
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
      const common = {
        orderId: order.orderId,
        assetId: order.assetId,
        step: order.step,
        shard: order.shard,
        // A reprocess's result names its output version, so the coordinator records it on the run, not the live outputs.
        ...(order.outputVersion === undefined ? {} : { outputVersion: order.outputVersion }),
        attempt: delivery.deliveryAttempt,
      };
      const blobs = countingBlobStore(deps.blobs);
      const meter = startMeter();
      try {
        const result = await meter
          .run(() =>
            withScratchDir((scratchDir) =>
              withTimeout(step.timeoutMs, `step '${step.name}' for ${order.orderId}`, (signal) =>
                step.run(order, {
                  blobs: blobs.store,
                  config: deps.config,
                  clock: deps.clock,
                  log,
                  mediaTools: deps.mediaTools,
                  scratchDir,
                  signal,
                  deliveryAttempt: delivery.deliveryAttempt,
                }),
              ),
            ),
          )
          .catch((error: unknown) => {
            throw sourceGoneIsPermanent(error, order);
          })
          // Stopped as soon as the step is done, whatever the outcome: a meter left running would share the CPU of later runs.
          .finally(() => meter.stop());
        const completed: StepCompleted = {
          ...common,
          startedAt: startedAt.toISOString(),
          finishedAt: deps.clock.now().toISOString(),
          outputs: { ...result.outputs },
          provenance: { ...(result.inputMd5 ? { inputMd5: result.inputMd5 } : {}), recipeVersion: step.recipeVersion, tools: { ...(result.tools ?? {}) } },
          usage: usageOf(meter.stop(), blobs.counts, modelTokensIn(result.outputs)),
        };
        await publishStepResult(deps, step.name, completed);
        return 'done';
      } catch (error) {
        if (!isPermanent(error)) throw error;
        logs.workFailedPermanently(log, order.orderId, error.code, error.message);
        return publishPermanentFailure(deps, step.name, common, error, usageOf(meter.stop(), blobs.counts));
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

/** Who a result is for: the order, its shard and the delivery attempt, and a reprocess's output version. */
export type ResultHead = Pick<StepFailed, 'orderId' | 'assetId' | 'step' | 'shard' | 'attempt' | 'outputVersion'>;

/** A run that failed for good reports it as its result, with what it used: the step fails, the message is acked. */
export async function publishPermanentFailure(deps: Deps, functionName: string, head: ResultHead, error: PermanentError, usage: StepUsage): Promise<'failed'> {
  const failed: StepFailed = {
    ...head,
    failedAt: deps.clock.now().toISOString(),
    error: { code: error.code, message: error.message },
    deadLettered: false,
    usage,
  };
  await publishStepResult(deps, functionName, failed);
  return 'failed';
}

/** What a run used, for its result. */
export function usageOf(cpu: CpuUsage, blobs: BlobCounts, tokens?: StepUsage['tokens']): StepUsage {
  return {
    cpuSeconds: round(cpu.cpuSeconds),
    wallSeconds: round(cpu.wallSeconds),
    bytesRead: blobs.bytesRead,
    bytesWritten: blobs.bytesWritten,
    blobReads: blobs.reads,
    blobWrites: blobs.writes,
    ...(tokens ? { tokens } : {}),
  };
}

/** Milliseconds are plenty; more digits are noise in a document. */
const round = (seconds: number): number => Math.round(seconds * 1000) / 1000;

export interface BlobCounts {
  bytesRead: number;
  bytesWritten: number;
  /** Reads and metadata lookups: GCS class B operations. */
  reads: number;
  /** Writes, uploads and listings: GCS class A operations. */
  writes: number;
}

/**
 * The blob store a run gets, counting what goes through it. A streamed read counts the bytes the step consumed
 * (a tool that stops early reads less); a download or an upload counts the object's size.
 */
export function countingBlobStore(inner: BlobStore): { store: BlobStore; counts: BlobCounts } {
  const counts: BlobCounts = { bytesRead: 0, bytesWritten: 0, reads: 0, writes: 0 };
  const store: BlobStore = {
    async stat(ref) {
      counts.reads += 1;
      return inner.stat(ref);
    },
    async read(ref) {
      counts.reads += 1;
      const data = await inner.read(ref);
      counts.bytesRead += data.length;
      return data;
    },
    async createReadStream(ref, range) {
      counts.reads += 1;
      return countingStream(await inner.createReadStream(ref, range), (bytes) => (counts.bytesRead += bytes));
    },
    async download(ref, destinationPath) {
      counts.reads += 1;
      const metadata = await inner.download(ref, destinationPath);
      counts.bytesRead += metadata.size;
      return metadata;
    },
    async write(target, data, options) {
      counts.writes += 1;
      const metadata = await inner.write(target, data, options);
      counts.bytesWritten += typeof data === 'string' ? Buffer.byteLength(data) : data.length;
      return metadata;
    },
    async upload(sourcePath, target, options) {
      counts.writes += 1;
      const metadata = await inner.upload(sourcePath, target, options);
      counts.bytesWritten += metadata.size;
      return metadata;
    },
    async list(bucket, prefix) {
      counts.writes += 1;
      return inner.list(bucket, prefix);
    },
    // Deletes are free operations in GCS.
    delete: (ref) => inner.delete(ref),
  };
  return { store, counts };
}

/** `source` through a pass-through that counts; an error or an early destroy on either side reaches the other. */
function countingStream(source: Readable, count: (bytes: number) => void): Readable {
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      count(chunk.length);
      callback(null, chunk);
    },
  });
  pipeline(source, counter).catch(() => {
    // The consumer sees the error on `counter`, which pipeline destroys with it.
  });
  return counter;
}
