/**
 * Garbage at the HTTP edge: what Pub/Sub push or a stray client may send that is not an event. Pub/Sub
 * redelivers every non-2xx answer, so each form must be acked (204) and leave a rejection record; only our own
 * transient faults answer 500. Every request goes through functions-framework's real express app (getTestServer),
 * and once through the real `functions-framework` binary, the way Cloud Run runs functions/index.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventType } from '../../events/catalog.ts';
import { ingestFunction } from '../../functions/ingest/run.ts';
import { loadConfig } from '../../shared/config/config.ts';
import { SqliteDocumentStore } from '../../shared/adapters/local/document-store.ts';
import { documentId, partnerAssetId } from '../../shared/domain/asset-id.ts';
import type { DocumentStore } from '../../shared/ports/document-store.ts';
import type { BlobStore } from '../../shared/ports/blob-store.ts';
import type { Deps } from '../../shared/runtime/deps.ts';
import { STATE_FILE } from '../../shared/runtime/embedded.ts';
import { MAX_BODY_BYTES, REFUSED_BODY_BYTES } from '../../shared/runtime/http-guard.ts';
import { registerCloudEventFunctions } from '../../shared/runtime/register.ts';
import { useFrameworkServers } from '../support/framework-servers.ts';
import { startTestRuntime, type TestRuntime } from '../support/embedded.ts';

const { topics } = loadConfig({});
const project = 'mediaflow-prod';
const ingestRequestsPath = `/projects/${project}/topics/${topics.ingestRequests}`;
const json = 'application/json';

/** A type, not an interface: the store's get() wants documents assignable to its index signature. */
type RejectionDoc = {
  readonly function: string;
  readonly subscription: string;
  readonly topic: string;
  readonly messageId: string;
  readonly eventId: string | null;
  readonly eventType: string | null;
  readonly reason: string;
  readonly errors: readonly { readonly path: string; readonly message: string }[];
  readonly attributes: Readonly<Record<string, string>>;
  readonly payloadPreview: string;
};

interface Garbage {
  readonly title: string;
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
  /** The start of the one issue the record must carry. */
  readonly error: string;
}

/** The contract for a refused request's id: the same method, content type, ce-id and bytes are the same message. */
function refusedMessageId(method: string, contentType: string | undefined, body: Buffer, ceId = ''): string {
  const digest = createHash('sha256')
    .update(`${method}\n${contentType ?? ''}\n${ceId}\n`)
    .update(body)
    .digest('hex');
  return `http-${digest.slice(0, 32)}`;
}

function rejectionPath(functionName: string, messageId: string): string {
  return `rejections/${documentId(`${functionName}:${messageId}`)}`;
}

function base64Json(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64');
}

/** A partner's ingest request as a raw Pub/Sub push, CloudEvents attributes on the message. */
function partnerPush(key: string, uri = `gs://partner-drop/acme/${key}.jpg`): string {
  const attributes = { 'ce-specversion': '1.0', 'ce-type': EventType.ingestRequested, 'ce-id': key, 'ce-source': '//partners/acme' };
  const message = {
    attributes,
    data: base64Json({ partner: 'acme', idempotencyKey: key, source: { uri } }),
    messageId: `push-${key}`,
    publishTime: '2024-11-22T21:52:26.034Z',
  };
  return JSON.stringify({ message, subscription: `projects/${project}/subscriptions/ingest--${topics.ingestRequests}`, deliveryAttempt: 1 });
}

const { serve } = useFrameworkServers();

async function send(
  base: string,
  request: { method: string; path: string; headers: Readonly<Record<string, string>>; body?: string | ReadableStream<Uint8Array> },
): Promise<Response> {
  const streamed = request.body instanceof ReadableStream;
  const response = await fetch(`${base}${request.path}`, {
    method: request.method,
    headers: request.headers,
    body: request.body,
    ...(streamed ? { duplex: 'half' } : {}),
  });
  // Drain the body so keep-alive sockets are released before the servers close.
  await response.text();
  return response;
}

