/**
 * What really reaches a mediaflow function on Cloud Run: HTTP requests in the shapes Eventarc and Pub/Sub push
 * send, through functions-framework's own body parsers and event middleware (getTestServer is the framework's
 * real express app), then deliveryFromCloudEvent and decodeDelivery. delivery-forms.test.ts starts from a
 * Delivery; this file starts one layer earlier, because the framework rewrites or drops parts of some bodies
 * before our code sees them, and the ack/retry contract is an HTTP status, not a resolved promise.
 *
 * Payload shapes follow cloud.google.com/storage/docs/pubsub-notifications, cloud.google.com/pubsub/docs/push
 * and the functions-framework conformance inputs (storage-cloudevent-input.json, pubsub_text-cloudevent-input.json).
 */
import * as functions from '@google-cloud/functions-framework';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventType, EventValidator } from '../../events/catalog.ts';
import { ingestFunction } from '../../functions/ingest/run.ts';
import { productionSteps } from '../../functions/registry.ts';
import { loadConfig } from '../../shared/config/config.ts';
import { documentId, partnerAssetId } from '../../shared/domain/asset-id.ts';
import type { DocumentStore } from '../../shared/ports/document-store.ts';
import type { BlobStore } from '../../shared/ports/blob-store.ts';
import type { Delivery } from '../../shared/ports/bus.ts';
import { deliveryFromCloudEvent, PUBSUB_MESSAGE_PUBLISHED, type FrameworkCloudEvent } from '../../shared/runtime/cloud-event.ts';
import { decodeDelivery, eventarcFinalizedType, type Decoded, type RawEvent } from '../../shared/runtime/decode.ts';
import type { Deps } from '../../shared/runtime/deps.ts';
import { failurePath } from '../../shared/runtime/handler.ts';
import { registerCloudEventFunctions } from '../../shared/runtime/register.ts';
import { useFrameworkServers } from '../support/framework-servers.ts';
import { startTestRuntime, type TestRuntime } from '../support/embedded.ts';

const { topics } = loadConfig({});
const project = 'mediaflow-prod';
const uploadsTopic = topics.uploads;
const ingestRequestsTopic = topics.ingestRequests;
const validator = new EventValidator(new Map([...productionSteps.values()].map((step) => [step.name, step.paramsSchema])));

/* ------------------------------------------------------------------------------------------------------------
 * HTTP plumbing: one framework test server per registered function, spoken to with plain fetch.
 * ------------------------------------------------------------------------------------------------------------ */

interface HttpForm {
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: unknown;
}

const { serve } = useFrameworkServers();

async function post(base: string, form: HttpForm): Promise<Response> {
  const response = await fetch(`${base}${form.path}`, { method: 'POST', headers: form.headers, body: JSON.stringify(form.body) });
  // Drain the body so keep-alive sockets are released before the servers close.
  await response.text();
  return response;
}

/* ------------------------------------------------------------------------------------------------------------
 * One upload, photos/cat.jpg generation 1732312345678901, in every wrapper GCP can deliver it in.
 * ------------------------------------------------------------------------------------------------------------ */

const bucket = 'mediaflow-ingest';
const name = 'photos/cat.jpg';
const generation = '1732312345678901';
const written = '2024-11-22T21:52:25.678Z';
const md5Hash = 'OMXtJGGBusxZ5e0hhomnVQ==';
const messageId = '12842916728413009';
const publishTime = '2024-11-22T21:52:26.034Z';
const pushSubscription = `projects/${project}/subscriptions/ingest--${uploadsTopic}`;
const eventarcSubscription = `projects/${project}/subscriptions/eventarc-europe-west1-ingest-417-sub-903`;
const eventarcStorageId = '12842916728413117';

