/**
 * Every wire form a mediaflow function can be handed, decoded by decodeDelivery. The point of the decoder is
 * that forms carrying the same fact become the same event, so partners may pick a form and handlers never see
 * which one arrived; and that a malformed message is refused with a reason an operator can act on.
 */
import { describe, expect, it } from 'vitest';
import { EventType, EventValidator } from '../../events/catalog.ts';
import { ingestFunction } from '../../functions/ingest/run.ts';
import { productionSteps } from '../../functions/registry.ts';
import { finalizeNotification } from '../../shared/runtime/storage-notification.ts';
import { loadConfig } from '../../shared/config/config.ts';
import type { BlobMetadata } from '../../shared/ports/blob-store.ts';
import type { Delivery, OutgoingMessage } from '../../shared/ports/bus.ts';
import { decodeDelivery, type Decoded, type RawEvent } from '../../shared/runtime/decode.ts';
import { useUnwiredRuntime } from '../support/embedded.ts';
import type { StorageOrigin } from '../../shared/runtime/storage-object.ts';

const validator = new EventValidator(new Map([...productionSteps.values()].map((step) => [step.name, step.paramsSchema])));

const { topics } = loadConfig({});
const uploadsTopic = topics.uploads;
const ingestRequestsTopic = topics.ingestRequests;
const assetEventsTopic = topics.assetEvents;

function delivery(message: OutgoingMessage, topic: string, overrides: Partial<Delivery> = {}): Delivery {
  return {
    messageId: '12842916728413009',
    publishTime: new Date('2024-11-22T21:52:25.912Z'),
    data: message.data,
    attributes: message.attributes,
    deliveryAttempt: 1,
    subscription: `ingest--${topic}`,
    topic,
    ...overrides,
  };
}

function json(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}

function eventOf(decoded: Decoded): RawEvent {
  if (decoded.status !== 'event') throw new Error(`expected an event, got ${decoded.status}: ${decoded.reason}`);
  return decoded.event;
}

function expectDeepFrozen(value: unknown, at = '$'): void {
  if (value === null || typeof value !== 'object') return;
  expect(Object.isFrozen(value), `${at} is frozen`).toBe(true);
  for (const [key, child] of Object.entries(value)) expectDeepFrozen(child, `${at}.${key}`);
}

/* ------------------------------------------------------------------------------------------------------------
 * (a)–(c) Cloud Storage notifications, payloadFormat JSON_API_V1.
 * ------------------------------------------------------------------------------------------------------------ */

const bucket = 'mediaflow-ingest';
const name = 'photos/cat.jpg';
const generation = '1732312345678901';
const written = '2024-11-22T21:52:25.678Z';
const md5Hash = 'OMXtJGGBusxZ5e0hhomnVQ==';

const catJpg: BlobMetadata = {
  bucket,
  name,
  generation,
  metageneration: '1',
  size: 482113,
  contentType: 'image/jpeg',
  md5Hash,
  timeCreated: new Date(written),
  updated: new Date(written),
  metadata: { 'mediaflow-profile': 'default' },
};

/** The JSON API object resource (`storage#object`) of cat.jpg: what a notification and an Eventarc event both carry as data. */
function objectResource(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const objectGeneration = typeof overrides.generation === 'string' ? overrides.generation : generation;
  return {
    kind: 'storage#object',
    id: `${bucket}/${name}/${objectGeneration}`,
    selfLink: `https://www.googleapis.com/storage/v1/b/${bucket}/o/photos%2Fcat.jpg`,
    name,
    bucket,
    generation: objectGeneration,
    metageneration: '1',
    contentType: 'image/jpeg',
    timeCreated: written,
    updated: written,
    storageClass: 'STANDARD',
    timeStorageClassUpdated: written,
    size: '482113',
    md5Hash,
    mediaLink: `https://storage.googleapis.com/download/storage/v1/b/${bucket}/o/photos%2Fcat.jpg?generation=${objectGeneration}&alt=media`,
    crc32c: 'Vga5qA==',
    etag: 'CLXm4Z3P3fkCEAE=',
    metadata: { 'mediaflow-profile': 'default' },
    ...overrides,
  };
}

