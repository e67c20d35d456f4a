/**
 * The DocumentStore on Firestore, twin of the embedded SqliteDocumentStore (shared/adapters/local/document-store.ts).
 * Firestore itself enforces most of what the local store emulates (path shapes, no undefined, no nested arrays,
 * reads before writes, orderBy hiding documents without the field); this adapter adds what would otherwise
 * differ: Timestamps come back as Dates, ids break orderBy ties, values, limits and filters the local store
 * refuses are refused here too, and a misused Transaction or a closed store fails with the local store's messages.
 */
import { FieldPath, Firestore, Timestamp } from '@google-cloud/firestore';
import type { DocumentData, Query as FirestoreQuery, Transaction as FirestoreTransaction } from '@google-cloud/firestore';
import type { DocumentStore, DocData, DocSnapshot, Query, Transaction } from '../../ports/document-store.ts';
import { isStorableDate, queryCursor } from '../firestore-rules.ts';

/** The gRPC status doc.create() fails with when the document is already there. */
const ALREADY_EXISTS = 6;
/** The local store's wording (Firestore's own ends with a period), so both stores fail alike. */
const READ_AFTER_WRITE = 'Firestore transactions require all reads to be executed before all writes';
/** Firestore's Timestamp range. */

export interface FirestoreDocumentStoreOptions {
  readonly projectId: string;
  readonly databaseId?: string;
}

