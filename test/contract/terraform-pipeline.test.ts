/**
 * The deployment's picture of the pipeline checked against the code: terraform/modules/mediaflow/generated/ (what
 * Terraform reads) must be exactly what functions/pipeline.ts, the step registry, each function's declared needs,
 * the declared collections and queries and the event catalog imply. A timeout, a step, a declaration, a query or a
 * schema that changes without regenerating fails here.
 */
import { WATCHDOG_TIMEOUT_MS } from '../../functions/watchdog/run.ts';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { schemasDir } from '../../events/schema-files.ts';
import {
  ackDeadlineSeconds,
  buildPipeline,
  COORDINATOR_TIMEOUT_MS,
  DEADLETTER_TIMEOUT_MS,
  INGEST_TIMEOUT_MS,
  subscriptionName,
} from '../../functions/pipeline.ts';
import { productionSteps } from '../../functions/registry.ts';
import { createStepRegistry } from '../../shared/domain/step.ts';
import { CONFIG_GROUPS } from '../../shared/runtime/needs.ts';
import { staleTerraformFiles } from '../../scripts/deploy/terraform-gen.ts';
import {
  firestoreJsonFile,
  ingestProtoFile,
  ingestRequestedProto,
  ingestSchemaFile,
  pipelineJsonFile,
  REFERENCE_PREFIX,
  referenceConfig,
  terraformFirestore,
  terraformNeeds,
  terraformPipeline,
  topicSuffix,
  type TerraformFirestore,
  type TerraformPipeline,
} from '../../scripts/deploy/terraform-pipeline.ts';

const committed = JSON.parse(readFileSync(pipelineJsonFile, 'utf8')) as TerraformPipeline;
const config = referenceConfig();
const pipeline = buildPipeline(config, productionSteps);

type Channel = { address: string };
type Operation = { action: 'send' | 'receive'; channel: { $ref: string } };
const catalog = parseDocument(readFileSync(path.join(path.dirname(schemasDir), 'asyncapi.yaml'), 'utf8')).toJS() as {
  channels: Record<string, Channel>;
  operations: Record<string, Operation>;
};

describe('generated Terraform inputs', () => {
  it('are up to date with the code (node scripts/deploy/terraform-gen.ts)', async () => {
    expect(await staleTerraformFiles()).toEqual([]);
  });

  it('would go stale if a step timeout changed without regenerating', async () => {
    const [first, ...rest] = [...productionSteps.values()];
    const slower = createStepRegistry([{ ...first!, timeoutMs: first!.timeoutMs + 60_000 }, ...rest]);
    const regenerated = terraformPipeline(slower);
    expect(regenerated).not.toEqual(committed);
    expect(regenerated.subscriptions[`${first!.name}--${topicSuffix(config.topics.workPrefix + first!.name)}`]!.ack_deadline_seconds).toBe(
      ackDeadlineSeconds(first!.timeoutMs + 60_000),
    );
  });

  it('would go stale if a step declared another need without regenerating', () => {
    const [first, ...rest] = [...productionSteps.values()];
    const greedier = createStepRegistry([{ ...first!, needs: { ...first!.needs, vertexAi: !first!.needs.vertexAi } }, ...rest]);
    const regenerated = terraformPipeline(greedier);
    expect(regenerated.functions[first!.name]!.needs.vertex_ai).toBe(!first!.needs.vertexAi);
    expect(regenerated).not.toEqual(committed);
  });

  it('firestore.json is the declared indexes and TTL fields', () => {
    expect(JSON.parse(readFileSync(firestoreJsonFile, 'utf8'))).toEqual(terraformFirestore() satisfies TerraformFirestore);
  });
});