/** Written out from the shape documented at cloud.google.com/storage/docs/pubsub-notifications, independently of finalizeNotification. */
function documentedNotification(attributes: Record<string, string> = {}, resource: Record<string, unknown> = {}): OutgoingMessage {
  return {
    attributes: {
      notificationConfig: `projects/_/buckets/${bucket}/notificationConfigs/1`,
      eventType: 'OBJECT_FINALIZE',
      payloadFormat: 'JSON_API_V1',
      bucketId: bucket,
      objectId: name,
      objectGeneration: generation,
      eventTime: written,
      ...attributes,
    },
    data: json(objectResource(resource)),
  };
}

const finalizedEvent = {
  id: `${bucket}/${name}#${generation}`,
  source: `//storage.googleapis.com/projects/_/buckets/${bucket}`,
  type: EventType.objectFinalized,
  subject: `objects/${name}`,
  time: written,
};

const finalizedData = {
  bucket,
  name,
  generation,
  metageneration: '1',
  size: 482113,
  contentType: 'image/jpeg',
  md5Hash,
  timeCreated: written,
  updated: written,
  metadata: { 'mediaflow-profile': 'default' },
  origin: 'pubsub-notification',
};

describe('decodeDelivery: GCS notifications (JSON_API_V1)', () => {
  it.each([
    // The embedded runtime's emulation does not compute crc32c, so its normalized value lacks it.
    ['finalizeNotification (the embedded runtime)', finalizeNotification(catJpg), finalizedData],
    ['the documented GCS message', documentedNotification(), { ...finalizedData, crc32c: 'Vga5qA==' }],
  ])('%s → com.mediaflow.object.finalized.v1', (_form, message, data) => {
    const event = eventOf(decodeDelivery(delivery(message, uploadsTopic), undefined));
    expect(event).toEqual({ ...finalizedEvent, data });
    expect(typeof (event.data as { size: unknown }).size).toBe('number');
    expect(typeof (event.data as { generation: unknown }).generation).toBe('string');
  });

  it('is typed by its attributes even where a default type applies: a notification is never a partner request', () => {
    const decoded = decodeDelivery(delivery(documentedNotification(), ingestRequestsTopic), EventType.ingestRequested);
    expect(eventOf(decoded).type).toBe(EventType.objectFinalized);
  });

  it('gives the same object generation the same event, however often and through whichever config it is notified', () => {
    const first = decodeDelivery(delivery(documentedNotification(), uploadsTopic, { messageId: '100' }), undefined);
    const again = decodeDelivery(
      delivery(documentedNotification({ notificationConfig: `projects/_/buckets/${bucket}/notificationConfigs/7` }), uploadsTopic, {
        messageId: '200',
        publishTime: new Date('2024-11-22T21:53:00.000Z'),
        deliveryAttempt: 3,
      }),
      undefined,
    );
    expect(eventOf(again).id).toBe(`${bucket}/${name}#${generation}`);
    expect(again).toEqual(first);
  });

  it('gives an overwrite (a new generation) a new id', () => {
    const newer = '1732312399000001';
    const decoded = decodeDelivery(
      delivery(documentedNotification({ objectGeneration: newer, overwroteGeneration: generation }, { generation: newer }), uploadsTopic),
      undefined,
    );
    expect(eventOf(decoded).id).toBe(`${bucket}/${name}#${newer}`);
    expect((eventOf(decoded).data as { generation: string }).generation).toBe(newer);
  });

  it.each(['OBJECT_DELETE', 'OBJECT_METADATA_UPDATE', 'OBJECT_ARCHIVE'])('ignores %s, naming it', (eventType) => {
    const decoded = decodeDelivery(delivery(documentedNotification({ eventType }), uploadsTopic), undefined);
    expect(decoded.status).toBe('ignored');
    expect(decoded.status === 'ignored' && decoded.reason).toContain(eventType);
  });

  it.each([
    [
      'payloadFormat NONE (no object resource)',
      { attributes: { ...documentedNotification().attributes, payloadFormat: 'NONE' }, data: Buffer.alloc(0) },
      /payloadFormat 'NONE'.*JSON_API_V1/,
    ],
    [
      'JSON_API_V1 whose data is not JSON',
      { attributes: documentedNotification().attributes, data: Buffer.from('storage#object') },
      /storage notification data is not JSON/,
    ],
  ])('refuses %s with a readable reason', (_case, message, reason) => {
    const decoded = decodeDelivery(delivery(message, uploadsTopic), undefined);
    expect(decoded.status).toBe('invalid');
    expect(decoded.status === 'invalid' && decoded.reason).toMatch(reason);
  });
});

