/**
 * Dead-letter replay on the local cloud: the CLI with MEDIAFLOW_RUNTIME=gcp reads the record from Firestore, re-opens
 * the asset and publishes the message again through Pub/Sub, and the functions (their own processes behind push
 * subscriptions) take the asset to READY. The dead message is handed to the dead-letter topic the way Pub/Sub hands it
 * after the last attempt (the `CloudPubSubDeadLetterSource*` attributes on the original message), since the functions'
 * processes cannot be made to fail five times on purpose from here.
 */
import { PubSub } from '@google-cloud/pubsub';
import type { Storage } from '@google-cloud/storage';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { subscriptionName } from '../../functions/pipeline.ts';
import type { DeadLetterRecord } from '../../functions/deadletter/record.ts';
import { startGcpStack, type GcpStack } from '../../scripts/local-cloud/gcp-stack.ts';
import { jpegImage } from '../../scripts/sample-media/sample-media.ts';
import { createStorageClient } from '../../shared/adapters/gcp/blob-store.ts';
import { createFirestoreDocumentStore, type FirestoreDocumentStore } from '../../shared/adapters/gcp/document-store.ts';
import { assetPath, partnerAssetId } from '../../shared/domain/asset-id.ts';
import type { AssetDoc } from '../../shared/domain/asset.ts';
import { DeadLetterAttribute } from '../../shared/ports/bus.ts';
import { mediaflow } from '../support/cli.ts';
import { eventually as poll } from '../support/eventually.ts';

const TIMEOUT_MS = 90_000;

let stack: GcpStack;
let storage: Storage;
let pubsub: PubSub;
let store: FirestoreDocumentStore;
let fixtures: string;

beforeAll(async () => {
  const cloud = inject('localCloud');
  stack = await startGcpStack({ projectId: cloud.projectId, cloud });
  storage = createStorageClient({ apiEndpoint: cloud.storageEndpoint, projectId: cloud.projectId });
  pubsub = new PubSub({ projectId: cloud.projectId });
  store = createFirestoreDocumentStore({ projectId: cloud.projectId });
  fixtures = await mkdtemp(path.join(os.tmpdir(), 'mediaflow-replay-'));
}, 240_000);

afterAll(async () => {
  await store?.close();
  await pubsub?.close();
  await stack?.stop();
  await rm(fixtures, { recursive: true, force: true });
});

/** Polls until `read` gives a value; on timeout, the functions' recent output says why. */
function eventually<T>(what: string, read: () => Promise<T | undefined>): Promise<T> {
  return poll(what, read, {
    timeoutMs: TIMEOUT_MS,
    diagnose: () => ['deadletter', 'ingest', 'coordinator'].map((fn) => `${fn}: ${stack.functionOutput(fn).slice(-3000)}`).join('\n'),
  });
}

const cli = (args: readonly string[]) => mediaflow(args, { ...process.env, ...stack.env, MEDIAFLOW_LOG_LEVEL: 'error' });

describe('a dead partner ingest event, replayed with MEDIAFLOW_RUNTIME=gcp', () => {
  it('re-opens the asset the dead-letter handler failed, and the functions take it to READY; a second replay is refused', async () => {
    const key = `replay-${randomUUID().slice(0, 8)}`;
    const file = await jpegImage('ffmpeg', path.join(fixtures, 'replay.jpg'), { width: 320, height: 240 });
    await storage.bucket('partner-drop').upload(file, { destination: `acme/${key}.jpg`, resumable: false });
    const topic = stack.config.topics.ingestRequests;
    await pubsub.topic(stack.config.topics.deadLetters).publishMessage({
      json: { partner: 'acme', idempotencyKey: key, source: { uri: `gs://partner-drop/acme/${key}.jpg` } },
      attributes: {
        'ce-specversion': '1.0',
        'ce-type': 'com.mediaflow.ingest.requested.v1',
        'ce-id': key,
        'ce-source': '//partners/acme',
        [DeadLetterAttribute.sourceSubscription]: subscriptionName('ingest', topic),
        [DeadLetterAttribute.sourceSubscriptionProject]: stack.config.projectId,
        [DeadLetterAttribute.sourceDeliveryCount]: '5',
        [DeadLetterAttribute.sourceTopicPublishTime]: new Date().toISOString(),
      },
    });
    const id = partnerAssetId('acme', key);
    const failed = await eventually('the dead-letter handler to fail the asset', async () => {
      const asset = await store.get<AssetDoc>(assetPath(id));
      return asset?.status === 'FAILED' ? asset : undefined;
    });
    expect(failed.error).toMatchObject({ step: 'probe', code: 'RETRIES_EXHAUSTED' });
    const record = await eventually('the dead-letter record', async () =>
      (await store.list<DeadLetterRecord>('deadLetters')).find((snapshot) => snapshot.data.eventId === key),
    );
    expect(record.data).toMatchObject({ topic, assetId: id, step: 'probe', notReplayable: null });

    const replayed = await cli(['dead-letters', 'replay', '--id', record.id, '--json']);
    expect(replayed.stderr).toBe('');
    expect(replayed.code).toBe(0);
    expect(JSON.parse(replayed.stdout.trim())).toMatchObject({ id: record.id, action: 'replayed', asset: 'reopened' });
    const ready = await eventually('the replayed asset to settle again', async () => {
      const asset = await store.get<AssetDoc>(assetPath(id));
      return asset && asset.revision > failed.revision && (asset.status === 'READY' || asset.status === 'FAILED') ? asset : undefined;
    });
    expect(ready).toMatchObject({ status: 'READY', error: null });
    expect(ready.history.some((entry) => entry.event === 'REPLAYED' && entry.detail?.includes(record.id))).toBe(true);
    expect(await store.get<DeadLetterRecord>(`deadLetters/${record.id}`)).toMatchObject({ status: 'REPLAYED', replayCount: 1 });

    const again = await cli(['dead-letters', 'replay', '--id', record.id, '--json']);
    expect(JSON.parse(again.stdout.trim())).toMatchObject({ action: 'skipped', reason: expect.stringContaining('already replayed') as string });
    expect((await store.get<AssetDoc>(assetPath(id)))?.revision).toBe(ready.revision);
  }, 300_000);
});