const garbage: Garbage[] = [
  {
    title: 'truncated JSON',
    method: 'POST',
    path: ingestRequestsPath,
    headers: { 'content-type': json },
    body: partnerPush('cut').slice(0, 40),
    error: 'body is not JSON: ',
  },
  { title: 'JSON null', method: 'POST', path: ingestRequestsPath, headers: { 'content-type': json }, body: 'null', error: 'body is null, not a JSON object' },
  {
    title: 'a bare JSON string',
    method: 'POST',
    path: ingestRequestsPath,
    headers: { 'content-type': json },
    body: '"projects/x/topics/y"',
    error: 'body is a string, not a JSON object',
  },
  { title: 'a JSON number', method: 'POST', path: '/', headers: { 'content-type': json }, body: '42', error: 'body is a number, not a JSON object' },
  {
    title: 'a JSON array',
    method: 'POST',
    path: '/',
    headers: { 'content-type': json },
    body: `[${partnerPush('in-array')}]`,
    error: 'body is an array, not a JSON object',
  },
  { title: 'an empty body', method: 'POST', path: ingestRequestsPath, headers: { 'content-type': json }, body: '', error: 'body is empty' },
  { title: 'no body and no content type', method: 'POST', path: '/', headers: {}, error: 'body is empty' },
  {
    title: 'text/plain that is not JSON',
    method: 'POST',
    path: ingestRequestsPath,
    headers: { 'content-type': 'text/plain' },
    body: 'hello from a health checker',
    error: 'content-type text/plain is not accepted: send application/json',
  },
  {
    title: 'a cloudevents+json body cut short',
    method: 'POST',
    path: '/',
    headers: { 'content-type': 'application/cloudevents+json' },
    body: '{"specversion":"1.0","type":',
    error: 'body is not JSON: Unexpected end of JSON input',
  },
  {
    title: 'a gzip-encoded body',
    method: 'POST',
    path: '/',
    headers: { 'content-type': json, 'content-encoding': 'gzip' },
    body: partnerPush('gzip'),
    error: 'content-encoding gzip is not accepted',
  },
  { title: 'a GET', method: 'GET', path: ingestRequestsPath, headers: {}, error: 'method GET is not accepted: Pub/Sub and Eventarc POST' },
  {
    title: 'a PUT of a valid push',
    method: 'PUT',
    path: ingestRequestsPath,
    headers: { 'content-type': json },
    body: partnerPush('put'),
    error: 'method PUT is not accepted: Pub/Sub and Eventarc POST',
  },
  {
    // A JSON object the framework itself cannot convert: its legacy-event middleware reads `'eventType' in context`.
    title: 'a legacy background event whose context is null',
    method: 'POST',
    path: '/',
    headers: { 'content-type': json },
    body: '{"data":{},"context":null}',
    error: 'functions-framework could not turn the body into a CloudEvent: ',
  },
];