/* ------------------------------------------------------------------------------------------------------------
 * (c') The same upload as an Eventarc CloudEvent (google.cloud.storage.object.v1.finalized), pushed over HTTP.
 * ------------------------------------------------------------------------------------------------------------ */

/** Written out from Eventarc's documented Cloud Storage event, independently of the decoder's constant. */
const eventarcType = 'google.cloud.storage.object.v1.finalized';
const eventarcSource = `//storage.googleapis.com/projects/_/buckets/${bucket}`;

/** Eventarc's context attributes; `bucket` is the extension attribute Eventarc adds to storage events. */
function eventarcContext(ceId: string): Record<string, string> {
  return { specversion: '1.0', id: ceId, source: eventarcSource, type: eventarcType, subject: `objects/${name}`, time: written, bucket };
}

/** Binary mode: Eventarc's ce-* HTTP headers, as the push adapter hands them over as attributes. */
function eventarcBinary(ceId: string, resource: Record<string, unknown> = {}): OutgoingMessage {
  const context = Object.entries(eventarcContext(ceId)).map(([key, value]): [string, string] => [`ce-${key}`, value]);
  return { attributes: { ...Object.fromEntries(context), 'content-type': 'application/json' }, data: json(objectResource(resource)) };
}

/** Structured mode: the whole CloudEvent as the body, the resource under `data`. */
function eventarcStructured(ceId: string, contentType: string | undefined, resource: Record<string, unknown> = {}): OutgoingMessage {
  return {
    attributes: contentType ? { 'content-type': contentType } : {},
    data: json({ ...eventarcContext(ceId), datacontenttype: 'application/json', data: objectResource(resource) }),
  };
}

const eventarcForms: [string, (ceId: string, resource?: Record<string, unknown>) => OutgoingMessage][] = [
  ['Eventarc, binary mode', (ceId, resource) => eventarcBinary(ceId, resource)],
  ['Eventarc, structured mode', (ceId, resource) => eventarcStructured(ceId, 'application/cloudevents+json', resource)],
  ['Eventarc, structured mode recognised by its shape alone', (ceId, resource) => eventarcStructured(ceId, undefined, resource)],
];

const uploadForms: [string, OutgoingMessage, StorageOrigin][] = [
  ['the GCS notification', documentedNotification(), 'pubsub-notification'],
  ...eventarcForms.map(([form, encode]): [string, OutgoingMessage, StorageOrigin] => [form, encode('1234567890123456'), 'eventarc']),
];