/** The JSON API object resource: Eventarc's storage event data and the JSON_API_V1 notification's payload. */
const objectResource = {
  kind: 'storage#object',
  id: `${bucket}/${name}/${generation}`,
  selfLink: `https://www.googleapis.com/storage/v1/b/${bucket}/o/photos%2Fcat.jpg`,
  mediaLink: `https://storage.googleapis.com/download/storage/v1/b/${bucket}/o/photos%2Fcat.jpg?generation=${generation}&alt=media`,
  name,
  bucket,
  generation,
  metageneration: '1',
  contentType: 'image/jpeg',
  timeCreated: written,
  updated: written,
  storageClass: 'STANDARD',
  timeStorageClassUpdated: written,
  size: '482113',
  md5Hash,
  crc32c: 'Vga5qA==',
  etag: 'CLXm4Z3P3fkCEAE=',
  metadata: { 'mediaflow-profile': 'default' },
};

const notificationAttributes = {
  notificationConfig: `projects/_/buckets/${bucket}/notificationConfigs/7`,
  eventType: 'OBJECT_FINALIZE',
  payloadFormat: 'JSON_API_V1',
  bucketId: bucket,
  objectId: name,
  objectGeneration: generation,
  eventTime: written,
};

function base64Json(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64');
}

/** A PubsubMessage as push writes it: both spellings of id and publish time. */
function pushMessage(attributes: Record<string, string>, data: string | undefined, id = messageId): Record<string, unknown> {
  return { attributes, ...(data === undefined ? {} : { data }), messageId: id, message_id: id, publishTime, publish_time: publishTime };
}

/** Pub/Sub adds deliveryAttempt to a push body when the subscription has a dead-letter policy, as mediaflow's do. */
function rawPush(path: string, message: Record<string, unknown>, deliveryAttempt = 4): HttpForm {
  return { path, headers: { 'content-type': 'application/json' }, body: { message, subscription: pushSubscription, deliveryAttempt } };
}

const storageCeAttributes = {
  specversion: '1.0',
  type: eventarcFinalizedType,
  source: `//storage.googleapis.com/projects/_/buckets/${bucket}`,
  subject: `objects/${name}`,
  id: eventarcStorageId,
  time: written,
  bucket,
};

const pubsubCeAttributes = {
  specversion: '1.0',
  type: PUBSUB_MESSAGE_PUBLISHED,
  source: `//pubsub.googleapis.com/projects/${project}/topics/${uploadsTopic}`,
  id: messageId,
  time: publishTime,
};

function binaryCloudEvent(attributes: Record<string, string>, data: unknown): HttpForm {
  const headers = Object.fromEntries(Object.entries(attributes).map(([key, value]) => [`ce-${key}`, value]));
  return { path: '/', headers: { 'content-type': 'application/json', ...headers }, body: data };
}

function structuredCloudEvent(attributes: Record<string, string>, data: unknown): HttpForm {
  return { path: '/', headers: { 'content-type': 'application/cloudevents+json' }, body: { ...attributes, datacontenttype: 'application/json', data } };
}

const notificationMessage = pushMessage(notificationAttributes, base64Json(objectResource));
const topicPath = (topic: string): string => `/projects/${project}/topics/${topic}`;

/* ------------------------------------------------------------------------------------------------------------
 * A recorder registered as a cloudEvent function: what the framework handed over, and what we made of it.
 * ------------------------------------------------------------------------------------------------------------ */

interface Recorded {
  readonly event: FrameworkCloudEvent;
  readonly delivery: Delivery;
  readonly decoded: Decoded;
}

const recorded: Recorded[] = [];
const RECORDER = 'http-forms-recorder';

functions.cloudEvent(RECORDER, (event: functions.CloudEvent<unknown>) => {
  const frameworkEvent = event as unknown as FrameworkCloudEvent;
  const delivery = deliveryFromCloudEvent(frameworkEvent);
  // ingest's own rule: a bare payload means an ingest request only on the ingest-requests topic.
  const defaultType = delivery.topic === ingestRequestsTopic ? EventType.ingestRequested : undefined;
  recorded.push({ event: frameworkEvent, delivery, decoded: decodeDelivery(delivery, defaultType) });
});

