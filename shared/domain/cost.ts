/**
 * What an asset cost: the usage each step run reported (shared/runtime/worker.ts measures it), priced with the
 * constants of prices.ts, summed per step and in total on the asset document (`asset.cost`). Pure: the coordinator
 * adds a step's figures once, when it records the step's result (a duplicate result is ignored before this runs,
 * and fan-in sums a sharded step's shards once, from their recorded results).
 *
 * The dollar figure is an estimate of processing: Cloud Run (allocated vCPU and memory for the wall time, and the
 * requests), Cloud Storage operations, Pub/Sub throughput for the work order and the result, and model tokens. It
 * leaves out Firestore operations, storage at rest (shown apart, per month), retried deliveries that failed (they
 * report nothing) and the free tiers.
 */
import type { StepCompleted } from '../../events/catalog.ts';
import {
  CLOUD_RUN_REQUESTS_PER_RUN,
  CLOUD_RUN_USD_PER_GIB_SECOND,
  CLOUD_RUN_USD_PER_MILLION_REQUESTS,
  CLOUD_RUN_USD_PER_VCPU_SECOND,
  functionSizing,
  GCS_CLASS_A_USD_PER_THOUSAND_OPS,
  GCS_CLASS_B_USD_PER_THOUSAND_OPS,
  GCS_STANDARD_USD_PER_GIB_MONTH,
  modelPrices,
  PRICES_AS_OF,
  PUBSUB_MESSAGES_PER_RUN,
  PUBSUB_MIN_BILLED_BYTES,
  PUBSUB_USD_PER_TIB,
} from './prices.ts';
import { PROBE_STEP } from './step.ts';

/** What one step run reports in its result (step.completed / step.failed `usage`). */
export type StepUsage = NonNullable<StepCompleted['usage']>;
export type TokenUsage = NonNullable<StepUsage['tokens']>;

/** Figures of one run, one step (its runs and shards summed) or a whole asset. Every field is always present. */
export type CostFigures = {
  /** Step runs counted (a sharded step counts each shard). */
  runs: number;
  /** CPU actually used, process and tools. */
  cpuSeconds: number;
  wallSeconds: number;
  /** vCPU allocated × wall time: what Cloud Run bills, whatever the CPU did. */
  vcpuSeconds: number;
  /** Memory allocated × wall time, in GiB-seconds (Cloud Run's unit). */
  gbSeconds: number;
  bytesRead: number;
  bytesWritten: number;
  blobReads: number;
  blobWrites: number;
  inputTokens: number;
  outputTokens: number;
  /** The processing estimate: Cloud Run, Cloud Storage operations, Pub/Sub and the model. */
  usd: number;
  /** Keeping what was written, per month (not in `usd`). */
  storageUsdPerMonth: number;
};

export type AssetCost = {
  total: CostFigures;
  /** Keyed by step name (`probe` included). */
  steps: Record<string, CostFigures>;
  /** The date of the prices used (prices.ts PRICES_AS_OF). */
  pricesAsOf: string;
};

const GIB = 1024 ** 3;
const TIB = 1024 ** 4;

export const ZERO_FIGURES: Readonly<CostFigures> = Object.freeze({
  runs: 0,
  cpuSeconds: 0,
  wallSeconds: 0,
  vcpuSeconds: 0,
  gbSeconds: 0,
  bytesRead: 0,
  bytesWritten: 0,
  blobReads: 0,
  blobWrites: 0,
  inputTokens: 0,
  outputTokens: 0,
  usd: 0,
  storageUsdPerMonth: 0,
});

/** The function a step runs in: the probe in ingest, every other step in its own function named after it. */
export function functionOf(step: string): string {
  return step === PROBE_STEP ? 'ingest' : step;
}