describe('decodeDelivery: Eventarc storage events', () => {
  it.each(uploadForms)('%s → com.mediaflow.object.finalized.v1 with origin %s', (_form, message, origin) => {
    const event = eventOf(decodeDelivery(delivery(message, uploadsTopic), undefined));
    expect(event).toEqual({ ...finalizedEvent, data: { ...finalizedData, crc32c: 'Vga5qA==', origin } });
    expect(typeof (event.data as { size: unknown }).size).toBe('number');
  });

  it.each(eventarcForms)('%s and the GCS notification of one upload: same type, same id, same data apart from origin', (_form, encode) => {
    const notified = eventOf(decodeDelivery(delivery(documentedNotification(), uploadsTopic, { messageId: '100' }), undefined));
    const pushed = eventOf(decodeDelivery(delivery(encode('1234567890123456'), uploadsTopic, { messageId: '200' }), undefined));
    expect(pushed.type).toBe(notified.type);
    expect(pushed.id).toBe(notified.id);
    const { origin: pushedOrigin, ...pushedData } = pushed.data as Record<string, unknown>;
    const { origin: notifiedOrigin, ...notifiedData } = notified.data as Record<string, unknown>;
    expect(pushedData).toEqual(notifiedData);
    expect([pushedOrigin, notifiedOrigin]).toEqual(['eventarc', 'pubsub-notification']);
  });

  it.each(eventarcForms)('%s: the id is the object generation, not the ce-id, so a redelivered event is the same', (_form, encode) => {
    const first = decodeDelivery(delivery(encode('1234567890123456'), uploadsTopic, { messageId: '100' }), undefined);
    const again = decodeDelivery(delivery(encode('1234567890123999'), uploadsTopic, { messageId: '200', deliveryAttempt: 2 }), undefined);
    expect(eventOf(first).id).toBe(`${bucket}/${name}#${generation}`);
    expect(again).toEqual(first);
  });

  it.each(eventarcForms)('%s: an overwrite (a new generation) gets a new id', (_form, encode) => {
    const newer = '1732312399000001';
    const decoded = eventOf(decodeDelivery(delivery(encode('1234567890123457', { generation: newer }), uploadsTopic), undefined));
    expect(decoded.id).toBe(`${bucket}/${name}#${newer}`);
    expect((decoded.data as { generation: string }).generation).toBe(newer);
  });

  it.each(eventarcForms)('%s: is typed as an upload even where a default type applies', (_form, encode) => {
    const decoded = decodeDelivery(delivery(encode('1234567890123456'), ingestRequestsTopic), EventType.ingestRequested);
    expect(eventOf(decoded).type).toBe(EventType.objectFinalized);
  });
});

/* ------------------------------------------------------------------------------------------------------------
 * (d)–(e) CloudEvents binary and structured mode, and bare partner JSON.
 * ------------------------------------------------------------------------------------------------------------ */

const ingestRequest = {
  partner: 'acme',
  idempotencyKey: 'order-8841-hero',
  source: { uri: 'gs://acme-media-exchange/orders/8841/hero.mp4', generation: '1732312400123456' },
  profile: 'default',
  metadata: { campaign: 'winter-2024' },
};

const assetReady = {
  assetId: `${bucket}/${name}#${generation}`,
  source: { uri: `gs://${bucket}/${name}`, bucket, name, generation },
  kind: 'image',
  profile: 'default',
  steps: ['checksum'],
  outputs: { checksum: { sha256: '3d380e79ba3f344fb8451e4351dadfca9bf1e856b0fcd20b464708fc58f3340a', md5Hash, bytes: 482113 } },
  readyAt: '2024-11-22T21:52:28.371Z',
};

/** The CloudEvents context of each sample, as a structured-mode envelope spells it. */
const samples: { name: string; topic: string; event: RawEvent }[] = [
  {
    name: 'partner ingest request (no subject)',
    topic: ingestRequestsTopic,
    event: {
      id: 'acme/order-8841-hero',
      source: '//partners/acme/dam',
      type: EventType.ingestRequested,
      time: '2024-11-22T21:53:20.123Z',
      data: ingestRequest,
    },
  },
  {
    name: 'asset ready (with subject)',
    topic: assetEventsTopic,
    event: {
      id: `${assetReady.assetId}/ready`,
      source: '//mediaflow/coordinator',
      type: EventType.assetReady,
      subject: assetReady.assetId,
      time: '2024-11-22T21:52:28.377Z',
      data: assetReady,
    },
  },
];

