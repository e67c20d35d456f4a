/**
 * What a processing step is. A step is one folder, functions/<step>/: its params and outputs JSON Schemas, the
 * TypeScript types generated from them (events/generated/steps/), and a step.ts that calls defineStep; listing it in
 * functions/registry.ts is all that wires it in. The coordinator plans and fans in from the definition without
 * knowing any step by name, and the catalog, the AsyncAPI document and Terraform read their facts from it.
 */
import type { WorkOrder } from '../../events/catalog.ts';
import { errorMessage, PermanentError, PermanentErrorCode } from '../errors.ts';
import type { ProbeSummary } from '../media/classify.ts';
import type { MediaTools } from '../media/tools.ts';
import type { BlobStore } from '../ports/blob-store.ts';
import type { DocData } from '../ports/document-store.ts';
import type { Clock } from '../ports/clock.ts';
import type { Config } from '../config/config.ts';
import type { Logger } from '../observability/log.ts';
import type { FunctionNeeds } from '../runtime/needs.ts';
import type { AssetSource, MediaKind } from './asset.ts';
import { schemaGuard } from './schema-guard.ts';

/** A generated params or outputs type as step code handles it: nothing in it is changed in place. */
export type DeepReadonly<T> = T extends readonly (infer E)[]
  ? readonly DeepReadonly<E>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

/** What planning may look at: the probed asset, never raw events. */
export interface PlanContext {
  readonly assetId: string;
  readonly kind: MediaKind;
  readonly profile: string;
  readonly probe: ProbeSummary;
  readonly source: AssetSource;
  /**
   * Outputs of the steps that have succeeded so far, by step. Empty at planning; when a step is queued its
   * dependencies' outputs are here, so its params can carry what it needs from them (e.g. a loudness gain). They
   * are plain documents as stored: read them typed with outputsOf(context, step), which checks them against the
   * step's outputs schema.
   */
  readonly outputs: Readonly<Record<string, DocData>>;
}

export interface StepRunContext {
  readonly blobs: BlobStore;
  readonly config: Config;
  readonly clock: Clock;
  readonly log: Logger;
  /** Resolved at cold start; throws a ConfigError when a step needs ffmpeg and none is installed. */
  readonly mediaTools: () => Promise<MediaTools>;
  /** A private scratch folder under os.tmpdir(), removed after the run whatever happens. */
  readonly scratchDir: string;
  /** Aborted when the step's timeout passes, so long ffmpeg runs can be killed. */
  readonly signal: AbortSignal;
  readonly deliveryAttempt: number;
}

export interface StepRunResult<O = DocData> {
  readonly outputs: O;
  /** Base64 MD5 of the input as read, recorded as provenance. */
  readonly inputMd5?: string;
  /** Tool versions that shaped the output (ffmpeg, libvips, sharp, model ids). */
  readonly tools?: Readonly<Record<string, string>>;
}

/**
 * What planning decided for one step and one asset: it does not apply, it cannot be done (a permanent failure with
 * a code and a message, decided before any work order exists), or these work orders, one per shard. The params
 * are made on demand, so a thousand-shard step is counted (and checked against the limits) before any is built.
 */
export type StepPlan<P> =
  | { readonly kind: 'skip' }
  | { readonly kind: 'reject'; readonly code: string; readonly message: string }
  | { readonly kind: 'orders'; readonly count: number; readonly params: (shard: number) => P };

const SKIP: StepPlan<never> = { kind: 'skip' };

/** The step does not apply to this asset. */
export function skip(): StepPlan<never> {
  return SKIP;
}

/** The step applies but cannot be done for this asset: the asset fails with this code and message at planning. */
export function reject(code: string, message: string): StepPlan<never> {
  return { kind: 'reject', code, message };
}

/** One work order per params given (at least one). */
export function orders<P>(first: P, ...rest: readonly P[]): StepPlan<P> {
  const all = [first, ...rest];
  return { kind: 'orders', count: all.length, params: (shard) => all[shard] ?? outOfRange(shard, all.length) };
}

/** `count` work orders whose params are made by `paramsOf(shard)` when each order is built. */
export function shardedOrders<P>(count: number, paramsOf: (shard: number) => P): StepPlan<P> {
  if (!Number.isFinite(count)) throw new Error(`the plan counted ${String(count)} work orders, not a number`);
  const whole = Math.max(1, Math.floor(count));
  return { kind: 'orders', count: whole, params: (shard) => (shard >= 0 && shard < whole ? paramsOf(shard) : outOfRange(shard, whole)) };
}