/** One run's figures, priced. */
export function costOf(step: string, usage: StepUsage): CostFigures {
  const sizing = functionSizing(functionOf(step));
  const wallSeconds = usage.wallSeconds;
  const vcpuSeconds = sizing.vcpu * wallSeconds;
  const gbSeconds = sizing.memoryGiB * wallSeconds;
  const blobReads = usage.blobReads ?? 0;
  const blobWrites = usage.blobWrites ?? 0;
  const tokens = usage.tokens;
  const cloudRun =
    vcpuSeconds * CLOUD_RUN_USD_PER_VCPU_SECOND +
    gbSeconds * CLOUD_RUN_USD_PER_GIB_SECOND +
    (CLOUD_RUN_REQUESTS_PER_RUN * CLOUD_RUN_USD_PER_MILLION_REQUESTS) / 1e6;
  const storageOps = (blobWrites * GCS_CLASS_A_USD_PER_THOUSAND_OPS + blobReads * GCS_CLASS_B_USD_PER_THOUSAND_OPS) / 1000;
  const pubsub = (PUBSUB_MESSAGES_PER_RUN * PUBSUB_MIN_BILLED_BYTES * PUBSUB_USD_PER_TIB) / TIB;
  return {
    runs: 1,
    cpuSeconds: usage.cpuSeconds,
    wallSeconds,
    vcpuSeconds,
    gbSeconds,
    bytesRead: usage.bytesRead,
    bytesWritten: usage.bytesWritten,
    blobReads,
    blobWrites,
    inputTokens: tokens?.input ?? 0,
    outputTokens: tokens?.output ?? 0,
    usd: cloudRun + storageOps + pubsub + (tokens ? tokenUsd(tokens) : 0),
    storageUsdPerMonth: (usage.bytesWritten / GIB) * GCS_STANDARD_USD_PER_GIB_MONTH,
  };
}

export function tokenUsd(tokens: TokenUsage): number {
  const prices = modelPrices(tokens.model);
  const audio = Math.min(tokens.audioInput ?? 0, tokens.input);
  return ((tokens.input - audio) * prices.inputUsdPerMillion + audio * prices.audioInputUsdPerMillion + tokens.output * prices.outputUsdPerMillion) / 1e6;
}

export function addFigures(a: CostFigures, b: CostFigures): CostFigures {
  const sum = { ...ZERO_FIGURES };
  for (const key of Object.keys(ZERO_FIGURES) as (keyof CostFigures)[]) sum[key] = (a[key] ?? 0) + (b[key] ?? 0);
  return sum;
}

/** The figures of several runs (a sharded step's shards), summed; undefined when none reported usage. */
export function sumFigures(figures: readonly (CostFigures | undefined)[]): CostFigures | undefined {
  const reported = figures.filter((figure): figure is CostFigures => figure !== undefined);
  return reported.length === 0 ? undefined : reported.reduce(addFigures, { ...ZERO_FIGURES });
}

/** The asset's cost with `figures` of `step` added. The caller adds each result once (see the module comment). */
export function addStepCost(cost: AssetCost | undefined, step: string, figures: CostFigures): AssetCost {
  const steps = { ...(cost?.steps ?? {}) };
  steps[step] = addFigures(steps[step] ?? ZERO_FIGURES, figures);
  return { total: addFigures(cost?.total ?? ZERO_FIGURES, figures), steps, pricesAsOf: PRICES_AS_OF };
}

/**
 * Model tokens from a step's outputs, by the tag step's convention: `usage: { inputTokens, outputTokens,
 * thoughtTokens?, audioInputTokens? }` and `model`, as Vertex AI reported them. Undefined for any other outputs.
 */
export function modelTokensIn(outputs: Readonly<Record<string, unknown>>): TokenUsage | undefined {
  const usage = outputs.usage;
  if (typeof usage !== 'object' || usage === null) return undefined;
  const { inputTokens, outputTokens, thoughtTokens, audioInputTokens } = usage as Record<string, unknown>;
  if (!isCount(inputTokens) || !isCount(outputTokens)) return undefined;
  return {
    input: inputTokens,
    output: outputTokens + (isCount(thoughtTokens) ? thoughtTokens : 0),
    ...(isCount(audioInputTokens) ? { audioInput: audioInputTokens } : {}),
    ...(typeof outputs.model === 'string' ? { model: outputs.model } : {}),
  };
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0;
}