describe('pipeline.json: topics and subscriptions are functions/pipeline.ts', () => {
  it('has every topic of the pipeline and no other', () => {
    expect(committed.topics).toEqual(pipeline.topics.map((topic) => topicSuffix(topic)).sort());
  });

  it('names the topics Terraform wires specially after the configuration', () => {
    expect(committed.topic_roles).toEqual({
      uploads: topicSuffix(config.topics.uploads),
      ingest_requests: topicSuffix(config.topics.ingestRequests),
      step_results: topicSuffix(config.topics.stepResults),
      asset_events: topicSuffix(config.topics.assetEvents),
      dead_letters: topicSuffix(config.topics.deadLetters),
    });
  });

  it('has one subscription per (function, topic), named <function>--<topic> once the prefix is applied', () => {
    const expected = pipeline.subscriptions.map((sub) => sub.name).sort();
    const deployed = Object.values(committed.subscriptions)
      .map((sub) => subscriptionName(sub.function, `${REFERENCE_PREFIX}-${sub.topic}`))
      .sort();
    expect(deployed).toEqual(expected);
  });

  it.each(pipeline.subscriptions.map((sub) => [sub.name, sub] as const))('%s: ack deadline, dead-lettering and function match the code', (_name, sub) => {
    const deployed = committed.subscriptions[`${sub.function}--${topicSuffix(sub.topic)}`]!;
    expect(deployed).toEqual({
      function: sub.function,
      topic: topicSuffix(sub.topic),
      ack_deadline_seconds: sub.ackDeadlineSeconds,
      dead_letter: sub.deadLetterTopic !== undefined,
    });
    // Every subscription dead-letters, except the dead-letter topic's own (its function retries until it records).
    expect(deployed.dead_letter).toBe(sub.topic !== config.topics.deadLetters);
  });

  it('derives each deadline from the named timeout in the code', () => {
    const named: Record<string, number> = {
      ingest: INGEST_TIMEOUT_MS,
      coordinator: COORDINATOR_TIMEOUT_MS,
      deadletter: DEADLETTER_TIMEOUT_MS,
      watchdog: WATCHDOG_TIMEOUT_MS,
      ...Object.fromEntries([...productionSteps.values()].map((step) => [step.name, step.timeoutMs])),
    };
    expect(Object.keys(committed.functions).sort()).toEqual(Object.keys(named).sort());
    for (const [name, timeoutMs] of Object.entries(named)) {
      const fn = committed.functions[name]!;
      expect(fn.timeout_seconds, name).toBe(Math.ceil(timeoutMs / 1000));
      expect(fn.request_timeout_seconds, name).toBe(ackDeadlineSeconds(timeoutMs));
      for (const sub of Object.values(committed.subscriptions).filter((s) => s.function === name)) {
        expect(sub.ack_deadline_seconds, `${name} on ${sub.topic}`).toBe(ackDeadlineSeconds(timeoutMs));
        // Cloud Run must not cut a request Pub/Sub still waits for.
        expect(fn.request_timeout_seconds).toBeGreaterThanOrEqual(sub.ack_deadline_seconds);
      }
    }
  });

  it('carries the code’s retry defaults', () => {
    expect(committed.retry).toEqual({
      max_delivery_attempts: config.retry.maxDeliveryAttempts,
      minimum_backoff_seconds: config.retry.minimumBackoffSeconds,
      maximum_backoff_seconds: config.retry.maximumBackoffSeconds,
    });
  });
});

describe('pipeline.json: topics and subscriptions are the event catalog’s (events/asyncapi.yaml)', () => {
  const addresses = Object.values(catalog.channels).map((channel) => channel.address);
  const channelOf = (operation: Operation): Channel => catalog.channels[operation.channel.$ref.replace('#/channels/', '')]!;

  it('deploys every catalog channel as a topic, and no topic the catalog lacks', () => {
    expect(committed.topics.map((suffix) => `${REFERENCE_PREFIX}-${suffix}`).sort()).toEqual([...addresses].sort());
  });

  it('subscribes to exactly the channels mediaflow receives on', () => {
    const received = new Set(
      Object.values(catalog.operations)
        .filter((op) => op.action === 'receive')
        .map((op) => channelOf(op).address),
    );
    const subscribed = new Set(Object.values(committed.subscriptions).map((sub) => `${REFERENCE_PREFIX}-${sub.topic}`));
    expect([...subscribed].sort()).toEqual([...received].sort());
  });
});