function outOfRange(shard: number, count: number): never {
  throw new RangeError(`shard ${shard} is outside the plan's ${count} work orders`);
}

/** A step as the runtime sees it: the typed parts of defineStep, with params and outputs as plain documents. */
export interface StepDefinition {
  readonly name: string;
  /** Steps that must succeed first. */
  readonly dependsOn: readonly string[];
  /** Hard limit for one work order; also sets the subscription's ack deadline. */
  readonly timeoutMs: number;
  /** Bumped whenever the step's output for the same input changes. */
  readonly recipeVersion: string;
  /** What the step's worker needs from the platform; Terraform's grants and environment are generated from it. */
  readonly needs: FunctionNeeds;
  /** JSON Schema of this step's work order params (functions/<step>/params.v1.schema.json). */
  readonly paramsSchema: object;
  /** JSON Schema of what one work order's run() reports as outputs (functions/<step>/outputs.v1.schema.json). */
  readonly outputsSchema: object;
  /**
   * Fan-in steps: JSON Schema of what combine() folds the shards' outputs into, which is what the asset records
   * (functions/<step>/combined.v1.schema.json). Absent for steps without combine: the asset records run()'s outputs.
   */
  readonly combinedOutputsSchema?: object;
  /** The step's AsyncAPI prose (functions/<step>/asyncapi.yaml: summary and example work orders), when it has one. */
  readonly docsFile?: string;
  /** Skip, reject, or the work orders' params, as plain documents. */
  plan(context: PlanContext): StepPlan<DocData>;
  /**
   * The params of one work order of plan(context), for the outbox that builds the orders of a queued step: throws
   * when the plan has no such order (a PermanentError with the plan's code when it rejects the asset).
   */
  params(context: PlanContext, shardIndex: number): DocData;
  run(order: WorkOrder, context: StepRunContext): Promise<StepRunResult>;
  /** Fan-in: folds the outputs of all shards, in shard order, into the step's outputs. */
  combine?(shardOutputs: readonly DocData[]): DocData;
}

export type StepRegistry = ReadonlyMap<string, StepDefinition>;

export function createStepRegistry(steps: readonly StepDefinition[]): StepRegistry {
  const registry = new Map<string, StepDefinition>();
  for (const step of steps) {
    if (registry.has(step.name)) throw new Error(`step '${step.name}' is registered twice`);
    if (step.name === PROBE_STEP) throw new Error(`'${PROBE_STEP}' is reserved for ingest`);
    registry.set(step.name, step);
  }
  for (const step of steps) {
    for (const dependency of step.dependsOn) {
      if (!registry.has(dependency)) throw new Error(`step '${step.name}' depends on unknown step '${dependency}'`);
    }
  }
  assertAcyclic(registry);
  return registry;
}

/** The probe is done by ingest; it shows up in the steps map like any other step. */
export const PROBE_STEP = 'probe';

function assertAcyclic(registry: StepRegistry): void {
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, trail: string[]): void => {
    if (state.get(name) === 'done') return;
    if (state.get(name) === 'visiting') throw new Error(`step dependencies form a cycle: ${[...trail, name].join(' → ')}`);
    state.set(name, 'visiting');
    for (const dependency of registry.get(name)?.dependsOn ?? []) visit(dependency, [...trail, name]);
    state.set(name, 'done');
  };
  for (const name of registry.keys()) visit(name, []);
}

/** The facts a step states about itself, as the runtime sees them; the schemas are those P, O and C are generated from. */
type StepFacts = Pick<
  StepDefinition,
  'name' | 'dependsOn' | 'timeoutMs' | 'recipeVersion' | 'needs' | 'paramsSchema' | 'outputsSchema' | 'combinedOutputsSchema' | 'docsFile'
>;

/** What a step is written as: its params (P), the outputs one work order reports (O) and, for a fan-in step, their fold (C). */
export interface StepSpec<P extends object, O extends object, C extends object = O> extends StepFacts {
  /** Skip, reject, or the params of each work order: the one place the step decides what to do for an asset. */
  plan(context: PlanContext): StepPlan<P>;
  run(order: WorkOrder<P>, context: StepRunContext): Promise<StepRunResult<O>>;
  /** Fan-in: folds the outputs of all shards, in shard order, into what the asset records for the step. */
  readonly combine?: (shardOutputs: readonly O[]) => C;
}

/** A step made by defineStep: the runtime's view, plus the typed reading of what it recorded on an asset. */
export interface TypedStep<P extends object, O extends object, C extends object = O> extends StepDefinition {
  /** The typed plan (the runtime's plan() gives the same orders as plain documents). */
  planTyped(context: PlanContext): StepPlan<P>;
  /** The step's recorded outputs as C (O without combine), checked against their schema; undefined when absent. */
  outputsIn(context: Pick<PlanContext, 'outputs'>): C | undefined;
}

