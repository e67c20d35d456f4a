/**
 * The whole pipeline on the local cloud: every function as its own functions-framework process behind push
 * subscriptions on the Pub/Sub emulator, state in the Firestore emulator, objects in fake-gcs-server, whose
 * finalize notifications start the chain. Uploads use the real GCS client; partner events the real Pub/Sub client.
 */
import { PubSub, type Message } from '@google-cloud/pubsub';
import type { Storage } from '@google-cloud/storage';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startGcpStack, type GcpStack } from '../../scripts/local-cloud/gcp-stack.ts';
import { jpegImage, musicLikeAudio, videoWithSound } from '../../scripts/sample-media/sample-media.ts';
import { bigTagMkv } from '../support/hostile-media.ts';
import { createStorageClient, GcsBlobStore } from '../../shared/adapters/gcp/blob-store.ts';
import type { FirestoreDocumentStore } from '../../shared/adapters/gcp/document-store.ts';
import { createFirestoreDocumentStore } from '../../shared/adapters/gcp/document-store.ts';
import { finalizeNotification } from '../../shared/runtime/storage-notification.ts';
import { assetPath, partnerAssetId, uploadAssetId } from '../../shared/domain/asset-id.ts';
import type { AssetDoc } from '../../shared/domain/asset.ts';
import { isTerminal } from '../../shared/domain/state-machine.ts';

const SETTLE_TIMEOUT_MS = 90_000;

let stack: GcpStack;
let storage: Storage;
let pubsub: PubSub;
let store: FirestoreDocumentStore;
let fixtures: string;
const assetEvents: { type: string; id: string; assetId: string }[] = [];

beforeAll(async () => {
  const cloud = inject('localCloud');
  stack = await startGcpStack({ projectId: cloud.projectId, cloud, functionEnv: { MEDIAFLOW_LOG_LEVEL: 'debug' } });
  storage = createStorageClient({ apiEndpoint: cloud.storageEndpoint, projectId: cloud.projectId });
  pubsub = new PubSub({ projectId: cloud.projectId });
  store = createFirestoreDocumentStore({ projectId: cloud.projectId });
  const [tap] = await pubsub.topic(stack.config.topics.assetEvents).createSubscription(`e2e-tap-${randomUUID().slice(0, 8)}`);
  tap.on('message', (message: Message) => {
    assetEvents.push({ type: message.attributes['ce-type'] ?? '', id: message.attributes['ce-id'] ?? '', assetId: message.attributes['ce-subject'] ?? '' });
    message.ack();
  });
  fixtures = await mkdtemp(path.join(os.tmpdir(), 'mediaflow-e2e-'));
}, 240_000);

afterAll(async () => {
  await store?.close();
  await pubsub?.close();
  await stack?.stop();
  await rm(fixtures, { recursive: true, force: true });
});

async function upload(file: string, name: string): Promise<string> {
  const [object] = await storage.bucket(stack.config.buckets.ingest).upload(file, { destination: name, resumable: false });
  return uploadAssetId(stack.config.buckets.ingest, name, String(object.metadata.generation));
}