export function createFirestoreDocumentStore(options: FirestoreDocumentStoreOptions): FirestoreDocumentStore {
  // undefined must fail loudly, as in the local store, instead of silently dropping the field.
  const settings = { projectId: options.projectId, ignoreUndefinedProperties: false };
  return new FirestoreDocumentStore(new Firestore(options.databaseId === undefined ? settings : { ...settings, databaseId: options.databaseId }));
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Timestamps back to Dates, at any depth, into new objects: callers get what the local store returns. */
function fromFirestore(value: unknown): unknown {
  if (value instanceof Timestamp) return value.toDate();
  if (Array.isArray(value)) return value.map(fromFirestore);
  if (isPlainObject(value)) return Object.fromEntries(Object.entries(value).map(([key, child]) => [key, fromFirestore(child)]));
  return value;
}

function toDoc<T extends DocData>(data: DocumentData | undefined): T | undefined {
  return data === undefined ? undefined : (fromFirestore(data) as T);
}

/**
 * Checks what Firestore would accept differently or only report vaguely or server-side, with the local store's
 * messages: NaN and Infinity (Firestore stores them, the local store cannot), invalid or out-of-range Dates, and
 * arrays directly inside arrays (Firestore rejects them only at commit, without naming the field).
 */
function assertStorable(value: unknown, field: string, inArray = false): void {
  const fail = (why: string): never => {
    throw new TypeError(`Cannot store field "${field}": ${why}`);
  };
  if (typeof value === 'number' && !Number.isFinite(value)) fail(`${value} cannot be stored (the local store has no NaN or Infinity)`);
  if (value instanceof Date && !isStorableDate(value)) {
    fail("the Date is invalid or outside Firestore's range (years 1 to 9999)");
  }
  if (Array.isArray(value)) {
    if (inArray) fail('arrays directly inside arrays are not supported by Firestore');
    value.forEach((child, i) => assertStorable(child, `${field}[${i}]`, true));
  } else if (isPlainObject(value)) {
    for (const [key, child] of Object.entries(value)) assertStorable(child, field === '' ? key : `${field}.${key}`);
  }
}

function storable(data: DocData): DocumentData {
  assertStorable(data, '');
  return data;
}

/** Dotted fields split as the local store splits them, so segments with '/', '~' or spaces work in both. */
function fieldPath(field: string): FieldPath {
  const segments = typeof field === 'string' ? field.split('.') : [''];
  if (segments.some((s) => s === '' || s.includes('"'))) {
    throw new Error(`Invalid query field "${field}": use dot-separated, non-empty field names without '"'`);
  }
  return new FieldPath(...segments);
}

function isAlreadyExists(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === ALREADY_EXISTS;
}

class FirestoreTransactionView implements Transaction {
  active = true;
  #wrote = false;
  readonly #db: Firestore;
  readonly #tx: FirestoreTransaction;

  constructor(db: Firestore, tx: FirestoreTransaction) {
    this.#db = db;
    this.#tx = tx;
  }

  get<T extends DocData>(path: string): Promise<T | undefined> {
    this.#assertActive();
    const ref = this.#db.doc(path);
    if (this.#wrote) throw new Error(READ_AFTER_WRITE);
    return this.#tx.get(ref).then((snapshot) => toDoc<T>(snapshot.data()));
  }

  set(path: string, data: DocData): void {
    this.#assertActive();
    this.#tx.set(this.#db.doc(path), storable(data));
    this.#wrote = true;
  }

  delete(path: string): void {
    this.#assertActive();
    this.#tx.delete(this.#db.doc(path));
    this.#wrote = true;
  }

  #assertActive(): void {
    if (!this.active) throw new Error('This transaction has finished; use the Transaction only inside the fn passed to runTransaction');
  }
}

export class FirestoreDocumentStore implements DocumentStore {
  readonly #firestore: Firestore;
  #closed: Promise<void> | undefined;

  /** Takes ownership of the client: close() terminates it. */
  constructor(firestore: Firestore) {
    this.#firestore = firestore;
  }

  async get<T extends DocData>(path: string): Promise<T | undefined> {
    const snapshot = await this.#db().doc(path).get();
    return toDoc<T>(snapshot.data());
  }

  async create(path: string, data: DocData): Promise<boolean> {
    const ref = this.#db().doc(path);
    try {
      await ref.create(storable(data));
      return true;
    } catch (error) {
      if (isAlreadyExists(error)) return false;
      throw error;
    }
  }

  async set(path: string, data: DocData): Promise<void> {
    const ref = this.#db().doc(path);
    await ref.set(storable(data));
  }

  async delete(path: string): Promise<void> {
    await this.#db().doc(path).delete();
  }

  async list<T extends DocData>(collectionPath: string, query: Query = {}): Promise<DocSnapshot<T>[]> {
    const snapshot = await this.#query(collectionPath, query).get();
    return snapshot.docs.map((doc) => ({ id: doc.id, path: doc.ref.path, data: fromFirestore(doc.data()) as T }));
  }

  async count(collectionPath: string, query: Query = {}): Promise<number> {
    const snapshot = await this.#query(collectionPath, query).count().get();
    return snapshot.data().count;
  }

  /** Firestore retries fn on contention (5 attempts by default), each run with a fresh Transaction. */
  async runTransaction<R>(fn: (tx: Transaction) => Promise<R>): Promise<R> {
    const db = this.#db();
    return db.runTransaction(async (inner) => {
      const tx = new FirestoreTransactionView(db, inner);
      try {
        return await fn(tx);
      } finally {
        tx.active = false;
      }
    });
  }

  /** Terminates the client after its pending operations; later operations reject. Calling close again is harmless. */
  close(): Promise<void> {
    this.#closed ??= this.#firestore.terminate();
    return this.#closed;
  }

  #db(): Firestore {
    if (this.#closed) throw new Error('FirestoreDocumentStore is closed');
    return this.#firestore;
  }

  #query(collectionPath: string, query: Query): FirestoreQuery {
    let result: FirestoreQuery = this.#db().collection(collectionPath);
    for (const [field, op, value] of query.where ?? []) {
      const path = fieldPath(field);
      if (op !== '==') throw new Error(`Unsupported operator "${String(op)}" on "${field}": only '==' is supported`);
      // Firestore would turn NaN into an IS_NAN filter; the local store rejects it, and so must this one.
      if (!(value === null || typeof value === 'boolean' || typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value)))) {
        throw new TypeError(`Invalid filter value for "${field}": ${String(value)} (use a string, finite number, boolean or null)`);
      }
      result = result.where(path, '==', value);
    }
    const cursor = queryCursor(query);
    if (query.orderBy) {
      const direction = query.orderBy.direction === 'desc' ? 'desc' : 'asc';
      // The id tie-break Firestore would add implicitly, made explicit: same order as locally, and no extra index.
      result = result.orderBy(fieldPath(query.orderBy.field), direction).orderBy(FieldPath.documentId(), direction);
      // One cursor value per orderBy; a Date becomes a Timestamp, and the id a reference into this collection.
      if (cursor) result = result.startAfter(cursor.value, cursor.id);
    }
    if (query.limit !== undefined) {
      if (!Number.isInteger(query.limit) || query.limit < 0) throw new Error(`Invalid limit ${query.limit}: use a non-negative integer`);
      result = result.limit(query.limit);
    }
    return result;
  }
}
