/** The DocumentStore contract against both implementations: the embedded SQLite store and Firestore on its emulator. */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import { createFirestoreDocumentStore } from '../../shared/adapters/gcp/document-store.ts';
import { SqliteDocumentStore } from '../../shared/adapters/local/document-store.ts';
import { describeDocumentStoreContract, documentStoreContractIndexes } from '../support/document-store-contract.ts';

// The Firestore client finds the emulator through FIRESTORE_EMULATOR_HOST, read when each client is built.
Object.assign(process.env, inject('localCloud').env);

describeDocumentStoreContract('sqlite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mediaflow-contract-'));
  // The contract's indexes, not the deployment's: the contract must not depend on the queries the code declares.
  const store = SqliteDocumentStore.open(join(dir, 'store.db'), { indexes: documentStoreContractIndexes });
  return {
    store,
    async dispose() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

describeDocumentStoreContract('firestore-emulator', async () => {
  // A project per store: the emulator keeps projects apart, so each test starts from an empty database.
  const store = createFirestoreDocumentStore({ projectId: `contract-${randomUUID()}` });
  return { store, dispose: () => store.close() };
});
