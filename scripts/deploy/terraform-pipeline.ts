/**
 * What Terraform must agree with, from what the code declares: the pipeline's topics, subscriptions and ack
 * deadlines (functions/pipeline.ts), what each function needs (its `needs` declaration, shared/runtime/needs.ts),
 * the Firestore indexes of the declared queries and the TTL fields (shared/domain/collections.ts), and the partner
 * ingest payload as a Pub/Sub Protocol Buffer schema (from its JSON Schema). terraform-gen.ts writes these into
 * terraform/modules/mediaflow/generated/, and the consistency tests compare both ways.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { schemasDir } from '../../events/schema-files.ts';
import { ackDeadlineSeconds, buildPipeline, type Pipeline } from '../../functions/pipeline.ts';
import { productionSteps } from '../../functions/registry.ts';
import { loadConfig, type Config } from '../../shared/config/config.ts';
import { collections, declaredIndexes, type CollectionInfo, type IndexField } from '../../shared/domain/collections.ts';
import type { StepRegistry } from '../../shared/domain/step.ts';
import { publishTopics, type ConfigGroup, type FunctionNeeds } from '../../shared/runtime/needs.ts';
import { repoRoot } from './module-graph.ts';

export const stackModuleDir = path.join(repoRoot, 'terraform', 'modules', 'mediaflow');
export const generatedDir = path.join(stackModuleDir, 'generated');
export const pipelineJsonFile = path.join(generatedDir, 'pipeline.json');
export const firestoreJsonFile = path.join(generatedDir, 'firestore.json');
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

/**
 * A function's declared needs as Terraform reads them (shared/runtime/needs.ts, in Terraform's spelling), with the
 * publish roles resolved to topic suffixes. Terraform maps each need to one least role, and each configuration
 * group to the environment variables loadConfig reads for it.
 */
export interface TerraformNeeds {
  /** Reads and writes Firestore documents (every function's edge records failures and rejections). */
  readonly documents: boolean;
  /** Reads the source buckets (ingest and partner buckets). */
  readonly sources: FunctionNeeds['sources'];
  /** The derivatives bucket: `write` creates and overwrites, `read-write` also reads back. */
  readonly derivatives: FunctionNeeds['derivatives'];
  /** Topic suffixes (the name without `<prefix>-`) it publishes to. */
  readonly publishes: readonly string[];
  /** Calls Gemini on Vertex AI. */
  readonly vertex_ai: boolean;
  /** Configuration groups it reads on top of the common set. */
  readonly config: readonly ConfigGroup[];
}

export interface TerraformFunction {
  /** The function's own timeout, rounded up to seconds. */
  readonly timeout_seconds: number;
  /** Cloud Run's request timeout: the ack deadline, so Cloud Run never cuts a request Pub/Sub still waits for. */
  readonly request_timeout_seconds: number;
  readonly topics: readonly string[];
  readonly needs: TerraformNeeds;
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

/** The pipeline's work topics: what a function declaring `publishes: ['work']` publishes to. */
export function workTopics(config: Config, pipeline: Pipeline): string[] {
  return pipeline.functions.flatMap((fn) => fn.topics).filter((topic) => topic.startsWith(config.topics.workPrefix));
}

/** One function's declaration, in Terraform's spelling. */
export function terraformNeeds(needs: FunctionNeeds, config: Config, pipeline: Pipeline): TerraformNeeds {
  return {
    documents: needs.documents,
    sources: needs.sources,
    derivatives: needs.derivatives,
    publishes: publishTopics(needs, config.topics, workTopics(config, pipeline)).map((topic) => topicSuffix(topic)),
    vertex_ai: needs.vertexAi,
    config: [...needs.config].sort(),
  };
}

export function terraformPipeline(steps: StepRegistry = productionSteps): TerraformPipeline {
  const config = referenceConfig();
  const pipeline = buildPipeline(config, steps);
  const functions = pipeline.functions.map((fn): [string, TerraformFunction] => [
    fn.definition.name,
    {
      timeout_seconds: Math.ceil(fn.timeoutMs / 1000),
      request_timeout_seconds: ackDeadlineSeconds(fn.timeoutMs),
      topics: fn.topics.map((topic) => topicSuffix(topic)),
      needs: terraformNeeds(fn.definition.needs, config, pipeline),
    },
  ]);
  const subscriptions = pipeline.subscriptions.map((sub): [string, TerraformSubscription] => [
    `${sub.function}--${topicSuffix(sub.topic)}`,
    { function: sub.function, topic: topicSuffix(sub.topic), ack_deadline_seconds: sub.ackDeadlineSeconds, dead_letter: sub.deadLetterTopic !== undefined },
  ]);
  return {
    _generated:
      "By scripts/deploy/terraform-gen.ts from functions/pipeline.ts, functions/registry.ts and each function's `needs`. Do not edit: run `node scripts/deploy/terraform-gen.ts`.",
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
// Firestore: the composite indexes of the declared queries, and the TTL fields of the collections that have one.

export interface TerraformIndex {
  readonly collection: string;
  readonly fields: readonly IndexField[];
  /** Who runs the queries it serves. */
  readonly used_by: readonly string[];
}

export interface TerraformFirestore {
  readonly _generated: string;
  /** Keyed by the index name its query declares (a resource key: renaming one replaces the index). */
  readonly indexes: Readonly<Record<string, TerraformIndex>>;
  /** Collection → the timestamp field Firestore's TTL policy deletes documents after. */
  readonly ttl: Readonly<Record<string, string>>;
}

export function terraformFirestore(): TerraformFirestore {
  const ttl = Object.values(collections).flatMap((collection: CollectionInfo): [string, string][] =>
    collection.ttlField ? [[collection.name, collection.ttlField]] : [],
  );
  return {
    _generated: 'By scripts/deploy/terraform-gen.ts from shared/domain/collections.ts. Do not edit: run `node scripts/deploy/terraform-gen.ts`.',
    indexes: sortedRecord(
      declaredIndexes().map(({ name, index, usedBy }): [string, TerraformIndex] => [
        name,
        { collection: index.collection, fields: index.fields, used_by: [...usedBy] },
      ]),
    ),
    ttl: sortedRecord(ttl),
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

export function generatedJson(spec: TerraformPipeline | TerraformFirestore): string {
  return `${JSON.stringify(spec, null, 2)}\n`;
}