async function settled(id: string, timeoutMs = SETTLE_TIMEOUT_MS): Promise<AssetDoc> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const asset = await store.get<AssetDoc>(assetPath(id));
    if (asset && isTerminal(asset.status)) return asset;
    if (Date.now() > deadline) throw new Error(`asset ${id} did not settle: ${asset ? `${asset.status} ${JSON.stringify(asset.steps)}` : 'no document'}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function eventually(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe('uploads through fake-gcs-server', () => {
  it('an image, an audio file and a video each reach READY, and their outbound events are published', async () => {
    const files = [
      ['image', await jpegImage('ffmpeg', path.join(fixtures, 'photo.jpg'), { width: 640, height: 360 })],
      ['audio', await musicLikeAudio('ffmpeg', path.join(fixtures, 'song.m4a'), { durationSeconds: 3 })],
      ['video', await videoWithSound('ffmpeg', path.join(fixtures, 'clip.mp4'), { durationSeconds: 2, width: 320, height: 240 })],
    ] as const;
    const ids = await Promise.all(files.map(([, file]) => upload(file, `e2e/${path.basename(file)}`)));
    const assets = await Promise.all(ids.map((id) => settled(id)));
    expect(assets.map((asset) => [asset.kind, asset.status])).toEqual(files.map(([kind]) => [kind, 'READY']));
    // The video's shards read the source from fake-gcs-server through ranged requests, and said how much.
    expect(assets[2]?.steps['hls-segment']?.outputs).toMatchObject({ sourceBytesRead: expect.any(Number) as unknown });
    expect(Number(assets[2]?.steps['hls-segment']?.outputs?.sourceBytesRead)).toBeGreaterThan(0);
    for (const asset of assets) {
      expect(asset.source.via).toBe('pubsub-notification');
      expect(asset.steps.checksum?.status).toBe('SUCCEEDED');
      expect(asset.createdAt).toBeInstanceOf(Date);
    }
    await eventually('three asset.ready events', () =>
      ids.every((id) => assetEvents.some((event) => event.assetId === id && event.type === 'com.mediaflow.asset.ready.v1')),
    );
  });

  it('a duplicate GCS notification still gives exactly one asset', async () => {
    const file = await jpegImage('ffmpeg', path.join(fixtures, 'dup.jpg'), { width: 320, height: 240 });
    const id = await upload(file, 'e2e/dup.jpg');
    await settled(id);
    const meta = await new GcsBlobStore(storage).stat({ bucket: stack.config.buckets.ingest, name: 'e2e/dup.jpg' });
    const notification = finalizeNotification(meta ?? expect.fail('the upload is gone'));
    await pubsub.topic(stack.config.topics.uploads).publishMessage({ data: notification.data, attributes: { ...notification.attributes } });
    await pubsub.topic(stack.config.topics.uploads).publishMessage({ data: notification.data, attributes: { ...notification.attributes } });
    await eventually('the duplicates to be handled', () => (stack.functionOutput('ingest').match(/duplicate ingest event/g) ?? []).length >= 2);
    const versions = await store.list<AssetDoc>('assets', { where: [['source.name', '==', 'e2e/dup.jpg']] });
    expect(versions.map((version) => version.data.id)).toEqual([id]);
    expect(assetEvents.filter((event) => event.assetId === id)).toHaveLength(1);
  });
});

describe('partner ingest over the Pub/Sub emulator', () => {
  it('an ingest event published with the Pub/Sub client reaches READY', async () => {
    const file = await jpegImage('ffmpeg', path.join(fixtures, 'partner.jpg'), { width: 320, height: 240 });
    await storage.bucket('partner-drop').upload(file, { destination: 'acme/partner.jpg', resumable: false });
    const key = `order-${randomUUID().slice(0, 8)}`;
    await pubsub.topic(stack.config.topics.ingestRequests).publishMessage({
      json: { partner: 'acme', idempotencyKey: key, source: { uri: 'gs://partner-drop/acme/partner.jpg' } },
      attributes: { 'ce-specversion': '1.0', 'ce-type': 'com.mediaflow.ingest.requested.v1', 'ce-id': key, 'ce-source': '//partners/acme' },
    });
    const asset = await settled(partnerAssetId('acme', key));
    expect(asset).toMatchObject({ status: 'READY', kind: 'image', source: { via: 'partner-ingest', partner: 'acme' } });
  });

  it('a malformed partner event is recorded as rejected, acked, and never retried', async () => {
    const marker = `bad-${randomUUID().slice(0, 8)}`;
    await pubsub.topic(stack.config.topics.ingestRequests).publishMessage({ json: { partner: 'acme', idempotencyKey: marker, source: { uri: 'ftp://nope' } } });
    await eventually('the rejection', async () =>
      (await store.list<{ payloadPreview: string }>('rejections')).some((doc) => doc.data.payloadPreview.includes(marker)),
    );
    // Well past the minimum backoff: a nack would have brought it back by now.
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    const rejected = (await store.list<{ payloadPreview: string; errors: { path: string }[] }>('rejections')).filter((doc) =>
      doc.data.payloadPreview.includes(marker),
    );
    expect(rejected).toHaveLength(1);
    expect(rejected[0]!.data.errors.map((error) => error.path)).toContain('/source/uri');
    expect(stack.functionOutput('ingest').split(marker).length - 1).toBeLessThanOrEqual(1);
  });
});

describe('hostile input that only Firestore refuses', () => {
  async function settledOnce(id: string): Promise<AssetDoc> {
    const asset = await settled(id);
    const dead = await store.list<{ eventId: string }>('deadLetters');
    expect(dead.filter((record) => record.data.eventId === id)).toEqual([]);
    expect(asset.steps.probe?.attempts).toBe(1);
    return asset;
  }

  it('a 1.2 MB comment tag is cut before it reaches a document: READY on the first attempt', async () => {
    const file = await bigTagMkv(path.join(fixtures, 'tagged.mkv'), 1_200_000);
    const asset = await settledOnce(await upload(file, 'e2e/tagged.mkv'));
    expect(asset.status).toBe('READY');
    expect(Buffer.byteLength(String((asset.probe as { tags: Record<string, string> }).tags.comment))).toBeLessThanOrEqual(1024);
  });

  it('custom metadata keys Firestore refuses (__name__, 1600 bytes) are dropped: READY on the first attempt', async () => {
    const file = await jpegImage('ffmpeg', path.join(fixtures, 'keys.jpg'), { width: 320, height: 240 });
    const name = 'e2e/keys.jpg';
    const [object] = await storage.bucket(stack.config.buckets.ingest).upload(file, {
      destination: name,
      resumable: false,
      metadata: { metadata: { __name__: 'reserved', ['k'.repeat(1600)]: 'long key', fine: 'kept' } },
    });
    const asset = await settledOnce(uploadAssetId(stack.config.buckets.ingest, name, String(object.metadata.generation)));
    expect(asset.status).toBe('READY');
    expect(asset.source.metadata).toMatchObject({ fine: 'kept' });
    expect(Object.keys(asset.source.metadata).every((key) => key !== '__name__' && Buffer.byteLength(key) <= 256)).toBe(true);
  });
});

describe('a worker killed mid-run', () => {
  it('has its work order redelivered after the restart, and the asset ends READY', async () => {
    // Big enough that checksumming it over HTTP takes a moment, so the kill lands while the step runs.
    const big = path.join(fixtures, 'big', 'large.jpg');
    await mkdir(path.dirname(big), { recursive: true });
    const image = await jpegImage('ffmpeg', path.join(fixtures, 'big', 'seed.jpg'), { width: 320, height: 240 });
    const { readFile } = await import('node:fs/promises');
    await writeFile(big, Buffer.concat([await readFile(image), Buffer.alloc(400 * 1024 * 1024, 7)]));
    const id = await upload(big, 'e2e/large.jpg');
    const started = (): boolean => stack.functionOutput('checksum').includes(`"orderId":"${id}|checksum|0"`);
    await eventually('the checksum step to start', started, 60_000);
    await stack.restartFunction('checksum');
    // functionOutput is the fresh process's own output from here on. The emulator's retry (1 s backoff here) may reach
    // the fresh process before the restart call returns, so no "not yet" is asserted: that raced on a busy machine.
    const asset = await settled(id, 120_000);
    expect(asset.status).toBe('READY');
    // The fresh process logged the same order: Pub/Sub pushed it again after the first process died mid-run.
    expect(started()).toBe(true);
  });
});

describe('the watchdog on the local cloud', () => {
  /**
   * Work lost after it was queued, as a message the emulator stranded or a worker that died having acked it leaves
   * it: the asset PROCESSING, its checksum step QUEUED a day ago, no result, no message anywhere. The ticks go
   * through the watchdog's topic to its own function process, like Cloud Scheduler's.
   */
  async function lostChecksum(name: string, watchdog?: { redrives: number }): Promise<string> {
    const file = await jpegImage('ffmpeg', path.join(fixtures, name), { width: 320, height: 240 });
    const id = await upload(file, `e2e/${name}`);
    const ready = await settled(id);
    expect(ready.status).toBe('READY');
    const dayAgo = new Date(Date.now() - 24 * 3_600_000);
    const checksum = {
      ...ready.steps.checksum!,
      status: 'QUEUED' as const,
      queuedAt: dayAgo,
      finishedAt: null,
      durationMs: null,
      outputs: null,
      provenance: null,
    };
    const lost: AssetDoc = {
      ...ready,
      status: 'PROCESSING',
      completedAt: null,
      steps: { ...ready.steps, checksum },
      ...(watchdog ? { watchdog: { ...watchdog, lastAt: dayAgo } } : {}),
    };
    await store.set(assetPath(id), lost);
    return id;
  }

  async function tick(): Promise<void> {
    await pubsub.topic(stack.config.topics.watchdogTicks).publishMessage({ json: {}, attributes: { 'content-type': 'application/json' } });
  }

  it('re-drives the lost checksum work order, and the asset ends READY again', async () => {
    const id = await lostChecksum('watchdog-lost.jpg');
    await tick();
    const asset = await settled(id);
    expect(asset.status).toBe('READY');
    expect(asset.steps.checksum?.status).toBe('SUCCEEDED');
    expect(asset.watchdog?.redrives).toBe(1);
    expect(asset.history.some((entry) => entry.event === 'REDRIVEN' && entry.step === 'checksum')).toBe(true);
  });

  it('fails the asset STUCK, naming the step, once its re-drive budget is spent', async () => {
    const id = await lostChecksum('watchdog-stuck.jpg', { redrives: 3 });
    await tick();
    const asset = await settled(id);
    expect(asset.status).toBe('FAILED');
    expect(asset.error).toMatchObject({ step: 'checksum', code: 'STUCK' });
    await eventually('the asset.failed event', () => assetEvents.some((event) => event.assetId === id && event.type === 'com.mediaflow.asset.failed.v1'));
  });
});

describe('subscriptions on the emulator', () => {
  it('carry ack deadlines from the named step timeouts, a dead-letter topic and a retry policy', async () => {
    const { ackDeadlineSeconds, INGEST_TIMEOUT_MS } = await import('../../functions/pipeline.ts');
    const { CHECKSUM_TIMEOUT_MS } = await import('../../functions/checksum/step.ts');
    // The emulator pushes with the ack deadline as its timeout: a deadline below the step's own timeout re-pushes forever.
    const expected = new Map([
      [`ingest--${stack.config.topics.uploads}`, ackDeadlineSeconds(INGEST_TIMEOUT_MS)],
      [`checksum--${stack.config.topics.workPrefix}checksum`, ackDeadlineSeconds(CHECKSUM_TIMEOUT_MS)],
    ]);
    for (const [name, seconds] of expected) expect(stack.pipeline.subscriptions.find((spec) => spec.name === name)?.ackDeadlineSeconds, name).toBe(seconds);
    for (const spec of stack.pipeline.subscriptions) {
      const [metadata] = await pubsub.subscription(spec.name).getMetadata();
      expect(Number(metadata.ackDeadlineSeconds), spec.name).toBe(spec.ackDeadlineSeconds);
      expect(Number(metadata.retryPolicy?.minimumBackoff?.seconds), spec.name).toBe(spec.minimumBackoffSeconds);
      if (spec.deadLetterTopic) {
        expect(metadata.deadLetterPolicy?.deadLetterTopic).toBe(`projects/${stack.cloud.projectId}/topics/${stack.config.topics.deadLetters}`);
        expect(metadata.deadLetterPolicy?.maxDeliveryAttempts).toBe(spec.maxDeliveryAttempts);
      }
      // The stack delivers what it pulls to the function's push endpoint (the emulator's own push strands messages).
      expect(stack.pushEndpoints.get(spec.name)).toBe(`${stack.functionUrls.get(spec.function)}/projects/${stack.cloud.projectId}/topics/${spec.topic}`);
    }
  });
});