describe('garbage over HTTP: acked with a rejection record', () => {
  let runtime: TestRuntime;
  let url: string;
  const storeDownUrls = new Map<string, string>();

  function rejection(messageId: string): Promise<RejectionDoc | undefined> {
    return runtime.store.get<RejectionDoc>(rejectionPath(ingestFunction.name, messageId));
  }

  function unreachableStore(store: DocumentStore): DocumentStore {
    return new Proxy(store, { get: () => () => Promise.reject(new Error('firestore.googleapis.com: 14 UNAVAILABLE')) });
  }

  function failingBlobStat(blobs: BlobStore): BlobStore {
    return new Proxy(blobs, {
      get: (target, property, receiver) =>
        property === 'stat' ? () => Promise.reject(new Error('storage.googleapis.com: socket hang up')) : (Reflect.get(target, property, receiver) as unknown),
    });
  }

  const outages = [
    { name: 'ingest-store-down', deps: (deps: Deps): Promise<Deps> => Promise.resolve({ ...deps, store: unreachableStore(deps.store) }) },
    { name: 'ingest-deps-down', deps: (): Promise<Deps> => Promise.reject(new Error('firestore client: could not load credentials')) },
    { name: 'ingest-blob-outage', deps: (deps: Deps): Promise<Deps> => Promise.resolve({ ...deps, blobs: failingBlobStat(deps.blobs) }) },
  ];

  beforeAll(async () => {
    runtime = await startTestRuntime();
    registerCloudEventFunctions([ingestFunction], async () => runtime.deps);
    url = await serve(ingestFunction.name);
    for (const outage of outages) {
      registerCloudEventFunctions([{ ...ingestFunction, name: outage.name }], () => outage.deps(runtime.deps));
      storeDownUrls.set(outage.name, await serve(outage.name));
    }
  });

  afterAll(async () => {
    await runtime.dispose();
  });

  it.each(garbage.map((row) => [row.title, row] as const))('%s → 204 and a rejection record', async (_title, row) => {
    const response = await send(url, row);
    expect(response.status).toBe(204);
    const body = Buffer.from(row.body ?? '');
    const messageId = refusedMessageId(row.method, row.headers['content-type'], body);
    const record = await rejection(messageId);
    expect(record).toMatchObject({
      function: ingestFunction.name,
      subscription: 'http',
      topic: row.path === ingestRequestsPath ? topics.ingestRequests : '',
      messageId,
      eventId: null,
      eventType: null,
      reason: 'INVALID_EVENT',
      payloadPreview: body.toString('utf8'),
    });
    expect(record?.errors).toHaveLength(1);
    expect(record?.errors[0]?.message.startsWith(row.error)).toBe(true);
    expect(record?.attributes).toEqual({
      'http-method': row.method,
      ...(row.headers['content-type'] === undefined ? {} : { 'content-type': row.headers['content-type'] }),
      'body-bytes': String(body.length),
    });
  });

  it('the same garbage redelivered → 204 again, and still one record', async () => {
    const row = { method: 'POST', path: '/', headers: { 'content-type': json }, body: '{"message":' };
    const before = await runtime.store.count('rejections');
    expect((await send(url, row)).status).toBe(204);
    expect((await send(url, row)).status).toBe(204);
    expect(await runtime.store.count('rejections')).toBe(before + 1);
    expect(await rejection(refusedMessageId('POST', json, Buffer.from(row.body)))).toMatchObject({
      errors: [{ message: 'body is not JSON: Unexpected end of JSON input' }],
    });
  });

  it(`a body over ${MAX_BODY_BYTES} bytes, streamed without a length → 204, and the record keeps only its head`, async () => {
    const chunk = Buffer.alloc(64 * 1024, '{"garbage":');
    const chunks = Math.ceil((3 * MAX_BODY_BYTES) / chunk.length);
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent === chunks) controller.close();
        else controller.enqueue(new Uint8Array(chunk));
        sent += 1;
      },
    });
    const response = await send(url, { method: 'POST', path: ingestRequestsPath, headers: { 'content-type': json }, body });
    expect(response.status).toBe(204);
    const hash = createHash('sha256').update(`POST\n${json}\n\n`);
    for (let index = 0; index < chunks; index += 1) hash.update(chunk);
    const record = await rejection(`http-${hash.digest('hex').slice(0, 32)}`);
    expect(record?.errors[0]?.message).toBe(`body of ${chunks * chunk.length} bytes is over the ${MAX_BODY_BYTES}-byte limit`);
    expect(record?.payloadPreview).toBe(chunk.subarray(0, REFUSED_BODY_BYTES).toString('utf8'));
    expect(record?.attributes['body-bytes']).toBe(String(chunks * chunk.length));
  });

  it('a binary-mode CloudEvent whose data is JSON null → 204, the record names the event from its headers', async () => {
    const headers = { 'content-type': json, 'ce-specversion': '1.0', 'ce-type': EventType.ingestRequested, 'ce-id': 'ce-null', 'ce-source': '//partners/acme' };
    expect((await send(url, { method: 'POST', path: '/', headers, body: 'null' })).status).toBe(204);
    expect(await rejection(refusedMessageId('POST', json, Buffer.from('null'), 'ce-null'))).toMatchObject({
      eventId: 'ce-null',
      eventType: EventType.ingestRequested,
      errors: [{ message: expect.stringContaining('body is null') as unknown }],
    });
  });

  it('a push the framework converts but whose message.data is a number → 204 and a rejection record', async () => {
    const body = JSON.stringify({ message: { data: 42, messageId: 'numeric-data' }, subscription: 'projects/p/subscriptions/s' });
    expect((await send(url, { method: 'POST', path: ingestRequestsPath, headers: { 'content-type': json }, body })).status).toBe(204);
    const records = await runtime.store.list<RejectionDoc>('rejections', { where: [['eventId', '==', 'numeric-data']] });
    expect(records.map((doc) => doc.data)).toEqual([
      expect.objectContaining({
        topic: topics.ingestRequests,
        eventType: 'google.cloud.pubsub.topic.v1.messagePublished',
        errors: [{ path: '', message: expect.stringContaining('the CloudEvent cannot be read as a delivery: ') as unknown }],
      }),
    ]);
  });

  it('a valid push labelled text/plain is processed, not refused: Pub/Sub only ever sends JSON', async () => {
    const key = 'text-plain';
    const before = await runtime.store.count('rejections');
    const response = await send(url, { method: 'POST', path: ingestRequestsPath, headers: { 'content-type': 'text/plain' }, body: partnerPush(key) });
    expect(response.status).toBe(204);
    await runtime.idle();
    expect(await runtime.asset(partnerAssetId('acme', key))).toMatchObject({ status: 'FAILED', error: { code: 'SOURCE_NOT_FOUND' } });
    expect(await runtime.store.count('rejections')).toBe(before);
  });

  it.each([
    { title: 'the store is down', name: 'ingest-store-down' },
    { title: 'the deps cannot be built', name: 'ingest-deps-down' },
  ])('garbage while $title → 500, so it comes back once the record can be written', async ({ name }) => {
    const response = await send(storeDownUrls.get(name) ?? '', { method: 'POST', path: '/', headers: { 'content-type': json }, body: '{"message":' });
    expect(response.status).toBe(500);
    expect(response.headers.get('x-google-status')).toBe('error');
  });

  it('a valid event whose handler fails transiently → still 500 through the guard', async () => {
    const response = await send(storeDownUrls.get('ingest-blob-outage') ?? '', {
      method: 'POST',
      path: ingestRequestsPath,
      headers: { 'content-type': json },
      body: partnerPush('blob-outage'),
    });
    expect(response.status).toBe(500);
    expect(response.headers.get('x-google-status')).toBe('error');
    expect(await runtime.asset(partnerAssetId('acme', 'blob-outage'))).toBeUndefined();
  });
});