let recorderUrl: string;
beforeAll(async () => {
  recorderUrl = await serve(RECORDER);
});

async function deliver(form: HttpForm): Promise<Recorded> {
  recorded.length = 0;
  const response = await post(recorderUrl, form);
  expect(response.status).toBe(204);
  expect(recorded).toHaveLength(1);
  return recorded[0] as Recorded;
}

/** Table titles: vitest cuts `$field` values at 40 characters, while `%s` prints the whole title. */
function titled<T extends { readonly title: string }>(rows: readonly T[]): (readonly [string, T])[] {
  return rows.map((row) => [row.title, row] as const);
}

function eventOf(decoded: Decoded): RawEvent {
  if (decoded.status !== 'event') throw new Error(`expected an event, got ${decoded.status}: ${decoded.reason}`);
  return decoded.event;
}

/** The normalized event every form of the upload must become; only data.origin tells the wrappers apart. */
function finalizedEvent(origin: 'eventarc' | 'pubsub-notification'): RawEvent {
  return {
    id: `${bucket}/${name}#${generation}`,
    source: `//storage.googleapis.com/projects/_/buckets/${bucket}`,
    type: EventType.objectFinalized,
    subject: `objects/${name}`,
    time: written,
    data: {
      bucket,
      name,
      generation,
      metageneration: '1',
      size: 482113,
      contentType: 'image/jpeg',
      md5Hash,
      crc32c: 'Vga5qA==',
      timeCreated: written,
      updated: written,
      metadata: { 'mediaflow-profile': 'default' },
      origin,
    },
  };
}

interface UploadForm {
  readonly title: string;
  readonly request: HttpForm;
  readonly origin: 'eventarc' | 'pubsub-notification';
  readonly messageId: string;
  readonly publishTime: string;
  readonly topic: string;
  readonly subscription: string;
  /** Pub/Sub forms carry the notification's attributes; Eventarc's storage event carries CloudEvent attributes. */
  readonly attributes: Record<string, string>;
}

const eventarcAttributes = {
  'ce-specversion': '1.0',
  'ce-type': eventarcFinalizedType,
  'ce-source': storageCeAttributes.source,
  'ce-subject': storageCeAttributes.subject,
  'ce-id': eventarcStorageId,
  'ce-time': written,
};

const uploadForms: UploadForm[] = [
  {
    title: 'Eventarc storage finalized, binary mode',
    request: binaryCloudEvent(storageCeAttributes, objectResource),
    origin: 'eventarc',
    messageId: eventarcStorageId,
    publishTime: written,
    topic: '',
    subscription: 'eventarc',
    // The framework builds binary-mode context from ce-* headers only, so content-type is not among them.
    attributes: eventarcAttributes,
  },
  {
    title: 'Eventarc storage finalized, structured mode',
    request: structuredCloudEvent(storageCeAttributes, objectResource),
    origin: 'eventarc',
    messageId: eventarcStorageId,
    publishTime: written,
    topic: '',
    subscription: 'eventarc',
    attributes: { ...eventarcAttributes, 'content-type': 'application/json' },
  },
  {
    // The framework rebuilds this body as a messagePublished CloudEvent and keeps only message data, attributes,
    // id and publish time: the push body's subscription and deliveryAttempt are dropped, hence '' and 0 (unknown).
    title: 'GCS notification in a raw push to /projects/P/topics/T',
    request: rawPush(topicPath(uploadsTopic), notificationMessage),
    origin: 'pubsub-notification',
    messageId,
    publishTime,
    topic: uploadsTopic,
    subscription: '',
    attributes: notificationAttributes,
  },
  {
    title: 'GCS notification in a raw push to / (no topic in the path)',
    request: rawPush('/', notificationMessage),
    origin: 'pubsub-notification',
    messageId,
    publishTime,
    topic: '',
    subscription: '',
    attributes: notificationAttributes,
  },
  {
    title: 'GCS notification in a messagePublished CloudEvent, binary mode',
    request: binaryCloudEvent(pubsubCeAttributes, { message: notificationMessage, subscription: eventarcSubscription }),
    origin: 'pubsub-notification',
    messageId,
    publishTime,
    topic: uploadsTopic,
    subscription: 'eventarc-europe-west1-ingest-417-sub-903',
    attributes: notificationAttributes,
  },
  {
    title: 'GCS notification in a messagePublished CloudEvent, structured mode',
    request: structuredCloudEvent(pubsubCeAttributes, { message: notificationMessage, subscription: eventarcSubscription }),
    origin: 'pubsub-notification',
    messageId,
    publishTime,
    topic: uploadsTopic,
    subscription: 'eventarc-europe-west1-ingest-417-sub-903',
    attributes: notificationAttributes,
  },
];