function binary(event: RawEvent): OutgoingMessage {
  return {
    data: json(event.data),
    attributes: {
      'ce-specversion': '1.0',
      'ce-type': event.type,
      'ce-id': event.id,
      'ce-source': event.source,
      ...(event.time ? { 'ce-time': event.time } : {}),
      ...(event.subject ? { 'ce-subject': event.subject } : {}),
      'content-type': 'application/json',
    },
  };
}

function structured(event: RawEvent, contentType: string | undefined): OutgoingMessage {
  return {
    data: json({ specversion: '1.0', datacontenttype: 'application/json', ...event }),
    attributes: contentType ? { 'content-type': contentType } : {},
  };
}

const forms: [string, (event: RawEvent) => OutgoingMessage][] = [
  ['binary mode', binary],
  ['structured mode, application/cloudevents+json', (event) => structured(event, 'application/cloudevents+json')],
  ['structured mode, with a charset parameter', (event) => structured(event, 'application/cloudevents+json; charset=utf-8')],
  ['structured mode, recognised by its shape alone', (event) => structured(event, undefined)],
];

describe('decodeDelivery: CloudEvents binary and structured mode', () => {
  const cases = samples.flatMap((sample) => forms.map(([form, encode]) => [sample.name, form, sample, encode] as const));

  it.each(cases)('%s in %s → the same RawEvent', (_sample, _form, sample, encode) => {
    const message = encode(sample.event);
    expect(decodeDelivery(delivery(message, sample.topic), undefined)).toEqual({ status: 'event', event: sample.event });
  });

  it.each(cases)('%s in %s: the subscription default type does not override the envelope', (_sample, _form, sample, encode) => {
    const decoded = decodeDelivery(delivery(encode(sample.event), sample.topic), EventType.ingestRequested);
    expect(eventOf(decoded).type).toBe(sample.event.type);
  });

  it('keeps the envelope id, not the Pub/Sub message id, so a re-published event is recognisably the same', () => {
    const sample = samples[0]!;
    const first = decodeDelivery(delivery(binary(sample.event), sample.topic, { messageId: '1' }), undefined);
    const again = decodeDelivery(delivery(structured(sample.event, 'application/cloudevents+json'), sample.topic, { messageId: '2' }), undefined);
    expect(eventOf(first).id).toBe(sample.event.id);
    expect(again).toEqual(first);
  });
});

describe('decodeDelivery: bare partner JSON', () => {
  it('is typed by the subscription default, with the Pub/Sub message id as its id', () => {
    const decoded = decodeDelivery(
      delivery({ data: json(ingestRequest), attributes: {} }, ingestRequestsTopic, { messageId: '9001' }),
      EventType.ingestRequested,
    );
    expect(decoded).toEqual({
      status: 'event',
      event: { id: '9001', source: `//pubsub.googleapis.com/topics/${ingestRequestsTopic}`, type: EventType.ingestRequested, data: ingestRequest },
    });
  });

  it('gets a new id per publish: only the idempotencyKey makes a repeated bare request the same asset', () => {
    const first = eventOf(
      decodeDelivery(delivery({ data: json(ingestRequest), attributes: {} }, ingestRequestsTopic, { messageId: '9001' }), EventType.ingestRequested),
    );
    const again = eventOf(
      decodeDelivery(delivery({ data: json(ingestRequest), attributes: {} }, ingestRequestsTopic, { messageId: '9002' }), EventType.ingestRequested),
    );
    expect(again.id).not.toBe(first.id);
    expect(again.data).toEqual(first.data);
  });
});

/* ------------------------------------------------------------------------------------------------------------
 * (f) What is refused, and why.
 * ------------------------------------------------------------------------------------------------------------ */