/* ------------------------------------------------------------------------------------------------------------
 * The production path: the `functions-framework` binary loading a source module, as Cloud Run does.
 * ------------------------------------------------------------------------------------------------------------ */

const frameworkMain = path.join(import.meta.dirname, '../../node_modules/@google-cloud/functions-framework/build/src/main.js');
const fixtureSource = path.join(import.meta.dirname, 'fixtures/guarded-ingest.ts');
const STARTUP_TIMEOUT_MS = 30_000;

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

async function untilServing(child: ChildProcess): Promise<void> {
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`functions-framework did not start:\n${output}`)), STARTUP_TIMEOUT_MS);
    const read = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      if (output.includes('Serving function')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', read);
    child.stderr?.on('data', read);
    child.once('exit', (code) => reject(new Error(`functions-framework exited with ${String(code)}:\n${output}`)));
  });
}

describe('the functions-framework binary', () => {
  let dataDir: string;
  let child: ChildProcess | undefined;
  let base: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'mediaflow-http-guard-'));
    const port = await freePort();
    child = spawn(
      process.execPath,
      [
        '--disable-warning=ExperimentalWarning',
        frameworkMain,
        `--source=${fixtureSource}`,
        `--target=${ingestFunction.name}`,
        '--signature-type=cloudevent',
        `--port=${port}`,
      ],
      {
        env: { PATH: process.env.PATH, MEDIAFLOW_TEST_DATA_DIR: dataDir },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    await untilServing(child);
    base = `http://127.0.0.1:${port}`;
  });

  afterAll(async () => {
    if (child && child.exitCode === null) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
    await rm(dataDir, { recursive: true, force: true });
  });

  it('puts the guard in front of the app it serves: truncated JSON, text/plain and a GET are acked and recorded', async () => {
    const requests: Omit<Garbage, 'title' | 'error'>[] = [
      { method: 'POST', path: ingestRequestsPath, headers: { 'content-type': json }, body: '{"message":{"data":"e' },
      { method: 'POST', path: ingestRequestsPath, headers: { 'content-type': 'text/plain' }, body: 'not json' },
      { method: 'GET', path: '/', headers: {} },
    ];
    const statuses: number[] = [];
    for (const request of requests) statuses.push((await send(base, request)).status);
    expect(statuses).toEqual([204, 204, 204]);
    const store = SqliteDocumentStore.open(path.join(dataDir, STATE_FILE));
    try {
      for (const request of requests) {
        const messageId = refusedMessageId(request.method, request.headers['content-type'], Buffer.from(request.body ?? ''));
        expect(await store.get(rejectionPath(ingestFunction.name, messageId))).toMatchObject({ subscription: 'http', reason: 'INVALID_EVENT' });
      }
    } finally {
      await store.close();
    }
  });
});
