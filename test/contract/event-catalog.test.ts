/**
 * The partner contract (events/asyncapi.yaml) checked against the code it describes: the schema files, the
 * validator, the pipeline's topics and the decoder. A contract that drifts from the code is worse than none,
 * so every claim the document makes that the code can confirm is confirmed here.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { EventType, EventValidator, stepOfWorkOrderType, workOrderType, type StepCompleted, type StepFailed } from '../../events/catalog.ts';
import { eventSchemaFiles, schemasDir } from '../../events/schema-files.ts';
import { buildPipeline } from '../../functions/pipeline.ts';
import { productionSteps } from '../../functions/registry.ts';
import { loadConfig, workTopic } from '../../shared/config/config.ts';
import { PROBE_STEP } from '../../shared/domain/step.ts';
import { DeadLetterAttribute, type Delivery, type OutgoingMessage } from '../../shared/ports/bus.ts';
import { decodeDelivery, eventarcFinalizedType } from '../../shared/runtime/decode.ts';
import { useUnwiredRuntime } from '../support/embedded.ts';
import { publishStepResult } from '../../shared/runtime/worker.ts';

type Json = Record<string, unknown>;

interface Ref {
  readonly $ref: string;
}

interface Example {
  readonly name?: string;
  readonly headers?: Record<string, string>;
  readonly payload?: unknown;
}

interface Message {
  readonly name?: string;
  readonly title?: string;
  readonly summary?: string;
  readonly headers?: Json;
  readonly payload?: Json;
  readonly examples?: readonly Example[];
  readonly 'x-mediaflow-normalized'?: { readonly type?: string };
}

interface Channel {
  readonly address: string;
  readonly description?: string;
  readonly messages: Record<string, Ref>;
}

interface Operation {
  readonly action: string;
  readonly channel: Ref;
  readonly messages: readonly Ref[];
}

interface AsyncApiDocument {
  readonly asyncapi: string;
  readonly info: { readonly title: string; readonly version: string; readonly description: string };
  readonly defaultContentType: string;
  readonly servers: Record<string, { readonly protocol: string; readonly host: string }>;
  readonly channels: Record<string, Channel>;
  readonly operations: Record<string, Operation>;
  readonly components: { readonly messages: Record<string, Message>; readonly schemas: Record<string, Json> };
}

const eventsDir = path.dirname(schemasDir);
const documentPath = path.join(eventsDir, 'asyncapi.yaml');

function loadDocument(): AsyncApiDocument {
  const parsed = parseDocument(readFileSync(documentPath, 'utf8'), { uniqueKeys: true });
  if (parsed.errors.length > 0 || parsed.warnings.length > 0) {
    throw new Error(`asyncapi.yaml does not parse cleanly: ${[...parsed.errors, ...parsed.warnings].map((e) => e.message).join('; ')}`);
  }
  return parsed.toJS() as AsyncApiDocument;
}

const doc = loadDocument();
const config = loadConfig({});
const pipeline = buildPipeline(config, productionSteps);
const validator = new EventValidator(new Map([...productionSteps.values()].map((step) => [step.name, step.paramsSchema])));

/** JSON Pointer (RFC 6901) resolution inside the document; local refs are how AsyncAPI 3 links operations to channels. */
function resolveLocal(ref: string): unknown {
  if (!ref.startsWith('#/')) throw new Error(`not a local reference: ${ref}`);
  let node: unknown = doc;
  for (const raw of ref.slice(2).split('/')) {
    const key = decodeURIComponent(raw).replaceAll('~1', '/').replaceAll('~0', '~');
    if (!node || typeof node !== 'object' || !(key in node)) throw new Error(`unresolvable reference ${ref}`);
    node = (node as Json)[key];
  }
  return node;
}

/** Every `$ref` under a node, local and external. */
function collectRefs(node: unknown, into: string[] = []): string[] {
  if (Array.isArray(node)) {
    for (const item of node) collectRefs(item, into);
  } else if (node && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key === '$ref' && typeof value === 'string') into.push(value);
      else collectRefs(value, into);
    }
  }
  return into;
}

/** Replaces local refs by their targets, so Ajv can compile an AsyncAPI schema on its own. */
function inlineLocalRefs(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(inlineLocalRefs);
  if (!node || typeof node !== 'object') return node;
  const { $ref, ...rest } = node as Json;
  const inlinedRest = Object.fromEntries(Object.entries(rest).map(([key, value]) => [key, inlineLocalRefs(value)]));
  if (typeof $ref === 'string' && $ref.startsWith('#/')) return { ...(inlineLocalRefs(resolveLocal($ref)) as Json), ...inlinedRest };
  return typeof $ref === 'string' ? { $ref, ...inlinedRest } : inlinedRest;
}

/** A step schema as the document inlines it, with its refs based on the schema again rather than on the component. */
function asStepSchema(node: unknown, pointer: string): unknown {
  if (Array.isArray(node)) return node.map((item) => asStepSchema(item, pointer));
  if (!node || typeof node !== 'object') return node;
  return Object.fromEntries(
    Object.entries(node).map(([key, value]) => [
      key,
      key === '$ref' && typeof value === 'string' && value.startsWith(pointer) ? `#${value.slice(pointer.length)}` : asStepSchema(value, pointer),
    ]),
  );
}

/** A step schema without the keywords that make it a resource of its own, which the document does not inline. */
function withoutResourceKeywords(schema: object): Json {
  const rest: Json = { ...(schema as Json) };
  delete rest.$id;
  delete rest.$schema;
  return rest;
}