/**
 * Defines a step. The runtime sees params and outputs as plain documents; the step's own code sees P, O and C,
 * and every crossing between the two is checked against the schema the type was generated from.
 */
export function defineStep<P extends object, O extends object>(spec: StepSpec<P, O> & { readonly combine?: undefined }): TypedStep<P, O, O>;
export function defineStep<P extends object, O extends object, C extends object>(
  spec: StepSpec<P, O, C> & { readonly combine: (shardOutputs: readonly O[]) => C },
): TypedStep<P, O, C>;
export function defineStep<P extends object, O extends object, C extends object>(spec: StepSpec<P, O, C>): TypedStep<P, O, C> {
  const params = schemaGuard<P>(spec.paramsSchema, `the ${spec.name} params`);
  const outputs = schemaGuard<O>(spec.outputsSchema, `the ${spec.name} outputs`);
  const combined = spec.combine ? schemaGuard<C>(spec.combinedOutputsSchema ?? missingSchema(spec.name), `the combined ${spec.name} outputs`) : undefined;
  // The outbox builds every order of a step from one context: planned once for all of them, not once per shard.
  const plans = new WeakMap<PlanContext, StepPlan<P>>();
  const planOf = (context: PlanContext): StepPlan<P> => {
    const known = plans.get(context);
    if (known) return known;
    const plan = spec.plan(context);
    plans.set(context, plan);
    return plan;
  };
  const combine = spec.combine;
  return {
    name: spec.name,
    dependsOn: spec.dependsOn,
    timeoutMs: spec.timeoutMs,
    recipeVersion: spec.recipeVersion,
    needs: spec.needs,
    paramsSchema: spec.paramsSchema,
    outputsSchema: spec.outputsSchema,
    ...(spec.combinedOutputsSchema ? { combinedOutputsSchema: spec.combinedOutputsSchema } : {}),
    ...(spec.docsFile ? { docsFile: spec.docsFile } : {}),
    planTyped: planOf,
    plan(context) {
      const plan = planOf(context);
      return plan.kind === 'orders' ? { kind: 'orders', count: plan.count, params: (shard) => toDoc(plan.params(shard)) } : plan;
    },
    params(context, shardIndex) {
      const plan = planOf(context);
      if (plan.kind === 'skip') throw new Error(`${spec.name} does not apply to asset ${context.assetId}`);
      if (plan.kind === 'reject') throw new PermanentError(plan.code, plan.message);
      return toDoc(plan.params(shardIndex));
    },
    async run(order, context) {
      const result = await spec.run({ ...order, params: checkedParams(order.params) }, context);
      return { ...result, outputs: toDoc(result.outputs) };
    },
    ...(combine ? { combine: (shardOutputs: readonly DocData[]) => toDoc(combine(shardOutputs.map((shard) => outputs.check(shard)))) } : {}),
    outputsIn(context) {
      const doc = context.outputs[spec.name];
      return doc === undefined ? undefined : recordedAs(doc);
    },
  };
  function recordedAs(doc: DocData): C {
    return combined ? combined.check(doc) : outputsAsRecorded(outputs.check(doc));
  }
  function outputsAsRecorded(value: O): C {
    // Without combine C is O (the overloads above say so); the implementation signature cannot see that.
    return value as O & C;
  }
  /** The edge validated the order already; a mismatch here is an order built by hand, which no retry mends. */
  function checkedParams(value: unknown): P {
    try {
      return params.check(value);
    } catch (error) {
      throw new PermanentError(PermanentErrorCode.INVALID_ARGUMENT, errorMessage(error));
    }
  }
}

/** A step's recorded outputs, typed: `outputsOf(context, thumbnailStep)`. */
export function outputsOf<C extends object>(context: Pick<PlanContext, 'outputs'>, step: Pick<TypedStep<object, object, C>, 'outputsIn'>): C | undefined {
  return step.outputsIn(context);
}

function missingSchema(step: string): never {
  throw new Error(`step '${step}' has combine but no combinedOutputsSchema`);
}

/** Params and outputs travel as plain JSON documents; this drops undefined fields and readonly-ness alike. */
export function toDoc(value: object): DocData {
  const doc: unknown = JSON.parse(JSON.stringify(value));
  if (!isDocData(doc)) throw new Error('a step document must be a JSON object');
  return doc;
}

function isDocData(value: unknown): value is DocData {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
