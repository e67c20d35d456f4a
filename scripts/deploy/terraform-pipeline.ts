/**
 * What Terraform must agree with, computed from the code: the pipeline's topics, subscriptions and ack deadlines
 * (functions/pipeline.ts), the access each function's code actually uses (for least-privilege IAM), and the
 * partner ingest payload as a Pub/Sub Protocol Buffer schema (from its JSON Schema). terraform-gen.ts writes
 * these into terraform/modules/mediaflow/generated/, and the consistency tests compare both ways.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';
import { schemasDir } from '../../events/schema-files.ts';
import { ackDeadlineSeconds, buildPipeline, type Pipeline } from '../../functions/pipeline.ts';
import { productionSteps } from '../../functions/registry.ts';
import { loadConfig, type Config } from '../../shared/config/config.ts';
import type { StepDefinition, StepRegistry } from '../../shared/domain/step.ts';
import { findCalls, importsOf, reachable, readSource, repoRoot, resolveConst, resolveFunctionResult, unwrap, where } from './terraform-source.ts';

export const stackModuleDir = path.join(repoRoot, 'terraform', 'modules', 'mediaflow');
export const generatedDir = path.join(stackModuleDir, 'generated');
export const pipelineJsonFile = path.join(generatedDir, 'pipeline.json');
export const ingestProtoFile = path.join(generatedDir, 'ingest-requested.v1.proto');
export const ingestSchemaFile = path.join(schemasDir, 'com.mediaflow.ingest.requested.v1.json');

/** The deployment is generated for the default topic prefix; Terraform swaps in its own `prefix`. */
export const REFERENCE_PREFIX = 'mediaflow';

/** The GCP configuration the deployment describes. Bucket and project names are placeholders Terraform replaces. */
export function referenceConfig(): Config {
  return loadConfig({
    MEDIAFLOW_RUNTIME: 'gcp',
    GOOGLE_CLOUD_PROJECT: 'mediaflow-reference',
    MEDIAFLOW_INGEST_BUCKET: 'reference-ingest',
    MEDIAFLOW_DERIVATIVES_BUCKET: 'reference-derivatives',
    MEDIAFLOW_TOPIC_PREFIX: REFERENCE_PREFIX,
  });
}

export function referencePipeline(steps: StepRegistry = productionSteps): Pipeline {
  return buildPipeline(referenceConfig(), steps);
}

/** What a function's code does that costs an IAM grant. Terraform maps each capability to one role. */
export interface Access {
  /** Reads or writes Firestore documents (every function's edge records failures and rejections). */
  readonly firestore: boolean;
  /** Topic suffixes (the name without `<prefix>-`) it publishes to. */
  readonly publishes: readonly string[];
  /** Reads objects from the source buckets (ingest and partner buckets). */
  readonly reads_sources: boolean;
  /** Reads objects from the derivatives bucket. */
  readonly reads_derivatives: boolean;
  /** Creates (and, re-running, overwrites) objects in the derivatives bucket. */
  readonly writes_derivatives: boolean;
  /** Calls Gemini on Vertex AI. */
  readonly vertex_ai: boolean;
}

export interface TerraformFunction {
  /** The function's own timeout, rounded up to seconds. */
  readonly timeout_seconds: number;
  /** Cloud Run's request timeout: the ack deadline, so Cloud Run never cuts a request Pub/Sub still waits for. */
  readonly request_timeout_seconds: number;
  readonly topics: readonly string[];
  readonly access: Access;
}

export interface TerraformSubscription {
  readonly function: string;
  readonly topic: string;
  readonly ack_deadline_seconds: number;
  /** Whether it dead-letters to the dead-letter topic (every subscription except the dead-letter topic's own). */
  readonly dead_letter: boolean;
}