/** The outputs schema step.completed documents for one step: the `then` of the branch whose `if` names the step. */
function documentedOutputsOf(step: string): Ref | undefined {
  const completed = cloudEventMessages.find((entry) => entry.ceType === EventType.stepCompleted);
  for (const ref of collectRefs(completed?.message.payload).filter((candidate) => candidate.startsWith('#'))) {
    const branches = (resolveLocal(ref) as { allOf?: { if?: { properties?: { step?: { const?: unknown } } }; then?: { properties?: { outputs?: Ref } } }[] })
      .allOf;
    const branch = branches?.find((candidate) => candidate.if?.properties?.step?.const === step);
    if (branch) return branch.then?.properties?.outputs;
  }
  return undefined;
}

/** ajv-formats ships CommonJS; under ESM its callable is the default export's default. */
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv2020) => Ajv2020;
// Not strict: AsyncAPI schemas may carry keywords (examples, descriptions on refs) that strict mode refuses.
const schemaChecker = addFormats(new Ajv2020({ allErrors: true, strict: false }));

function schemaErrors(schema: unknown, value: unknown): string[] {
  const check = schemaChecker.compile(inlineLocalRefs(schema) as Json);
  return check(value) ? [] : (check.errors ?? []).map((error) => `${error.instancePath || '/'} ${error.message ?? error.keyword}`);
}

interface DocumentedMessage {
  readonly channelKey: string;
  readonly address: string;
  readonly key: string;
  readonly message: Message;
  /** The ce-type const of the headers, for CloudEvents messages. */
  readonly ceType: string | undefined;
}

const documentedMessages: DocumentedMessage[] = Object.entries(doc.channels).flatMap(([channelKey, channel]) =>
  Object.entries(channel.messages ?? {}).map(([key, ref]) => {
    const message = resolveLocal(ref.$ref) as Message;
    const ceType = ((message.headers?.properties as Json | undefined)?.['ce-type'] as Json | undefined)?.const;
    return { channelKey, address: channel.address, key, message, ceType: typeof ceType === 'string' ? ceType : undefined };
  }),
);

const cloudEventMessages = documentedMessages.filter((entry) => entry.ceType !== undefined);
const uploadMessages = documentedMessages.filter((entry) => entry.address === config.topics.uploads);
const stepResultMessages = documentedMessages.filter((entry) => entry.address === config.topics.stepResults);
const deadLetterMessages = documentedMessages.filter((entry) => entry.address === config.topics.deadLetters);

function examplesOf(entries: readonly DocumentedMessage[]): [string, DocumentedMessage, Example][] {
  return entries.flatMap((entry) =>
    (entry.message.examples ?? []).map((example): [string, DocumentedMessage, Example] => [`${entry.key}/${example.name ?? '?'}`, entry, example]),
  );
}

function deliveryOf(entry: DocumentedMessage, example: Example): Delivery {
  return {
    messageId: '13370000000001',
    publishTime: new Date('2024-11-22T21:52:30.000Z'),
    data: Buffer.from(JSON.stringify(example.payload)),
    attributes: example.headers ?? {},
    deliveryAttempt: 1,
    subscription: 'contract-test',
    topic: entry.address,
  };
}

function documentedTypes(): Set<string> {
  const types = new Set<string>();
  for (const entry of documentedMessages) {
    if (entry.address === config.topics.deadLetters) continue;
    if (entry.ceType) types.add(entry.ceType);
    const normalized = entry.message['x-mediaflow-normalized']?.type;
    if (normalized) types.add(normalized);
  }
  return types;
}

