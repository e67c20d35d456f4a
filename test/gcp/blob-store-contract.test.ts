/** The BlobStore contract against both implementations: the embedded disk store and GCS on fake-gcs-server. */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createGcsBlobStore, createStorageClient } from '../../shared/adapters/gcp/blob-store.ts';
import { LocalBlobStore } from '../../shared/adapters/local/blob-store.ts';
import { BlobNotFoundError } from '../../shared/ports/blob-store.ts';
import { describeBlobStoreContract } from '../support/blob-store-contract.ts';

describeBlobStoreContract('local disk', async () => {
  const root = await mkdtemp(join(tmpdir(), 'mediaflow-blob-contract-'));
  const bucket = 'contract';
  return { store: new LocalBlobStore({ root, buckets: [bucket] }), bucket, dispose: () => rm(root, { recursive: true, force: true }) };
});

describeBlobStoreContract('fake-gcs-server', async () => {
  const cloud = inject('localCloud');
  const options = { projectId: cloud.projectId, apiEndpoint: cloud.storageEndpoint };
  // Not the notification bucket: writes there would publish finalize events into the other suites' topic.
  const bucket = `contract-${randomUUID().slice(0, 8)}`;
  const storage = createStorageClient(options);
  await storage.createBucket(bucket);
  return {
    store: createGcsBlobStore(options),
    bucket,
    dispose: async () => {
      await storage.bucket(bucket).deleteFiles({ force: true });
      await storage.bucket(bucket).delete();
    },
  };
});

describe('GcsBlobStore beyond the contract', () => {
  const cloud = inject('localCloud');
  const options = { projectId: cloud.projectId, apiEndpoint: cloud.storageEndpoint };
  const bucket = `gcs-only-${randomUUID().slice(0, 8)}`;
  const storage = createStorageClient(options);
  const store = createGcsBlobStore(options);

  beforeAll(async () => {
    await storage.createBucket(bucket);
  });

  afterAll(async () => {
    await storage.bucket(bucket).deleteFiles({ force: true });
    await storage.bucket(bucket).delete();
  });

  // The local store holds the file open and still serves the old bytes; GCS fetches when the caller reads, and a
  // replaced generation is gone by then. Steps rely on the error being BlobNotFoundError to report SOURCE_CHANGED.
  it('fails a stream whose generation is replaced before it is read with BlobNotFoundError', async () => {
    const ref = { bucket, name: 'replaced.bin' };
    await store.write(ref, 'v1');
    const stream = await store.createReadStream(ref);
    await store.write(ref, 'v2');
    await expect(buffer(stream)).rejects.toBeInstanceOf(BlobNotFoundError);
  });
});