const sample = samples[0]!;
const envelopeWithoutId = Object.fromEntries(Object.entries({ specversion: '1.0', ...sample.event }).filter(([key]) => key !== 'id'));
const withoutAttribute = (message: OutgoingMessage, attribute: string): OutgoingMessage => ({
  ...message,
  attributes: Object.fromEntries(Object.entries(message.attributes).filter(([key]) => key !== attribute)),
});
const eventarcWithoutId = Object.fromEntries(
  Object.entries(JSON.parse(eventarcStructured('1', undefined).data.toString('utf8')) as Record<string, unknown>).filter(([key]) => key !== 'id'),
);

/** [case, topic, message, the default type ingest gives that topic, reason]. */
const invalidCases: [string, string, OutgoingMessage, string | undefined, RegExp][] = [
  [
    'bare data that is not JSON',
    ingestRequestsTopic,
    { data: Buffer.from('partner=acme&key=order-8841-hero'), attributes: {} },
    EventType.ingestRequested,
    /^message data is not JSON: /,
  ],
  [
    'binary mode with data that is not JSON',
    ingestRequestsTopic,
    { ...binary(sample.event), data: Buffer.from('<ingest partner="acme"/>') },
    EventType.ingestRequested,
    /^message data is not JSON: /,
  ],
  ['bare empty data', ingestRequestsTopic, { data: Buffer.alloc(0), attributes: {} }, EventType.ingestRequested, /^message data is empty$/],
  [
    'binary mode with empty data',
    ingestRequestsTopic,
    { ...binary(sample.event), data: Buffer.alloc(0) },
    EventType.ingestRequested,
    /^message data is empty$/,
  ],
  [
    'bare JSON on the uploads topic, where no default type applies',
    uploadsTopic,
    { data: json(ingestRequest), attributes: {} },
    undefined,
    /^message is not a CloudEvent and this subscription has no default type$/,
  ],
  [
    'a GCS object resource without its notification attributes',
    uploadsTopic,
    { data: json(objectResource()), attributes: {} },
    undefined,
    /^message is not a CloudEvent and this subscription has no default type$/,
  ],
  [
    'binary mode, ce-specversion 0.3',
    ingestRequestsTopic,
    { ...binary(sample.event), attributes: { ...binary(sample.event).attributes, 'ce-specversion': '0.3' } },
    EventType.ingestRequested,
    /^unsupported CloudEvents specversion '0\.3'$/,
  ],
  [
    'binary mode without ce-specversion',
    ingestRequestsTopic,
    withoutAttribute(binary(sample.event), 'ce-specversion'),
    EventType.ingestRequested,
    /^unsupported CloudEvents specversion ''$/,
  ],
  [
    'binary mode without ce-id',
    ingestRequestsTopic,
    withoutAttribute(binary(sample.event), 'ce-id'),
    EventType.ingestRequested,
    /^CloudEvent is missing required attribute\(s\): id$/,
  ],
  [
    'binary mode with an empty ce-source',
    ingestRequestsTopic,
    { ...binary(sample.event), attributes: { ...binary(sample.event).attributes, 'ce-source': '' } },
    EventType.ingestRequested,
    /^CloudEvent is missing required attribute\(s\): source$/,
  ],
  [
    'structured mode, specversion 0.3',
    ingestRequestsTopic,
    { data: json({ ...envelopeWithoutId, id: sample.event.id, specversion: '0.3' }), attributes: { 'content-type': 'application/cloudevents+json' } },
    EventType.ingestRequested,
    /^unsupported CloudEvents specversion '0\.3'$/,
  ],
  [
    'structured mode without id',
    ingestRequestsTopic,
    { data: json(envelopeWithoutId), attributes: { 'content-type': 'application/cloudevents+json' } },
    EventType.ingestRequested,
    /^CloudEvent is missing required attribute\(s\): id$/,
  ],
  [
    'structured mode without id or content-type (not mistaken for bare JSON)',
    ingestRequestsTopic,
    { data: json(envelopeWithoutId), attributes: {} },
    EventType.ingestRequested,
    /^CloudEvent is missing required attribute\(s\): id$/,
  ],
  [
    'structured mode without id and source',
    ingestRequestsTopic,
    { data: json({ ...envelopeWithoutId, source: undefined }), attributes: { 'content-type': 'application/cloudevents+json' } },
    EventType.ingestRequested,
    /^CloudEvent is missing required attribute\(s\): id, source$/,
  ],
  [
    'structured mode whose body is not JSON',
    ingestRequestsTopic,
    { data: Buffer.from('{"specversion":"1.0",'), attributes: { 'content-type': 'application/cloudevents+json' } },
    EventType.ingestRequested,
    /^message data is not JSON: /,
  ],
  [
    'structured content type with an empty body',
    ingestRequestsTopic,
    { data: Buffer.alloc(0), attributes: { 'content-type': 'application/cloudevents+json' } },
    EventType.ingestRequested,
    /^a structured-mode CloudEvent must be a JSON object$/,
  ],
  [
    'structured content type with a null body',
    ingestRequestsTopic,
    { data: Buffer.from('null'), attributes: { 'content-type': 'application/cloudevents+json' } },
    EventType.ingestRequested,
    /^a structured-mode CloudEvent must be a JSON object$/,
  ],
  [
    'structured content type with an array body',
    ingestRequestsTopic,
    { data: Buffer.from('[1,2]'), attributes: { 'content-type': 'application/cloudevents+json' } },
    EventType.ingestRequested,
    /^a structured-mode CloudEvent must be a JSON object$/,
  ],
  [
    'Eventarc binary mode with empty data',
    uploadsTopic,
    { ...eventarcBinary('1234567890123456'), data: Buffer.alloc(0) },
    undefined,
    /^message data is empty$/,
  ],
  [
    'Eventarc binary mode without ce-source',
    uploadsTopic,
    withoutAttribute(eventarcBinary('1234567890123456'), 'ce-source'),
    undefined,
    /^CloudEvent is missing required attribute\(s\): source$/,
  ],
  [
    'Eventarc structured mode without id',
    uploadsTopic,
    { data: json(eventarcWithoutId), attributes: {} },
    undefined,
    /^CloudEvent is missing required attribute\(s\): id$/,
  ],
];

