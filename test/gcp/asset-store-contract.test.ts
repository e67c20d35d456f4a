/** The AssetStore contract against both implementations: the embedded SQLite store and Firestore on its emulator. */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import { createFirestoreAssetStore } from '../../shared/adapters/gcp/asset-store.ts';
import { SqliteAssetStore } from '../../shared/adapters/local/asset-store.ts';
import { describeAssetStoreContract } from '../support/asset-store-contract.ts';

// The Firestore client finds the emulator through FIRESTORE_EMULATOR_HOST, read when each client is built.
Object.assign(process.env, inject('localCloud').env);

describeAssetStoreContract('sqlite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mediaflow-contract-'));
  const store = SqliteAssetStore.open(join(dir, 'store.db'));
  return {
    store,
    async dispose() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

describeAssetStoreContract('firestore-emulator', async () => {
  // A project per store: the emulator keeps projects apart, so each test starts from an empty database.
  const store = createFirestoreAssetStore({ projectId: `contract-${randomUUID()}` });
  return { store, dispose: () => store.close() };
});