describe('one upload, every HTTP form: the same normalized event', () => {
  it.each(titled(uploadForms))('%s', async (_title, row) => {
    const { delivery, decoded } = await deliver(row.request);
    const event = eventOf(decoded);
    expect(event).toEqual(finalizedEvent(row.origin));
    expect(validator.validate(event.type, event.data).ok).toBe(true);
    expect(delivery).toMatchObject({ messageId: row.messageId, topic: row.topic, subscription: row.subscription, deliveryAttempt: 0 });
    expect(delivery.attributes).toEqual(row.attributes);
    expect(delivery.publishTime.toISOString()).toBe(row.publishTime);
  });
});

describe('the push URL is the only place a raw push names its topic', () => {
  const request = { partner: 'acme', idempotencyKey: 'order-8841-hero', source: { uri: 'gs://partner-drop/acme/hero.mp4' } };
  const bare = pushMessage({}, base64Json(request), '9001');
  const typed: Decoded = {
    status: 'event',
    event: { id: '9001', source: `//pubsub.googleapis.com/topics/${ingestRequestsTopic}`, type: EventType.ingestRequested, data: request },
  };
  it.each(
    titled([
      {
        title: 'raw push to the ingest-requests topic path',
        request: rawPush(topicPath(ingestRequestsTopic), bare),
        topic: ingestRequestsTopic,
        decoded: typed,
      },
      {
        title: 'messagePublished CloudEvent from the ingest-requests topic',
        request: binaryCloudEvent(
          { ...pubsubCeAttributes, source: `//pubsub.googleapis.com/projects/${project}/topics/${ingestRequestsTopic}` },
          { message: bare, subscription: eventarcSubscription },
        ),
        topic: ingestRequestsTopic,
        decoded: typed,
      },
      // Without the path the bare payload cannot be typed: refused with a reason, not guessed.
      {
        title: 'raw push to /',
        request: rawPush('/', bare),
        topic: '',
        decoded: { status: 'invalid', reason: 'message is not a CloudEvent and this subscription has no default type' },
      },
    ]),
  )('%s', async (_title, row) => {
    const { delivery, decoded } = await deliver(row.request);
    expect(delivery.topic).toBe(row.topic);
    expect(decoded).toEqual(row.decoded);
  });
});

describe('a push whose message has no data (GCS notification, payloadFormat NONE)', () => {
  const noneAttributes = { ...notificationAttributes, payloadFormat: 'NONE' };
  it.each(
    titled([
      { title: 'data omitted, pushed to the topic path', request: rawPush(topicPath(uploadsTopic), pushMessage(noneAttributes, undefined), 2) },
      { title: "data '', pushed to /", request: rawPush('/', pushMessage(noneAttributes, ''), 3) },
    ]),
  )('%s: reaches the function untouched and is refused with a reason', async (_title, row) => {
    const { event, delivery, decoded } = await deliver(row.request);
    // The framework converts a push only when message.data is truthy; otherwise the function gets the raw body.
    expect(event.type).toBeUndefined();
    expect(event).toEqual(row.request.body);
    const { deliveryAttempt } = row.request.body as { deliveryAttempt: number };
    // Untouched bodies keep subscription and deliveryAttempt, but the URL is never consulted, so no topic.
    expect(delivery).toMatchObject({ messageId, topic: '', subscription: `ingest--${uploadsTopic}`, deliveryAttempt, attributes: noneAttributes });
    expect(delivery.data).toHaveLength(0);
    expect(decoded).toEqual({ status: 'invalid', reason: "storage notification payloadFormat 'NONE' carries no object resource; configure JSON_API_V1" });
  });
});