describe('decodeDelivery: refusals', () => {
  it.each(invalidCases)('%s → invalid', (_case, topic, message, defaultType, reason) => {
    const decoded = decodeDelivery(delivery(message, topic), defaultType);
    expect(decoded.status).toBe('invalid');
    expect(decoded.status === 'invalid' && decoded.reason).toMatch(reason);
  });
});

/* ------------------------------------------------------------------------------------------------------------
 * (g) ingest gives bare JSON a type only on the ingest requests topic: what it rejects, and what it records.
 * ------------------------------------------------------------------------------------------------------------ */

const noDefaultType = { path: '', message: 'message is not a CloudEvent and this subscription has no default type' };
const requestWithoutPartner = Object.fromEntries(Object.entries(ingestRequest).filter(([key]) => key !== 'partner'));

/** [case, topic, bare payload, the rejection ingest records]. Each payload is refused, so ingest never reaches its probe. */
const bareIngestCases: [string, string, unknown, { eventType: string | null; errors: { path: string; message: string }[] }][] = [
  [
    'a request without a partner on the ingest requests topic: typed as a request, then refused by its schema',
    ingestRequestsTopic,
    requestWithoutPartner,
    { eventType: EventType.ingestRequested, errors: [{ path: '/partner', message: "must have required property 'partner'" }] },
  ],
  ['a partner request on the uploads topic: untyped', uploadsTopic, ingestRequest, { eventType: null, errors: [noDefaultType] }],
  ['a bare GCS object resource on the uploads topic: untyped', uploadsTopic, objectResource(), { eventType: null, errors: [noDefaultType] }],
];