export interface TerraformPipeline {
  readonly _generated: string;
  /** Every topic suffix. */
  readonly topics: readonly string[];
  /** The topics Terraform wires specially, by role. */
  readonly topic_roles: {
    readonly uploads: string;
    readonly ingest_requests: string;
    readonly step_results: string;
    readonly asset_events: string;
    readonly dead_letters: string;
  };
  /** The code's retry defaults (loadConfig), used for every subscription unless the deployment overrides them. */
  readonly retry: { readonly max_delivery_attempts: number; readonly minimum_backoff_seconds: number; readonly maximum_backoff_seconds: number };
  readonly functions: Readonly<Record<string, TerraformFunction>>;
  /** Keyed `<function>--<topic suffix>`; the deployed name is `<function>--<prefix>-<topic suffix>`. */
  readonly subscriptions: Readonly<Record<string, TerraformSubscription>>;
}

export function topicSuffix(topic: string, prefix = REFERENCE_PREFIX): string {
  if (!topic.startsWith(`${prefix}-`)) throw new Error(`topic '${topic}' does not start with '${prefix}-'`);
  return topic.slice(prefix.length + 1);
}

function sortedRecord<T>(entries: [string, T][]): Record<string, T> {
  return Object.fromEntries(entries.sort(([a], [b]) => a.localeCompare(b)));
}

