/**
 * A step's contract files, kept in its own folder (functions/<step>/): the params of its work orders, the outputs
 * one work order reports, for a fan-in step what its shards' outputs are folded into, and the prose and examples
 * of its AsyncAPI blocks. The event catalog, the
 * generated types and the AsyncAPI document all read them through the step's definition.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

export const PARAMS_SCHEMA_FILE = 'params.v1.schema.json';
export const OUTPUTS_SCHEMA_FILE = 'outputs.v1.schema.json';
export const COMBINED_SCHEMA_FILE = 'combined.v1.schema.json';
/** The prose of the step's AsyncAPI blocks: a one-line summary and example work orders (read by scripts/gen-asyncapi.ts). */
export const STEP_DOCS_FILE = 'asyncapi.yaml';

export interface StepSchemas {
  readonly paramsSchema: object;
  readonly outputsSchema: object;
  readonly combinedOutputsSchema?: object;
  /** Absolute path of the step's AsyncAPI prose, when its folder has one. */
  readonly docsFile?: string;
}

/** One schema file of a step's folder. */
export function readStepSchema(folder: string, file: string): object {
  const schema: unknown = JSON.parse(readFileSync(path.join(folder, file), 'utf8'));
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) throw new Error(`${path.join(folder, file)} is not a JSON Schema object`);
  return schema;
}

/** The schemas in a step's folder; pass `import.meta.dirname` from the step's own module. */
export function stepSchemas(folder: string): StepSchemas {
  const read = (file: string): object => readStepSchema(folder, file);
  const combined = path.join(folder, COMBINED_SCHEMA_FILE);
  const docs = path.join(folder, STEP_DOCS_FILE);
  return {
    paramsSchema: read(PARAMS_SCHEMA_FILE),
    outputsSchema: read(OUTPUTS_SCHEMA_FILE),
    ...(existsSync(combined) ? { combinedOutputsSchema: read(COMBINED_SCHEMA_FILE) } : {}),
    ...(existsSync(docs) ? { docsFile: docs } : {}),
  };
}