describe('ingest: the default type of bare JSON depends on the topic', () => {
  const runtime = useUnwiredRuntime();

  it.each(bareIngestCases.map((testCase, index) => [...testCase, `9100${index}`] as const))('%s', async (_case, topic, payload, expected, messageId) => {
    const deps = runtime.deps();
    const outcome = await ingestFunction.handle(delivery({ data: json(payload), attributes: {} }, topic, { messageId }), deps);
    expect(outcome).toBe('rejected');
    const rejections = await deps.store.list('rejections', { where: [['messageId', '==', messageId]] });
    expect(rejections.map((rejection) => rejection.data)).toEqual([
      expect.objectContaining({
        function: 'ingest',
        topic,
        reason: 'INVALID_EVENT',
        eventId: expected.eventType === null ? null : messageId,
        eventType: expected.eventType,
        errors: expected.errors,
      }),
    ]);
  });
});

/* ------------------------------------------------------------------------------------------------------------
 * Everything the decoder accepts above, through the validator: the value handlers see.
 * ------------------------------------------------------------------------------------------------------------ */

const validDeliveries: [string, Delivery, string | undefined][] = [
  ['GCS notification (finalizeNotification)', delivery(finalizeNotification(catJpg), uploadsTopic), undefined],
  ['GCS notification (documented shape)', delivery(documentedNotification(), uploadsTopic), undefined],
  ...eventarcForms.map(([form, encode]): [string, Delivery, string | undefined] => [form, delivery(encode('1234567890123456'), uploadsTopic), undefined]),
  ...samples.flatMap((s) =>
    forms.map(([form, encode]): [string, Delivery, string | undefined] => [`${s.name} in ${form}`, delivery(encode(s.event), s.topic), undefined]),
  ),
  ['bare partner JSON', delivery({ data: json(ingestRequest), attributes: {} }, ingestRequestsTopic), EventType.ingestRequested],
];

function validatedUpload(input: Delivery): Record<string, unknown> {
  const event = eventOf(decodeDelivery(input, undefined));
  const result = validator.validate(EventType.objectFinalized, event.data);
  if (!result.ok) throw new Error(`rejected: ${JSON.stringify(result.issues)}`);
  return { ...result.value };
}

describe('decoded events through the EventValidator', () => {
  it.each(validDeliveries)('%s: validates to a deep-frozen copy of the decoded data', (_form, input, defaultType) => {
    const event = eventOf(decodeDelivery(input, defaultType));
    const result = validator.validate(event.type, event.data);
    if (!result.ok) throw new Error(`rejected: ${JSON.stringify(result.issues)}`);
    expect(result.value).toEqual(event.data);
    expect(result.value).not.toBe(event.data);
    const nested = Object.entries(result.value as Record<string, unknown>).filter(([, child]) => child !== null && typeof child === 'object');
    expect(nested.length, 'has nested objects to check').toBeGreaterThan(0);
    for (const [key, child] of nested) expect(Object.isFrozen(child), `${key} is frozen`).toBe(true);
    expectDeepFrozen(result.value);
  });

  it('normalizes both GCS notification forms to the same validated value, apart from the crc32c only real GCS sends', () => {
    const [emulated, documented] = validDeliveries.slice(0, 2).map(([, input]) => validatedUpload(input));
    const { crc32c, ...documentedWithoutCrc } = documented!;
    expect(crc32c).toBe('Vga5qA==');
    expect(emulated).toEqual(documentedWithoutCrc);
  });

  it.each(eventarcForms)('%s validates to the value of the documented notification, apart from origin', (_form, encode) => {
    const pushed = validatedUpload(delivery(encode('1234567890123456'), uploadsTopic));
    const notified = validatedUpload(delivery(documentedNotification(), uploadsTopic));
    expect(pushed).toEqual({ ...notified, origin: 'eventarc' });
    expect(notified.origin).toBe('pubsub-notification');
  });
});