export async function terraformPipeline(steps: StepRegistry = productionSteps): Promise<TerraformPipeline> {
  const config = referenceConfig();
  const pipeline = buildPipeline(config, steps);
  const access = await functionAccess(config, pipeline, steps);
  const functions = pipeline.functions.map((fn): [string, TerraformFunction] => [
    fn.definition.name,
    {
      timeout_seconds: Math.ceil(fn.timeoutMs / 1000),
      request_timeout_seconds: ackDeadlineSeconds(fn.timeoutMs),
      topics: fn.topics.map((topic) => topicSuffix(topic)),
      access: access.get(fn.definition.name)!.access,
    },
  ]);
  const subscriptions = pipeline.subscriptions.map((sub): [string, TerraformSubscription] => [
    `${sub.function}--${topicSuffix(sub.topic)}`,
    { function: sub.function, topic: topicSuffix(sub.topic), ack_deadline_seconds: sub.ackDeadlineSeconds, dead_letter: sub.deadLetterTopic !== undefined },
  ]);
  return {
    _generated:
      'By scripts/deploy/terraform-gen.ts from functions/pipeline.ts and functions/registry.ts. Do not edit: run `node scripts/deploy/terraform-gen.ts`.',
    topics: pipeline.topics.map((topic) => topicSuffix(topic)).sort(),
    topic_roles: {
      uploads: topicSuffix(config.topics.uploads),
      ingest_requests: topicSuffix(config.topics.ingestRequests),
      step_results: topicSuffix(config.topics.stepResults),
      asset_events: topicSuffix(config.topics.assetEvents),
      dead_letters: topicSuffix(config.topics.deadLetters),
    },
    retry: {
      max_delivery_attempts: config.retry.maxDeliveryAttempts,
      minimum_backoff_seconds: config.retry.minimumBackoffSeconds,
      maximum_backoff_seconds: config.retry.maximumBackoffSeconds,
    },
    functions: sortedRecord(functions),
    subscriptions: sortedRecord(subscriptions),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Access: what each function's code can do, read from the modules it reaches.

/** Where each function's code starts. Steps run through the shared worker runner plus their own module. */
export async function functionEntries(pipeline: Pipeline, steps: StepRegistry = productionSteps): Promise<Map<string, string[]>> {
  const stepModules = await stepModuleFiles(steps);
  const entries = new Map<string, string[]>();
  for (const fn of pipeline.functions) {
    const name = fn.definition.name;
    const step = stepModules.get(name);
    if (step) {
      entries.set(name, ['shared/runtime/worker.ts', step]);
    } else if (existsSync(path.join(repoRoot, 'functions', name, 'run.ts'))) {
      entries.set(name, [`functions/${name}/run.ts`]);
    } else {
      throw new Error(
        `function '${name}' is neither a registered step nor functions/${name}/run.ts: tell scripts/deploy/terraform-pipeline.ts where its code starts`,
      );
    }
  }
  return entries;
}

function isStep(value: unknown): value is StepDefinition {
  return (
    typeof value === 'object' && value !== null && typeof (value as StepDefinition).name === 'string' && typeof (value as StepDefinition).run === 'function'
  );
}

/** The module each registered step is defined in, found by importing functions/registry.ts's own imports. */
async function stepModuleFiles(steps: StepRegistry): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  for (const file of importsOf('functions/registry.ts').local) {
    const exports = (await import(pathToFileURL(path.join(repoRoot, file)).href)) as Record<string, unknown>;
    for (const exported of Object.values(exports)) {
      // A step module exports its definition, or a factory with defaults (`createSegmentStep()`): call that to see the name.
      const value = typeof exported === 'function' && exported.length === 0 && /^create\w*Step$/.test(exported.name) ? (exported as () => unknown)() : exported;
      // By identity, or by name for a registry made of modified copies (as the tests make).
      for (const [name, step] of steps) if (value === step || (isStep(value) && value.name === name)) found.set(name, file);
    }
  }
  for (const name of steps.keys()) {
    if (!found.has(name)) throw new Error(`step '${name}' is not exported by any module functions/registry.ts imports`);
  }
  return found;
}

export interface AccessEvidence {
  readonly access: Access;
  /** `file:line` of each use, by capability: what a reviewer reads to check a grant. */
  readonly evidence: Readonly<Record<string, readonly string[]>>;
  readonly files: readonly string[];
}

const STORE_METHODS = new Set(['get', 'create', 'set', 'delete', 'list', 'count', 'runTransaction']);
const BLOB_READS = new Set(['stat', 'read', 'createReadStream', 'download', 'list']);
const BLOB_WRITES = new Set(['write', 'upload', 'delete']);
/** The only module that picks the bucket for writes: the derivatives bucket, with the loop-guard marker. */
const DERIVATIVE_WRITER = 'shared/runtime/derivatives.ts';
/** The Pub/Sub transport: `bus.publish(topic, …)` inside it is publishEvent itself, whose callers name the topic. */
const PUBLISH_TRANSPORT = 'shared/runtime/publish.ts';

/**
 * The text a blob reference comes from, one step deep: a same-file helper's returned expression or a const's
 * initializer. A reference that names the derivatives bucket reads derivatives; any other reads a source.
 */
function refText(source: ReturnType<typeof readSource>, node: ts.Expression | undefined): string {
  if (!node) return '';
  const expression = unwrap(node);
  if (ts.isCallExpression(expression) && ts.isIdentifier(expression.expression)) {
    const result = resolveFunctionResult(source, expression.expression.text);
    if (result) return result.getText(source.ast);
  }
  if (ts.isIdentifier(expression)) {
    const init = resolveConst(source, expression.text, expression);
    if (init) return init.getText(source.ast);
  }
  return expression.getText(source.ast);
}

export async function functionAccess(config: Config, pipeline: Pipeline, steps: StepRegistry = productionSteps): Promise<Map<string, AccessEvidence>> {
  const entries = await functionEntries(pipeline, steps);
  const workTopics = pipeline.functions.flatMap((fn) => fn.topics).filter((topic) => topic.startsWith(config.topics.workPrefix));
  return new Map([...entries].map(([name, entryFiles]) => [name, accessOf(entryFiles, config, workTopics)]));
}

/** What the code reachable from the entry files does that costs a grant, with where it does it. */
export function accessOf(entryFiles: readonly string[], config: Config, workTopics: readonly string[]): AccessEvidence {
  const topicByKey = new Map(Object.entries(config.topics).filter(([key]) => key !== 'workPrefix'));
  const { files, packages } = reachable(entryFiles);
  const evidence: Record<string, string[]> = {};
  const note = (capability: string, at: string): void => {
    (evidence[capability] ??= []).push(at);
  };
  const publishes = new Set<string>();
  const publishTo = (source: ReturnType<typeof readSource>, call: ts.CallExpression, topicArg: ts.Expression | undefined): void => {
    if (!topicArg) throw new Error(`${where(source, call)}: publish without a topic`);
    const topic = unwrap(topicArg);
    const text = topic.getText(source.ast);
    const key = /(?:^|\.)config\.topics\.(\w+)$/.exec(text)?.[1];
    if (key && topicByKey.has(key)) {
      publishes.add(topicSuffix(topicByKey.get(key)!));
    } else if (ts.isCallExpression(topic) && topic.expression.getText(source.ast) === 'workTopic') {
      workTopics.forEach((work) => publishes.add(topicSuffix(work)));
    } else {
      throw new Error(`${where(source, call)}: cannot tell which topic '${text}' is; publish to config.topics.<name> or workTopic(config, step)`);
    }
    note('publishes', where(source, call));
  };
  for (const file of files) {
    const source = readSource(file);
    for (const call of findCalls(
      source,
      (_call, { receiver, name: method }) => receiver !== undefined && /(?:^|\.)store$/.test(receiver) && STORE_METHODS.has(method),
    )) {
      note('firestore', where(source, call));
    }
    for (const call of findCalls(
      source,
      (_call, { receiver, name: method }) => receiver !== undefined && /(?:^|\.)blobs$/.test(receiver) && (BLOB_READS.has(method) || BLOB_WRITES.has(method)),
    )) {
      const method = (unwrap(call.expression) as ts.PropertyAccessExpression).name.text;
      const ref = refText(source, call.arguments[method === 'upload' ? 1 : 0]);
      if (BLOB_WRITES.has(method)) {
        if (file !== DERIVATIVE_WRITER)
          throw new Error(
            `${where(source, call)}: blobs.${method} outside ${DERIVATIVE_WRITER} cannot be attributed to a bucket; write through writeDerivative/uploadDerivative`,
          );
        note('writes_derivatives', where(source, call));
      } else {
        note(/derivative/i.test(ref) ? 'reads_derivatives' : 'reads_sources', where(source, call));
      }
    }
    if (file === PUBLISH_TRANSPORT) continue;
    for (const call of findCalls(source, (_call, { receiver, name: fnName }) => receiver === undefined && fnName === 'publishEvent'))
      publishTo(source, call, call.arguments[1]);
    for (const call of findCalls(
      source,
      (_call, { receiver, name: method }) => receiver !== undefined && /(?:^|\.)bus$/.test(receiver) && method === 'publish',
    ))
      publishTo(source, call, call.arguments[0]);
  }
  if (packages.includes('@google/genai')) note('vertex_ai', 'imports @google/genai');
  return {
    access: {
      firestore: evidence.firestore !== undefined,
      publishes: [...publishes].sort(),
      reads_sources: evidence.reads_sources !== undefined,
      reads_derivatives: evidence.reads_derivatives !== undefined,
      writes_derivatives: evidence.writes_derivatives !== undefined,
      vertex_ai: evidence.vertex_ai !== undefined,
    },
    evidence,
    files,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// The partner ingest payload as a Pub/Sub schema. Pub/Sub takes Avro or Protocol Buffers, not JSON Schema.
// Protocol Buffers (proto2, JSON encoding) keeps the partner's plain JSON as it is: Avro's JSON encoding would
// make partners wrap every optional value in a union object. Pub/Sub can then check structure (field names,
// types, required fields, no unknown fields); patterns, lengths and formats stay with the edge's JSON Schema.

type JsonSchema = {
  type?: string;
  $ref?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  enum?: unknown[];
  oneOf?: unknown;
  anyOf?: unknown;
  allOf?: unknown;
  title?: string;
  description?: string;
};

function readSchema(file: string): JsonSchema & { $defs?: Record<string, JsonSchema> } {
  return JSON.parse(readFileSync(file, 'utf8')) as JsonSchema & { $defs?: Record<string, JsonSchema> };
}

function resolveRef(ref: string, baseFile: string): { schema: JsonSchema; file: string } {
  const [fileRef, pointer = ''] = ref.split('#');
  const file = fileRef ? path.join(path.dirname(baseFile), fileRef) : baseFile;
  let node: unknown = readSchema(file);
  for (const part of pointer.split('/').filter(Boolean)) node = (node as Record<string, unknown>)[part.replace(/~1/g, '/').replace(/~0/g, '~')];
  if (node === undefined) throw new Error(`cannot resolve $ref '${ref}' from ${path.basename(baseFile)}`);
  return { schema: node as JsonSchema, file };
}

function pascal(name: string): string {
  return name.replace(/(^|[^A-Za-z0-9])([a-z])/g, (_m, _sep: string, letter: string) => letter.toUpperCase()).replace(/[^A-Za-z0-9]/g, '');
}

const SCALARS: Record<string, string> = { string: 'string', integer: 'int64', number: 'double', boolean: 'bool' };

/** Proto2 text of one message (and its nested messages) for an object schema. */
function protoMessage(name: string, schema: JsonSchema, file: string, indent: string): string[] {
  if (schema.type !== 'object' || !schema.properties) throw new Error(`${name}: only object schemas with properties become messages`);
  const required = new Set(schema.required ?? []);
  const fields: string[] = [];
  const nested: string[] = [];
  let number = 0;
  for (const [property, raw] of Object.entries(schema.properties)) {
    number += 1;
    if (!/^[A-Za-z][A-Za-z0-9]*$/.test(property)) throw new Error(`${name}.${property}: not a valid proto field name`);
    let prop = raw;
    let propFile = file;
    if (prop.$ref) ({ schema: prop, file: propFile } = resolveRef(prop.$ref, file));
    if (prop.oneOf || prop.anyOf || prop.allOf) throw new Error(`${name}.${property}: oneOf/anyOf/allOf has no Pub/Sub schema equivalent here`);
    const label = required.has(property) ? 'required' : 'optional';
    if (prop.type && SCALARS[prop.type]) {
      fields.push(`${indent}  ${label} ${SCALARS[prop.type]} ${property} = ${number};`);
    } else if (prop.type === 'object' && !prop.properties && typeof prop.additionalProperties === 'object') {
      const valueType = SCALARS[prop.additionalProperties.type ?? ''];
      if (!valueType) throw new Error(`${name}.${property}: only maps of scalars are supported`);
      if (required.has(property)) throw new Error(`${name}.${property}: a map cannot be required in proto2`);
      fields.push(`${indent}  map<string, ${valueType}> ${property} = ${number};`);
    } else if (prop.type === 'object') {
      const type = pascal(property);
      nested.push('', ...protoMessage(type, prop, propFile, `${indent}  `));
      fields.push(`${indent}  ${label} ${type} ${property} = ${number};`);
    } else if (prop.type === 'array' && prop.items?.type && SCALARS[prop.items.type]) {
      if (required.has(property)) throw new Error(`${name}.${property}: a repeated field cannot be required in proto2`);
      fields.push(`${indent}  repeated ${SCALARS[prop.items.type]} ${property} = ${number};`);
    } else {
      throw new Error(`${name}.${property}: type '${String(prop.type)}' has no Pub/Sub schema mapping here`);
    }
  }
  if (schema.additionalProperties !== false) throw new Error(`${name}: the JSON Schema allows unknown properties, which a proto message would refuse`);
  return [`${indent}message ${name} {`, ...fields, ...nested, `${indent}}`];
}

export function ingestRequestedProto(file = ingestSchemaFile): string {
  const schema = readSchema(file);
  const lines = [
    `// Generated by scripts/deploy/terraform-gen.ts from events/schemas/${path.basename(file)}. Do not edit.`,
    '// The Pub/Sub schema of the partner ingest requests topic, for JSON-encoded messages (binary-mode CloudEvents',
    '// or bare payloads). It checks structure only: field names, types, required fields, no unknown fields.',
    '// Patterns, lengths and formats are checked by the ingest function against the JSON Schema itself.',
    'syntax = "proto2";',
    '',
    'package mediaflow.events.v1;',
    '',
    ...protoMessage(pascal(schema.title ?? 'IngestRequested'), schema, file, ''),
  ];
  return `${lines.join('\n')}\n`;
}

export function pipelineJson(spec: TerraformPipeline): string {
  return `${JSON.stringify(spec, null, 2)}\n`;
}