/* ------------------------------------------------------------------------------------------------------------
 * The real ingest edge behind the framework: HTTP status is the ack (2xx) or the nack (anything else).
 * ------------------------------------------------------------------------------------------------------------ */

describe('ingest over HTTP: ack and retry', () => {
  let runtime: TestRuntime;
  let ingestUrl: string;
  const faultUrls = new Map<string, string>();

  function partnerEvent(key: string, uri: string, id = `push-${key}`): HttpForm {
    const attributes = { 'ce-specversion': '1.0', 'ce-type': EventType.ingestRequested, 'ce-id': key, 'ce-source': '//partners/acme' };
    return rawPush(topicPath(ingestRequestsTopic), pushMessage(attributes, base64Json({ partner: 'acme', idempotencyKey: key, source: { uri } }), id));
  }

  function rejection(pushId: string): Promise<{ reason: string; topic: string; errors: { path: string; message: string }[] } | undefined> {
    return runtime.store.get(`rejections/${documentId(`ingest:${pushId}`)}`);
  }

  function failingBlobStat(blobs: BlobStore): BlobStore {
    return new Proxy(blobs, {
      get: (target, property, receiver) =>
        property === 'stat' ? () => Promise.reject(new Error('storage.googleapis.com: socket hang up')) : (Reflect.get(target, property, receiver) as unknown),
    });
  }

  function unreachableStore(store: DocumentStore): DocumentStore {
    return new Proxy(store, { get: () => () => Promise.reject(new Error('firestore.googleapis.com: 14 UNAVAILABLE')) });
  }

  async function postTwice(request: HttpForm, concurrent: boolean): Promise<number[]> {
    if (concurrent) return (await Promise.all([post(ingestUrl, request), post(ingestUrl, request)])).map((response) => response.status);
    const first = await post(ingestUrl, request);
    // A redelivery after the first attempt's work is done: it must find the asset and change nothing.
    await runtime.idle();
    const second = await post(ingestUrl, request);
    return [first.status, second.status];
  }

  const faults = [
    {
      title: 'the blob store fails reading the partner source',
      functionName: 'ingest-blob-outage',
      deps: (deps: Deps): Deps => ({ ...deps, blobs: failingBlobStat(deps.blobs) }),
      failureRecorded: true,
    },
    {
      title: 'the document store is unreachable',
      functionName: 'ingest-store-outage',
      deps: (deps: Deps): Deps => ({ ...deps, store: unreachableStore(deps.store) }),
      failureRecorded: false,
    },
  ];

  beforeAll(async () => {
    runtime = await startTestRuntime();
    registerCloudEventFunctions([ingestFunction], async () => runtime.deps);
    ingestUrl = await serve(ingestFunction.name);
    for (const { functionName, deps } of faults) {
      // Same edge and handler, another registry name: the framework registry is one map per process.
      registerCloudEventFunctions([{ ...ingestFunction, name: functionName }], async () => deps(runtime.deps));
      faultUrls.set(functionName, await serve(functionName));
    }
  });

  afterAll(async () => {
    await runtime.dispose();
  });

  const malformed = { partner: 'acme', source: { uri: 'gs://partner-drop/acme/x.jpg' } };
  it.each(
    titled([
      {
        title: 'a malformed partner event pushed to the ingest-requests topic path',
        request: rawPush(topicPath(ingestRequestsTopic), pushMessage({}, base64Json(malformed), 'bad-1')),
        pushId: 'bad-1',
        topic: ingestRequestsTopic,
        error: "must have required property 'idempotencyKey'",
      },
      {
        title: 'the same malformed event pushed to / (no topic, so no default type)',
        request: rawPush('/', pushMessage({}, base64Json(malformed), 'bad-2')),
        pushId: 'bad-2',
        topic: '',
        error: 'message is not a CloudEvent and this subscription has no default type',
      },
      {
        title: 'a GCS notification without data (payloadFormat NONE)',
        request: rawPush(topicPath(uploadsTopic), pushMessage({ ...notificationAttributes, payloadFormat: 'NONE' }, undefined, 'bad-3')),
        pushId: 'bad-3',
        topic: '',
        error: "payloadFormat 'NONE' carries no object resource",
      },
    ]),
  )('%s → 204 and a rejection document', async (_title, row) => {
    const response = await post(ingestUrl, row.request);
    expect(response.status).toBe(204);
    const recordedRejection = await rejection(row.pushId);
    expect(recordedRejection).toMatchObject({ reason: 'INVALID_EVENT', topic: row.topic });
    expect(recordedRejection?.errors.map((error) => error.message).join('\n')).toContain(row.error);
  });

  it('a valid partner event for an object that does not exist → 204, and the asset ends FAILED (SOURCE_NOT_FOUND)', async () => {
    const response = await post(ingestUrl, partnerEvent('ghost', 'gs://partner-drop/acme/ghost.jpg'));
    expect(response.status).toBe(204);
    await runtime.idle();
    expect(await runtime.asset(partnerAssetId('acme', 'ghost'))).toMatchObject({ status: 'FAILED', error: { step: 'probe', code: 'SOURCE_NOT_FOUND' } });
  });

  it.each(titled(faults))('%s → 500, so Pub/Sub redelivers', async (_title, { functionName, failureRecorded }) => {
    const key = `transient-${functionName}`;
    const url = faultUrls.get(functionName) ?? '';
    const first = await post(url, partnerEvent(key, 'gs://partner-drop/acme/later.jpg'));
    expect(first.status).toBe(500);
    expect(first.headers.get('x-google-status')).toBe('error');
    const failure = await runtime.store.get<{ attempt: number; message: string }>(failurePath('ingest', key));
    expect(failure !== undefined).toBe(failureRecorded);
    if (failureRecorded) {
      // The framework never passes deliveryAttempt on, so the edge counts attempts from its own failure record.
      expect(failure).toMatchObject({ attempt: 1, message: expect.stringContaining('socket hang up') as unknown });
      expect((await post(url, partnerEvent(key, 'gs://partner-drop/acme/later.jpg'))).status).toBe(500);
      expect(await runtime.store.get(failurePath('ingest', key))).toMatchObject({ attempt: 2 });
    }
    expect(await runtime.asset(partnerAssetId('acme', key))).toBeUndefined();
  });

  it.each(
    titled([
      { title: 'one after the other', key: 'dup-sequential', concurrent: false },
      { title: 'at the same time', key: 'dup-concurrent', concurrent: true },
    ]),
  )('the same push body POSTed twice, %s → both 204, one asset', async (_title, { key, concurrent }) => {
    const request = partnerEvent(key, `gs://partner-drop/acme/${key}.jpg`);
    const id = partnerAssetId('acme', key);
    const before = await runtime.store.count('assets');
    const statuses = await postTwice(request, concurrent);
    await runtime.idle();
    expect(statuses).toEqual([204, 204]);
    expect(await runtime.store.count('assets')).toBe(before + 1);
    expect(await runtime.asset(id)).toMatchObject({ status: 'FAILED', error: { code: 'SOURCE_NOT_FOUND' } });
    expect(runtime.assetEvents.filter((event) => event.attributes['ce-subject'] === id)).toHaveLength(1);
  });
});
