/**
 * What a processing step is. A later issue adds a step by writing one of these and listing it in
 * functions/registry.ts; the coordinator plans and fans in from these fields without knowing any step by name.
 */
import type { WorkOrder } from '../../events/catalog.ts';
import type { ProbeSummary } from '../media/classify.ts';
import type { MediaTools } from '../media/tools.ts';
import type { BlobStore } from '../ports/blob-store.ts';
import type { DocData } from '../ports/document-store.ts';
import type { Clock } from '../ports/clock.ts';
import type { Config } from '../config/config.ts';
import type { Logger } from '../observability/log.ts';
import type { FunctionNeeds } from '../runtime/needs.ts';
import type { AssetSource, MediaKind } from './asset.ts';

/** What planning may look at: the probed asset, never raw events. */
export interface PlanContext {
  readonly assetId: string;
  readonly kind: MediaKind;
  readonly profile: string;
  readonly probe: ProbeSummary;
  readonly source: AssetSource;
  /**
   * Outputs of the steps that have succeeded so far, by step. Empty at planning; when a step is queued its
   * dependencies' outputs are here, so its params can carry what it needs from them (e.g. a loudness gain).
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

export interface StepRunResult {
  readonly outputs: DocData;
  /** Base64 MD5 of the input as read, recorded as provenance. */
  readonly inputMd5?: string;
  /** Tool versions that shaped the output (ffmpeg, libvips, sharp, model ids). */
  readonly tools?: Readonly<Record<string, string>>;
}

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
  /** JSON Schema of this step's work order params, from events/schemas/work/<step>.params.v1.json. */
  readonly paramsSchema: object;
  appliesTo(context: PlanContext): boolean;
  /** How many work orders the step fans out to (default 1). */
  shardCount?(context: PlanContext): number;
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