describe('pipeline.json: each function’s needs are what it declares (shared/runtime/needs.ts)', () => {
  const declared = new Map(pipeline.functions.map((fn) => [fn.definition.name, fn.definition.needs] as const));
  const needsOf = (name: string) => committed.functions[name]!.needs;

  it('has a declaration for every function of the pipeline, and no other', () => {
    expect(Object.keys(committed.functions).sort()).toEqual([...declared.keys()].sort());
  });

  it.each([...declared].map(([name, needs]) => [name, needs] as const))('%s', (name, needs) => {
    expect({ name, needs: needsOf(name) }).toEqual({ name, needs: terraformNeeds(needs, config, pipeline) });
  });

  it('every function records failures and rejections in Firestore at its edge', () => {
    for (const name of declared.keys()) expect(needsOf(name).documents, name).toBe(true);
  });

  it('only the coordinator and the watchdog (which re-drives through the same outbox) publish work orders and asset events; everyone else only reports step results', () => {
    const workTopics = committed.topics.filter((topic) => `${REFERENCE_PREFIX}-${topic}`.startsWith(config.topics.workPrefix));
    for (const name of declared.keys()) {
      const publishesOrders = name === 'coordinator' || name === 'watchdog';
      // The watchdog's reconcile tick also sends the uploads topic the notifications the bucket never sent.
      const reconciles = name === 'watchdog' ? [topicSuffix(config.topics.uploads)] : [];
      const expected = publishesOrders
        ? [topicSuffix(config.topics.assetEvents), ...workTopics, ...reconciles].sort()
        : [topicSuffix(config.topics.stepResults)];
      expect(needsOf(name).publishes, name).toEqual(expected);
    }
  });

  it('only step workers write derivatives; coordinator and deadletter touch no bucket', () => {
    for (const name of ['coordinator', 'deadletter', 'ingest']) expect(needsOf(name).derivatives, name).toBe('none');
    for (const name of ['coordinator', 'deadletter']) expect(needsOf(name).sources, name).toBe('none');
    expect(needsOf('ingest').sources).toBe('read');
  });

  it('only the tag step calls Vertex AI and reads the vertex configuration group', () => {
    for (const name of declared.keys()) {
      expect(needsOf(name).vertex_ai, name).toBe(name === 'tag');
      expect(needsOf(name).config, name).toEqual(name === 'tag' ? ['vertex'] : []);
    }
    expect(Object.keys(CONFIG_GROUPS)).toEqual(['vertex']);
  });
});

describe('ingest-requested.v1.proto: the partner ingest topic’s Pub/Sub schema', () => {
  const proto = readFileSync(ingestProtoFile, 'utf8');
  const schema = JSON.parse(readFileSync(ingestSchemaFile, 'utf8')) as { required: string[]; properties: Record<string, unknown> };
  const topLevel = proto.slice(proto.indexOf('message '), proto.indexOf('\n  message ') === -1 ? undefined : proto.indexOf('\n  message '));

  it('is generated from the JSON Schema', () => {
    expect(proto).toBe(ingestRequestedProto());
  });

  it('is one top-level message, as Pub/Sub requires, with no imports', () => {
    expect(proto.match(/^message /gm)).toHaveLength(1);
    expect(proto).not.toMatch(/^import /m);
    expect(proto).toMatch(/^syntax = "proto2";$/m);
  });

  it.each(Object.keys(schema.properties))('has field %s, required exactly when the JSON Schema requires it', (property) => {
    const field = new RegExp(`^  (required|optional|repeated|map<[^>]+>)\\s*(\\S+)?\\s*${property} = \\d+;$`, 'm').exec(topLevel);
    expect(field, property).not.toBeNull();
    expect(field![1] === 'required', property).toBe(schema.required.includes(property));
  });
});
