/**
 * The event catalog: every CloudEvents type mediaflow consumes or emits, and the validator that turns a raw
 * payload into a frozen, typed value. Inner code only ever sees what came out of validate().
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type {
  AssetFailed,
  AssetReady,
  AssetUpdated,
  IngestRequested,
  ObjectFinalized,
  StepCompleted,
  StepFailed,
  WorkOrder as WorkOrderDoc,
} from './generated/types.ts';
import { eventSchemaFiles, schemasDir } from './schema-files.ts';

export type { AssetFailed, AssetReady, AssetUpdated, IngestRequested, ObjectFinalized, StepCompleted, StepFailed };

/** A work order whose params are those of one step (P); by default any step's. */
export type WorkOrder<P extends object = object> = Omit<WorkOrderDoc, 'params'> & { readonly params: P };

export const EventType = {
  ingestRequested: 'com.mediaflow.ingest.requested.v1',
  objectFinalized: 'com.mediaflow.object.finalized.v1',
  stepCompleted: 'com.mediaflow.step.completed.v1',
  stepFailed: 'com.mediaflow.step.failed.v1',
  assetReady: 'com.mediaflow.asset.ready.v1',
  assetFailed: 'com.mediaflow.asset.failed.v1',
  assetUpdated: 'com.mediaflow.asset.updated.v1',
} as const;

/** Payload type per CloudEvents type. Work orders are per step, so they are matched by pattern. */
export interface EventPayloads {
  'com.mediaflow.ingest.requested.v1': IngestRequested;
  'com.mediaflow.object.finalized.v1': ObjectFinalized;
  'com.mediaflow.step.completed.v1': StepCompleted;
  'com.mediaflow.step.failed.v1': StepFailed;
  'com.mediaflow.asset.ready.v1': AssetReady;
  'com.mediaflow.asset.failed.v1': AssetFailed;
  'com.mediaflow.asset.updated.v1': AssetUpdated;
}

const workOrderTypePattern = /^com\.mediaflow\.work\.([a-z][a-z0-9-]{0,39})\.requested\.v1$/;
const workOrderBaseType = 'com.mediaflow.work.requested.v1';

export function workOrderType(step: string): string {
  return `com.mediaflow.work.${step}.requested.v1`;
}

export function stepOfWorkOrderType(type: string): string | undefined {
  return workOrderTypePattern.exec(type)?.[1];
}

/** A CloudEvent after validation: the envelope plus its frozen data. */
export interface CloudEvent<T> {
  readonly specversion: '1.0';
  readonly id: string;
  readonly source: string;
  readonly type: string;
  readonly subject?: string;
  readonly time?: string;
  readonly data: T;
}

export interface ValidationIssue {
  readonly path: string;
  readonly message: string;
}

export type ValidationResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly issues: readonly ValidationIssue[] };

function readSchema(file: string): Record<string, unknown> {
  return JSON.parse(readFileSync(path.join(schemasDir, file), 'utf8')) as Record<string, unknown>;
}

/** ajv-formats ships CommonJS: its module object is the plugin, and its `default` (typed as such) is the plugin too. */
const addFormats = addFormatsModule.default;

export class EventValidator {
  readonly #ajv: Ajv2020;
  readonly #validators = new Map<string, ValidateFunction>();

  /**
   * stepParams: the params schema of every step whose work orders this process may see. Everything is compiled
   * here, at cold start, so a broken schema fails the deploy rather than a message.
   */
  constructor(stepParams: ReadonlyMap<string, object>) {
    this.#ajv = new Ajv2020({ allErrors: true, strict: true });
    addFormats(this.#ajv);
    this.#ajv.addSchema(readSchema('common.v1.json'));
    for (const file of eventSchemaFiles()) {
      const schema = readSchema(file);
      this.#ajv.addSchema(schema);
      const type = file.replace(/\.json$/, '');
      if (type !== workOrderBaseType) this.#validators.set(type, this.#ajv.getSchema(String(schema.$id))!);
    }
    for (const [step, params] of stepParams) {
      const type = workOrderType(step);
      this.#validators.set(
        type,
        this.#ajv.compile({
          $id: `https://schemas.mediaflow.dev/events/${type}.json`,
          type: 'object',
          allOf: [{ $ref: `${workOrderBaseType}.json` }],
          properties: { step: { const: step }, params },
        }),
      );
    }
  }

  /** Every type this validator knows, for the catalog tests. */
  knownTypes(): string[] {
    return [...this.#validators.keys()].sort();
  }

  validate<K extends keyof EventPayloads>(type: K, data: unknown): ValidationResult<EventPayloads[K]>;
  validate(type: string, data: unknown): ValidationResult<unknown>;
  validate(type: string, data: unknown): ValidationResult<unknown> {
    const validator = this.#validators.get(type);
    if (!validator) return { ok: false, issues: [{ path: '', message: `unknown event type '${type}'` }] };
    if (!validator(data)) return { ok: false, issues: toIssues(validator.errors ?? []) };
    return { ok: true, value: deepFreeze(structuredClone(data)) };
  }
}

/** Paths name the offending field itself, so `/source/uri` rather than `/source` for a missing uri. */
function toIssues(errors: readonly ErrorObject[]): ValidationIssue[] {
  return errors.map((error) => {
    const params = error.params as { missingProperty?: string; additionalProperty?: string };
    const field = error.keyword === 'required' ? params.missingProperty : error.keyword === 'additionalProperties' ? params.additionalProperty : undefined;
    return {
      path: field === undefined ? error.instancePath || '/' : `${error.instancePath}/${field}`,
      message: error.keyword === 'additionalProperties' ? `unexpected property '${String(field)}'` : (error.message ?? error.keyword),
    };
  });
}

export function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

export function formatIssues(issues: readonly ValidationIssue[]): string {
  return issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ');
}