describe('asyncapi.yaml: the document itself', () => {
  it('is an AsyncAPI 3.0.0 document about mediaflow events on Google Cloud Pub/Sub', () => {
    expect(doc.asyncapi).toBe('3.0.0');
    expect(doc.info.title).toBe('mediaflow events');
    expect(doc.info.version).toBe('1.0.0');
    expect(doc.defaultContentType).toBe('application/json');
    expect(Object.values(doc.servers).map((server) => server.protocol)).toEqual(['googlepubsub']);
  });

  it.each(['ce-specversion', 'ce-type', 'ce-id', 'ce-source', 'ce-time', 'ce-subject', 'binary content mode', 'structured mode', 'at-least-once'])(
    'explains %s in info.description',
    (term) => {
      expect(doc.info.description.toLowerCase()).toContain(term.toLowerCase());
    },
  );

  it('resolves every local reference', () => {
    const local = collectRefs(doc).filter((ref) => ref.startsWith('#'));
    expect(local.length).toBeGreaterThan(0);
    for (const ref of local) expect(() => resolveLocal(ref), ref).not.toThrow();
  });

  it('points every external reference at an existing file', () => {
    const external = collectRefs(doc).filter((ref) => !ref.startsWith('#'));
    expect(external.length).toBeGreaterThan(0);
    for (const ref of external) {
      expect(ref, 'relative to events/').toMatch(/^\.\//);
      expect(existsSync(path.join(eventsDir, ref.split('#')[0]!)), ref).toBe(true);
    }
  });

  it.each(documentedMessages.map((entry) => [entry.key, entry] as const))('message %s has a name, title, summary, headers and examples', (_key, entry) => {
    const { message } = entry;
    expect(message.name).toMatch(/^[A-Z][A-Za-z]+$/);
    expect(message.title).toBeTruthy();
    expect(message.summary).toBeTruthy();
    expect(message.headers?.type).toBe('object');
    expect(message.examples?.length).toBeGreaterThan(0);
    for (const example of message.examples ?? []) {
      expect(example.name).toBeTruthy();
      expect(example.headers).toBeTypeOf('object');
      expect(example.payload).toBeDefined();
    }
  });
});

describe('asyncapi.yaml: every event type and schema is documented', () => {
  it.each(eventSchemaFiles())('%s has a message (by ce-type or by payload $ref)', (file) => {
    const type = file.replace(/\.json$/, '');
    const documented = documentedMessages.some(
      (entry) => entry.ceType === type || collectRefs(entry.message).some((ref) => path.posix.normalize(ref) === `schemas/${file}`),
    );
    expect(documented).toBe(true);
  });

  it('documents exactly the types the validator knows', () => {
    expect([...documentedTypes()].sort()).toEqual(validator.knownTypes());
  });

  it('documents every type in EventType and a work order type per production step', () => {
    const types = documentedTypes();
    for (const type of Object.values(EventType)) expect(types, type).toContain(type);
    for (const step of productionSteps.keys()) expect(types, step).toContain(workOrderType(step));
  });

  it.each(cloudEventMessages.map((entry) => [entry.ceType!, entry] as const))('%s: the payload references the schema files of its type', (type, entry) => {
    const step = stepOfWorkOrderType(type);
    const expected = step ? ['./schemas/com.mediaflow.work.requested.v1.json'] : [`./schemas/${type}.json`];
    expect(entry.message.payload?.schemaFormat).toBe('application/schema+json;version=draft-2020-12');
    expect(
      collectRefs(entry.message.payload)
        .filter((ref) => !ref.startsWith('#'))
        .sort(),
    ).toEqual(expected.sort());
  });

  // A step's own schemas live with its code; the document inlines them under components.schemas (scripts/gen-asyncapi.ts).
  it.each([...productionSteps.values()].map((step) => [step.name, step] as const))("%s: the work order's params are the step's params schema", (name, step) => {
    const entry = cloudEventMessages.find((candidate) => candidate.ceType === workOrderType(name));
    const schema = entry?.message.payload?.schema as { properties?: { params?: Ref } } | undefined;
    const params = schema?.properties?.params?.$ref ?? '';
    expect(params).toMatch(/^#\/components\/schemas\/[A-Za-z]+$/);
    expect(asStepSchema(resolveLocal(params), params)).toEqual(withoutResourceKeywords(step.paramsSchema));
  });

  it.each([...productionSteps.values()].map((step) => [step.name, step] as const))("%s: step.completed carries the step's outputs schema", (name, step) => {
    const outputs = documentedOutputsOf(name)?.$ref ?? '';
    expect(outputs).toMatch(/^#\/components\/schemas\/[A-Za-z]+$/);
    expect(asStepSchema(resolveLocal(outputs), outputs)).toEqual(withoutResourceKeywords(step.outputsSchema));
  });

  it('keeps the generic outputs of step.completed for the probe, which ingest runs', () => {
    expect(documentedOutputsOf(PROBE_STEP)).toBeUndefined();
  });

  it.each([
    ['the Eventarc event type', eventarcFinalizedType],
    ['that it is pushed over HTTP', 'over HTTP'],
    ['the type both forms are normalized to', EventType.objectFinalized],
    ['the id both forms get', '`bucket/name#generation`'],
    ['the origin an Eventarc upload is marked with', '`origin: eventarc`'],
  ])('the uploads channel names %s (%s)', (_what, text) => {
    const uploads = Object.values(doc.channels).find((channel) => channel.address === config.topics.uploads);
    expect(uploads?.description).toContain(text);
  });

  it('names the normalized type and schema of the upload notification', () => {
    expect(uploadMessages).toHaveLength(1);
    const upload = uploadMessages[0]!.message;
    expect(upload['x-mediaflow-normalized']?.type).toBe(EventType.objectFinalized);
    expect(collectRefs(upload['x-mediaflow-normalized'])).toEqual([`./schemas/${EventType.objectFinalized}.json`]);
  });
});

describe('asyncapi.yaml: channels and operations match the pipeline', () => {
  it.each(pipeline.topics.map((topic) => [topic]))('topic %s has exactly one channel', (topic) => {
    expect(Object.values(doc.channels).filter((channel) => channel.address === topic)).toHaveLength(1);
  });

  it('has no channel without a topic', () => {
    const topics = new Set(pipeline.topics);
    expect(
      Object.values(doc.channels)
        .map((channel) => channel.address)
        .filter((address) => !topics.has(address)),
    ).toEqual([]);
  });

  it('receives on exactly the topics mediaflow subscribes to', () => {
    const subscribed = [...new Set(pipeline.subscriptions.map((subscription) => subscription.topic))].sort();
    const received = Object.values(doc.operations)
      .filter((operation) => operation.action === 'receive')
      .map((operation) => (resolveLocal(operation.channel.$ref) as Channel).address);
    expect([...new Set(received)].sort()).toEqual(subscribed);
  });

  it('sends on the work, step result and asset event topics only', () => {
    const expected = [...[...productionSteps.keys()].map((step) => workTopic(config, step)), config.topics.stepResults, config.topics.assetEvents].sort();
    const sent = Object.values(doc.operations)
      .filter((operation) => operation.action === 'send')
      .map((operation) => (resolveLocal(operation.channel.$ref) as Channel).address);
    expect([...new Set(sent)].sort()).toEqual(expected);
  });

  it.each(Object.entries(doc.operations))('operation %s only names messages of its own channel', (_name, operation) => {
    expect(['send', 'receive']).toContain(operation.action);
    expect(operation.messages.length).toBeGreaterThan(0);
    for (const message of operation.messages) expect(message.$ref.startsWith(`${operation.channel.$ref}/messages/`), message.$ref).toBe(true);
  });

  it('documents one message each on the uploads and dead-letter channels', () => {
    expect(uploadMessages.map((entry) => entry.key)).toHaveLength(1);
    expect(deadLetterMessages.map((entry) => entry.key)).toHaveLength(1);
  });

  it('puts each CloudEvents type on one channel only', () => {
    const types = cloudEventMessages.map((entry) => entry.ceType);
    expect(types).toEqual([...new Set(types)]);
  });
});

describe('asyncapi.yaml: examples are real messages', () => {
  const validatorExamples = examplesOf(cloudEventMessages.filter((entry) => entry.address !== config.topics.deadLetters));

  it('has CloudEvents examples to check', () => {
    expect(validatorExamples.length).toBeGreaterThanOrEqual(cloudEventMessages.length);
  });

  it.each(examplesOf(documentedMessages))('%s: headers satisfy the message headers schema', (_name, entry, example) => {
    expect(schemaErrors(entry.message.headers, example.headers)).toEqual([]);
  });

  it.each(validatorExamples)('%s: the payload validates as its ce-type and comes back frozen', (_name, entry, example) => {
    expect(example.headers?.['ce-type']).toBe(entry.ceType);
    const result = validator.validate(entry.ceType!, example.payload);
    expect(result.ok ? [] : result.issues).toEqual([]);
    expect(result.ok && Object.isFrozen(result.value)).toBe(true);
  });

  it.each(validatorExamples)('%s: decodes from the wire to the documented envelope', (_name, entry, example) => {
    const decoded = decodeDelivery(deliveryOf(entry, example), undefined);
    const headers = example.headers ?? {};
    expect(decoded).toEqual({
      status: 'event',
      event: {
        id: headers['ce-id'],
        source: headers['ce-source'],
        type: entry.ceType,
        ...(headers['ce-subject'] ? { subject: headers['ce-subject'] } : {}),
        ...(headers['ce-time'] ? { time: headers['ce-time'] } : {}),
        data: example.payload,
      },
    });
  });

  it.each(examplesOf(uploadMessages))('%s: the GCS object resource satisfies the documented payload schema', (_name, entry, example) => {
    expect(schemaErrors(entry.message.payload, example.payload)).toEqual([]);
  });

  it.each(examplesOf(uploadMessages))('%s: decodes to a valid object.finalized with the deterministic upload id', (_name, entry, example) => {
    const decoded = decodeDelivery(deliveryOf(entry, example), undefined);
    if (decoded.status !== 'event') throw new Error(`expected an event, got ${decoded.status}: ${decoded.reason}`);
    const headers = example.headers ?? {};
    expect(decoded.event.type).toBe(EventType.objectFinalized);
    expect(decoded.event.id).toBe(`${headers.bucketId}/${headers.objectId}#${headers.objectGeneration}`);
    const result = validator.validate(EventType.objectFinalized, decoded.event.data);
    expect(result.ok ? [] : result.issues).toEqual([]);
    if (!result.ok) return;
    expect(typeof result.value.size).toBe('number');
    expect(result.value.generation).toBe(headers.objectGeneration);
    expect(result.value.origin).toBe('pubsub-notification');
  });

  it.each(examplesOf(deadLetterMessages))(
    '%s: came from a real subscription and still decodes as the deadletter function reads it',
    (_name, entry, example) => {
      const headers = example.headers ?? {};
      const source = headers[DeadLetterAttribute.sourceSubscription] ?? '';
      expect(pipeline.subscriptions.map((subscription) => subscription.name)).toContain(source.slice(source.lastIndexOf('/') + 1));
      const decoded = decodeDelivery(deliveryOf(entry, example), undefined);
      if (decoded.status !== 'event') throw new Error(`expected an event, got ${decoded.status}: ${decoded.reason}`);
      const result = validator.validate(decoded.event.type, decoded.event.data);
      expect(result.ok ? [] : result.issues).toEqual([]);
    },
  );
});

/* ------------------------------------------------------------------------------------------------------------
 * Step results: the source names the function that published the result, and the examples are what it sends.
 * ------------------------------------------------------------------------------------------------------------ */

type StepResult = StepCompleted | StepFailed;

function isDeadLettered(result: StepResult): boolean {
  return 'deadLettered' in result && result.deadLettered;
}

/** Functions subscribed to the topic whose delivery produces the result: dead letters, ingest (which runs the probe itself), or the step's work topic. */
function publishersOf(result: StepResult): string[] {
  const topic = isDeadLettered(result) ? config.topics.deadLetters : result.step === PROBE_STEP ? config.topics.ingestRequests : workTopic(config, result.step);
  return [...new Set(pipeline.subscriptions.filter((subscription) => subscription.topic === topic).map((subscription) => subscription.function))];
}

const stepResultExamples = examplesOf(stepResultMessages).map(
  ([name, _entry, example]) => [name, example.payload as StepResult, example.headers ?? {}] as const,
);

describe('asyncapi.yaml: step results name the function that published them', () => {
  const runtime = useUnwiredRuntime();

  it.each([
    ['a probe result, published by ingest', (result: StepResult) => result.step === PROBE_STEP && !isDeadLettered(result)],
    ['a worker result', (result: StepResult) => productionSteps.has(result.step) && !isDeadLettered(result)],
    ['a dead-lettered result', isDeadLettered],
  ])('has an example of %s', (_kind, matches) => {
    expect(stepResultExamples.filter(([, result]) => matches(result)).length).toBeGreaterThan(0);
  });

  it.each(stepResultExamples)('%s: ce-source is //mediaflow/<the function that published it>', (_name, result, headers) => {
    const publishers = publishersOf(result);
    expect(publishers).toHaveLength(1);
    expect(headers['ce-source']).toBe(`//mediaflow/${publishers[0]!}`);
  });

  it.each(stepResultExamples.filter(([, result]) => !isDeadLettered(result)))(
    '%s: is exactly what publishStepResult sends for that function',
    async (_name, result, headers) => {
      const sent: { topic: string; message: OutgoingMessage }[] = [];
      const deps = {
        ...runtime.deps(),
        bus: {
          publish: (topic: string, message: OutgoingMessage) => {
            sent.push({ topic, message });
            return Promise.resolve(String(sent.length));
          },
        },
        clock: { now: () => new Date(headers['ce-time'] ?? '') },
      };
      await publishStepResult(deps, publishersOf(result)[0]!, result);
      expect(
        sent.map(({ topic, message }) => ({ topic, attributes: message.attributes, payload: JSON.parse(message.data.toString('utf8')) as unknown })),
      ).toEqual([{ topic: config.topics.stepResults, attributes: headers, payload: result }]);
    },
  );
});

/* ------------------------------------------------------------------------------------------------------------
 * The validator itself, per event type: what it accepts, what it refuses and how it says so.
 * ------------------------------------------------------------------------------------------------------------ */

const assetId = 'mediaflow-ingest/photos/cat.jpg#1732312345678901';
const orderId = `${assetId}|checksum|0`;
const objectRef = { bucket: 'mediaflow-ingest', name: 'photos/cat.jpg', generation: '1732312345678901' };
const assetSource = { uri: 'gs://mediaflow-ingest/photos/cat.jpg', ...objectRef };
const shard = { index: 0, count: 1 };
const at = '2024-11-22T21:52:28.049Z';
const checksumType = workOrderType('checksum');
const packageType = workOrderType('hls-package');
/** A reprocess job and the output version its re-run steps write under (`r<recipe version>.<job>`). */
const reprocessJob = '20241123-4f7c1a';
const outputVersion = `r2.${reprocessJob}`;

/** The least each type accepts: only required fields. */
const minimalPayloads: Record<string, Json> = {
  [EventType.ingestRequested]: { partner: 'acme', idempotencyKey: 'order-8841-hero', source: { uri: 'gs://acme-media-exchange/orders/8841/hero.mp4' } },
  [EventType.objectFinalized]: { ...objectRef, size: 482113, origin: 'pubsub-notification' },
  [EventType.stepCompleted]: {
    orderId,
    assetId,
    step: 'checksum',
    shard,
    attempt: 1,
    startedAt: at,
    finishedAt: at,
    outputs: {},
    provenance: { recipeVersion: '1', tools: {} },
  },
  [EventType.stepFailed]: {
    orderId,
    assetId,
    step: 'checksum',
    shard,
    attempt: 1,
    failedAt: at,
    error: { code: 'INTEGRITY_MISMATCH', message: 'md5 differs' },
    deadLettered: false,
  },
  [EventType.assetReady]: { assetId, source: assetSource, kind: 'image', profile: 'default', steps: [], outputs: {}, readyAt: at },
  [EventType.assetFailed]: {
    assetId,
    source: assetSource,
    status: 'REJECTED',
    error: { step: 'probe', code: 'EMPTY_OBJECT', message: 'the object is empty (0 bytes)' },
    failedAt: at,
  },
  [EventType.assetUpdated]: {
    assetId,
    source: assetSource,
    kind: 'image',
    profile: 'default',
    steps: ['thumbnail'],
    outputs: {},
    reprocess: { job: reprocessJob, step: 'thumbnail', rerun: [{ step: 'thumbnail', recipeBefore: '1', recipeAfter: '2', outputVersion }] },
    updatedAt: at,
  },
  [checksumType]: { orderId, assetId, step: 'checksum', shard, source: objectRef, kind: 'image', profile: 'default', params: {}, issuedAt: at },
  // The media steps' params are too rich to restate here: their documented example (a real captured order) serves.
  ...Object.fromEntries(
    cloudEventMessages
      .filter((entry) => entry.ceType !== undefined && entry.ceType !== checksumType && stepOfWorkOrderType(entry.ceType) !== undefined)
      .map((entry) => [entry.ceType!, entry.message.examples![0]!.payload as Json]),
  ),
};

function minimal(type: string): Json {
  const payload = minimalPayloads[type];
  if (!payload) throw new Error(`no minimal payload for ${type}`);
  return structuredClone(payload);
}

/** A copy of the type's minimal payload with the value at a JSON Pointer replaced (or removed, for undefined). */
function variant(type: string, pointer: string, value: unknown): Json {
  const payload = minimal(type);
  const keys = pointer.split('/').slice(1);
  const last = keys.pop()!;
  let parent: Json = payload;
  for (const key of keys) parent = parent[key] as Json;
  if (value === undefined) delete parent[last];
  else parent[last] = value;
  return payload;
}

/** Required fields per type, read from the schema files so a new required field is covered without editing this test. */
function requiredFields(type: string): string[] {
  const file = stepOfWorkOrderType(type) ? 'com.mediaflow.work.requested.v1.json' : `${type}.json`;
  const schema = JSON.parse(readFileSync(path.join(schemasDir, file), 'utf8')) as { required?: string[] };
  return schema.required ?? [];
}

function expectDeepFrozen(value: unknown, at = '$'): void {
  if (value === null || typeof value !== 'object') return;
  expect(Object.isFrozen(value), `${at} is frozen`).toBe(true);
  for (const [key, child] of Object.entries(value)) expectDeepFrozen(child, `${at}.${key}`);
}

/** [type, variant, payload, nested objects that must come back frozen]: every minimal payload, plus full ones where the minimal has no nesting. */
const acceptedCases: [string, string, Json, string[]][] = [
  ...Object.keys(minimalPayloads).map((type): [string, string, Json, string[]] => {
    const payload = minimal(type);
    return [type, 'minimal', payload, Object.keys(payload).filter((key) => payload[key] !== null && typeof payload[key] === 'object')];
  }),
  [
    EventType.objectFinalized,
    'every optional field',
    {
      ...minimal(EventType.objectFinalized),
      metageneration: '1',
      contentType: 'image/jpeg',
      md5Hash: 'OMXtJGGBusxZ5e0hhomnVQ==',
      crc32c: 'Vga5qA==',
      timeCreated: '2024-11-22T21:52:25.678Z',
      updated: '2024-11-22T21:52:25.678Z',
      metadata: { 'mediaflow-profile': 'default' },
    },
    ['metadata'],
  ],
  [
    EventType.ingestRequested,
    'every optional field',
    {
      ...minimal(EventType.ingestRequested),
      source: { uri: 'gs://acme-media-exchange/orders/8841/hero.mp4', generation: '1732312400123456' },
      profile: 'default',
      correlationId: 'order-8841',
      metadata: { campaign: 'winter-2024' },
    },
    ['source', 'metadata'],
  ],
  [
    EventType.assetUpdated,
    'a step and its dependent re-run, one with no recipe recorded before, beside a step left as it was',
    {
      ...minimal(EventType.assetUpdated),
      source: { ...assetSource, partner: 'acme', idempotencyKey: 'order-8841-hero', correlationId: 'order-8841' },
      steps: ['checksum', 'thumbnail', 'tag'],
      outputs: {
        checksum: { sha256: '3d380e79ba3f344fb8451e4351dadfca9bf1e856b0fcd20b464708fc58f3340a', md5Hash: 'OMXtJGGBusxZ5e0hhomnVQ==', bytes: 482113 },
        thumbnail: { mode: 'image', derivatives: [{ uri: `gs://mediaflow-derivatives/a/thumbnail/${outputVersion}/v2/still-640.jpg` }] },
        tag: { aiGenerated: false, reason: 'vertex-not-configured', kind: 'image', signals: {} },
      },
      reprocess: {
        job: reprocessJob,
        step: 'thumbnail',
        rerun: [
          { step: 'thumbnail', recipeBefore: '1', recipeAfter: '2', outputVersion },
          { step: 'tag', recipeBefore: null, recipeAfter: '2', outputVersion },
        ],
      },
    },
    ['source', 'outputs', 'reprocess'],
  ],
  // Work orders and step results of a first run carry no output version (the minimal payloads above); a reprocess's do.
  [checksumType, 'a reprocess order: outputVersion, no inputVersions', { ...minimal(checksumType), outputVersion }, ['shard', 'source', 'params']],
  [
    packageType,
    'a reprocess order reading a reprocessed dependency by path: outputVersion and inputVersions',
    { ...minimal(packageType), outputVersion: `r3.${reprocessJob}`, inputVersions: { 'hls-segment': outputVersion } },
    ['shard', 'source', 'params', 'inputVersions'],
  ],
  [
    EventType.stepCompleted,
    "a reprocess result: the order's outputVersion echoed",
    { ...minimal(EventType.stepCompleted), outputVersion },
    ['shard', 'outputs', 'provenance'],
  ],
  [EventType.stepFailed, "a reprocess result: the order's outputVersion echoed", { ...minimal(EventType.stepFailed), outputVersion }, ['shard', 'error']],
];

interface InvalidCase {
  readonly name: string;
  readonly type: string;
  readonly payload: unknown;
  /** An issue must have this path and a message containing this text. */
  readonly path: string;
  readonly message: string;
  /** The issue is the only one, and its message is exactly this text. */
  readonly only?: true;
}

const missingRequired: InvalidCase[] = Object.keys(minimalPayloads).flatMap((type) =>
  requiredFields(type).map((field) => ({
    name: `missing required ${field}`,
    type,
    payload: variant(type, `/${field}`, undefined),
    path: `/${field}`,
    message: `must have required property '${field}'`,
    only: true,
  })),
);

const unexpectedProperty: InvalidCase[] = Object.keys(minimalPayloads).map((type) => ({
  name: 'unexpected top-level property',
  type,
  payload: variant(type, '/priority', 'high'),
  path: '/priority',
  message: "unexpected property 'priority'",
  only: true,
}));

const specificCases: InvalidCase[] = [
  {
    name: 'missing nested source.uri',
    type: EventType.ingestRequested,
    payload: variant(EventType.ingestRequested, '/source/uri', undefined),
    path: '/source/uri',
    message: "must have required property 'uri'",
    only: true,
  },
  {
    name: 'unexpected nested property',
    type: EventType.ingestRequested,
    payload: variant(EventType.ingestRequested, '/source/size', 10),
    path: '/source/size',
    message: "unexpected property 'size'",
    only: true,
  },
  {
    name: 'https instead of gs:// uri',
    type: EventType.ingestRequested,
    payload: variant(EventType.ingestRequested, '/source/uri', 'https://storage.googleapis.com/acme-media-exchange/hero.mp4'),
    path: '/source/uri',
    message: 'must match pattern',
  },
  {
    name: 'gs:// uri without an object',
    type: EventType.ingestRequested,
    payload: variant(EventType.ingestRequested, '/source/uri', 'gs://acme-media-exchange/'),
    path: '/source/uri',
    message: 'must match pattern',
  },
  {
    name: 'gs:// uri with an invalid bucket',
    type: EventType.ingestRequested,
    payload: variant(EventType.ingestRequested, '/source/uri', 'gs://Acme_Media/hero.mp4'),
    path: '/source/uri',
    message: 'must match pattern',
  },
  {
    name: 'generation as a number',
    type: EventType.ingestRequested,
    payload: variant(EventType.ingestRequested, '/source/generation', 1732312400123456),
    path: '/source/generation',
    message: 'must be string',
  },
  {
    name: 'partner name with capitals',
    type: EventType.ingestRequested,
    payload: variant(EventType.ingestRequested, '/partner', 'ACME'),
    path: '/partner',
    message: 'must match pattern',
  },
  {
    name: 'metadata value not a string',
    type: EventType.ingestRequested,
    payload: variant(EventType.ingestRequested, '/metadata', { priority: 1 }),
    path: '/metadata/priority',
    message: 'must be string',
  },
  {
    name: 'generation as a number',
    type: EventType.objectFinalized,
    payload: variant(EventType.objectFinalized, '/generation', 1732312345678901),
    path: '/generation',
    message: 'must be string',
  },
  {
    name: 'size as the JSON API string',
    type: EventType.objectFinalized,
    payload: variant(EventType.objectFinalized, '/size', '482113'),
    path: '/size',
    message: 'must be integer',
  },
  {
    name: 'unknown origin',
    type: EventType.objectFinalized,
    payload: variant(EventType.objectFinalized, '/origin', 'upload'),
    path: '/origin',
    message: 'must be equal to one of the allowed values',
  },
  {
    name: 'attempt as a string',
    type: EventType.stepCompleted,
    payload: variant(EventType.stepCompleted, '/attempt', '1'),
    path: '/attempt',
    message: 'must be integer',
  },
  { name: 'attempt 0', type: EventType.stepCompleted, payload: variant(EventType.stepCompleted, '/attempt', 0), path: '/attempt', message: 'must be >= 1' },
  {
    name: 'negative shard index',
    type: EventType.stepCompleted,
    payload: variant(EventType.stepCompleted, '/shard/index', -1),
    path: '/shard/index',
    message: 'must be >= 0',
  },
  {
    name: 'timestamp not RFC 3339',
    type: EventType.stepCompleted,
    payload: variant(EventType.stepCompleted, '/finishedAt', '22/11/2024 21:52'),
    path: '/finishedAt',
    message: 'must match format "date-time"',
  },
  {
    name: 'deadLettered as a string',
    type: EventType.stepFailed,
    payload: variant(EventType.stepFailed, '/deadLettered', 'false'),
    path: '/deadLettered',
    message: 'must be boolean',
  },
  {
    name: 'lower-case error code',
    type: EventType.stepFailed,
    payload: variant(EventType.stepFailed, '/error/code', 'integrity_mismatch'),
    path: '/error/code',
    message: 'must match pattern',
  },
  {
    name: 'steps not an array',
    type: EventType.assetReady,
    payload: variant(EventType.assetReady, '/steps', 'checksum'),
    path: '/steps',
    message: 'must be array',
  },
  {
    name: 'generation as a number',
    type: EventType.assetReady,
    payload: variant(EventType.assetReady, '/source/generation', 1732312345678901),
    path: '/source/generation',
    message: 'must be string',
  },
  {
    name: 'unknown kind',
    type: EventType.assetReady,
    payload: variant(EventType.assetReady, '/kind', 'document'),
    path: '/kind',
    message: 'must be equal to one of the allowed values',
  },
  {
    name: 'status READY',
    type: EventType.assetFailed,
    payload: variant(EventType.assetFailed, '/status', 'READY'),
    path: '/status',
    message: 'must be equal to one of the allowed values',
  },
  {
    name: 'error without a step',
    type: EventType.assetFailed,
    payload: variant(EventType.assetFailed, '/error/step', undefined),
    path: '/error/step',
    message: "must have required property 'step'",
    only: true,
  },
  {
    name: 'nothing re-run (empty rerun)',
    type: EventType.assetUpdated,
    payload: variant(EventType.assetUpdated, '/reprocess/rerun', []),
    path: '/reprocess/rerun',
    message: 'must NOT have fewer than 1 items',
    only: true,
  },
  {
    name: 'an output version with a slash',
    type: EventType.assetUpdated,
    payload: variant(EventType.assetUpdated, '/reprocess/rerun/0/outputVersion', `r2/${reprocessJob}`),
    path: '/reprocess/rerun/0/outputVersion',
    message: 'must match pattern',
  },
  {
    name: 'a re-run step without its output version',
    type: EventType.assetUpdated,
    payload: variant(EventType.assetUpdated, '/reprocess/rerun/0/outputVersion', undefined),
    path: '/reprocess/rerun/0/outputVersion',
    message: "must have required property 'outputVersion'",
    only: true,
  },
  {
    name: 'no recipe after the re-run',
    type: EventType.assetUpdated,
    payload: variant(EventType.assetUpdated, '/reprocess/rerun/0/recipeAfter', null),
    path: '/reprocess/rerun/0/recipeAfter',
    message: 'must be string',
  },
  {
    name: 'reprocess without a job',
    type: EventType.assetUpdated,
    payload: variant(EventType.assetUpdated, '/reprocess/job', undefined),
    path: '/reprocess/job',
    message: "must have required property 'job'",
    only: true,
  },
  {
    name: 'an empty job id',
    type: EventType.assetUpdated,
    payload: variant(EventType.assetUpdated, '/reprocess/job', ''),
    path: '/reprocess/job',
    message: 'must NOT have fewer than 1 characters',
  },
  {
    name: 'unexpected property in a rerun entry',
    type: EventType.assetUpdated,
    payload: variant(EventType.assetUpdated, '/reprocess/rerun/0/outputs', {}),
    path: '/reprocess/rerun/0/outputs',
    message: "unexpected property 'outputs'",
    only: true,
  },
  {
    name: 'an output that is not an object',
    type: EventType.assetUpdated,
    payload: variant(EventType.assetUpdated, '/outputs', { thumbnail: 'gs://mediaflow-derivatives/a/thumbnail' }),
    path: '/outputs/thumbnail',
    message: 'must be object',
  },
  {
    name: 'generation as a number',
    type: checksumType,
    payload: variant(checksumType, '/source/generation', 1732312345678901),
    path: '/source/generation',
    message: 'must be string',
  },
  {
    name: 'another step in a checksum order',
    type: checksumType,
    payload: variant(checksumType, '/step', 'probe'),
    path: '/step',
    message: 'must be equal to constant',
  },
  {
    name: 'params the checksum step does not take',
    type: checksumType,
    payload: variant(checksumType, '/params', { algorithm: 'sha1' }),
    path: '/params/algorithm',
    message: "unexpected property 'algorithm'",
    only: true,
  },
  {
    name: 'expectedMd5Hash as a number',
    type: checksumType,
    payload: variant(checksumType, '/params', { expectedMd5Hash: 42 }),
    path: '/params/expectedMd5Hash',
    message: 'must be string',
  },
  // An output version becomes one path segment of the derivatives' names: a slash, `..` or an overlong one is refused.
  ...(
    [
      ['with a slash', `r2/${reprocessJob}`],
      ['of `..`', '..'],
      ['empty', ''],
      ['longer than 64 characters', `r2.${'x'.repeat(62)}`],
    ] as const
  ).map(([what, value]) => ({
    name: `outputVersion ${what}`,
    type: checksumType,
    payload: variant(checksumType, '/outputVersion', value),
    path: '/outputVersion',
    message: 'must match pattern',
  })),
  {
    name: 'an input version with a slash',
    type: packageType,
    payload: { ...minimal(packageType), outputVersion, inputVersions: { 'hls-segment': `r2.${reprocessJob}/../..` } },
    path: '/inputVersions/hls-segment',
    message: 'must match pattern',
  },
  {
    name: 'input versions keyed by something other than a step name',
    type: packageType,
    payload: { ...minimal(packageType), outputVersion, inputVersions: { 'HLS segment': outputVersion } },
    path: '/inputVersions',
    message: 'property name must be valid',
  },
  {
    name: 'outputVersion with a slash',
    type: EventType.stepCompleted,
    payload: variant(EventType.stepCompleted, '/outputVersion', `r2/${reprocessJob}`),
    path: '/outputVersion',
    message: 'must match pattern',
  },
  {
    name: 'outputVersion with a slash',
    type: EventType.stepFailed,
    payload: variant(EventType.stepFailed, '/outputVersion', `r2/${reprocessJob}`),
    path: '/outputVersion',
    message: 'must match pattern',
  },
  { name: 'payload not an object', type: EventType.assetReady, payload: [minimal(EventType.assetReady)], path: '/', message: 'must be object' },
  {
    name: 'unknown event type',
    type: 'com.mediaflow.asset.deleted.v1',
    payload: minimal(EventType.assetReady),
    path: '',
    message: "unknown event type 'com.mediaflow.asset.deleted.v1'",
  },
  { name: 'work order of an unregistered step', type: workOrderType('transcode'), payload: minimal(checksumType), path: '', message: 'unknown event type' },
  { name: 'the shared work order base type', type: 'com.mediaflow.work.requested.v1', payload: minimal(checksumType), path: '', message: 'unknown event type' },
];

describe('EventValidator: per event type', () => {
  it('has a minimal payload for every known type', () => {
    expect(Object.keys(minimalPayloads).sort()).toEqual(validator.knownTypes());
  });

  it.each(acceptedCases)('%s (%s) is accepted and returned as a deep-frozen copy', (type, _variant, input, nestedKeys) => {
    const result = validator.validate(type, input);
    if (!result.ok) throw new Error(`rejected: ${JSON.stringify(result.issues)}`);
    expect(result.value).toEqual(input);
    expect(result.value).not.toBe(input);
    expect(Object.isFrozen(input)).toBe(false);
    expect(Object.isFrozen(result.value)).toBe(true);
    for (const key of nestedKeys) {
      const child = (result.value as Json)[key];
      expect(child, key).toBeTypeOf('object');
      expect(Object.isFrozen(child), `${key} is frozen`).toBe(true);
    }
    expectDeepFrozen(result.value);
  });

  it.each([...missingRequired, ...unexpectedProperty, ...specificCases].map((c) => [`${c.type}: ${c.name}`, c] as const))(
    '%s is rejected',
    (_name, testCase) => {
      const result = validator.validate(testCase.type, testCase.payload);
      expect(result.ok).toBe(false);
      if (result.ok) return;
      if (testCase.only) {
        expect(result.issues).toEqual([{ path: testCase.path, message: testCase.message }]);
        return;
      }
      const named = result.issues.some((issue) => issue.path === testCase.path && issue.message.includes(testCase.message));
      expect(named, `an issue at '${testCase.path}' saying "${testCase.message}" among ${JSON.stringify(result.issues)}`).toBe(true);
    },
  );
});
