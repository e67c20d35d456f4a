/**
 * The embedded DocumentStore: one SQLite file (node:sqlite) that behaves like Firestore wherever our code could notice,
 * so code tested locally also works on Firestore. Firestore's rules are enforced here (path shapes, no undefined,
 * no nested arrays, reads before writes in transactions, orderBy hiding documents without the field), while
 * Firestore-only guarantees we cannot observe locally (size limits) are not emulated. Indexes are: a query Firestore
 * runs only on a composite index (an equality filter plus an order on another field) is refused unless one of the
 * indexes the deployment creates serves it, and those are the ones declared in shared/domain/collections.ts.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { SQLInputValue, StatementSync } from 'node:sqlite';
import { compositeIndexOf, declaredIndexes, indexServes, needsIndexToRun, shapeOf, type CompositeIndex } from '../../domain/collections.ts';
import type { DocumentStore, DocData, DocSnapshot, Query, Transaction } from '../../ports/document-store.ts';
import { isStorableDate, queryCursor } from '../firestore-rules.ts';

const BUSY_TIMEOUT_MS = 5_000;
/** Firestore's default; locally only another process's commit can force a retry, the in-process mutex prevents the rest. */
const MAX_TRANSACTION_ATTEMPTS = 5;
const NOW = `strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`;
const UPSERT = `INSERT INTO documents VALUES (?, ?, ?, ?, ${NOW}, ${NOW})
  ON CONFLICT (path) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at`;
/** Dates are stored as {"$date": ISO}; a user map with this key would be ambiguous, so it is rejected. */
const DATE_KEY = '$date';
/** Firestore's Timestamp range; it also keeps ISO years at four digits, so ISO strings order chronologically. */

type ParsedPath = { readonly collection: string; readonly id: string };
/** Firestore's cross-type order: null < booleans < numbers < timestamps < strings < arrays < maps. */
const TYPE_RANK = `CASE json_type(data, ?) WHEN 'null' THEN 0 WHEN 'false' THEN 1 WHEN 'true' THEN 1 WHEN 'integer' THEN 2
  WHEN 'real' THEN 2 WHEN 'text' THEN 4 WHEN 'array' THEN 5 ELSE CASE WHEN json_type(data, ?) = 'text' THEN 3 ELSE 6 END END`;

function parsePath(path: string, kind: 'document' | 'collection'): string[] {
  if (typeof path !== 'string' || path === '') throw new Error(`Invalid ${kind} path ${JSON.stringify(path)}: it is empty`);
  const segments = path.split('/');
  for (const segment of segments) {
    const problem =
      segment === ''
        ? 'has an empty segment'
        : segment === '.' || segment === '..'
          ? `has the segment "${segment}", which Firestore forbids`
          : /^__.*__$/.test(segment)
            ? `has the segment "${segment}"; ids matching __.*__ are reserved by Firestore`
            : Buffer.byteLength(segment) > 1500
              ? 'has a segment longer than 1500 bytes'
              : undefined;
    if (problem) throw new Error(`Invalid ${kind} path "${path}": it ${problem}`);
  }
  // Segments alternate collection/doc, so documents sit at even depths (`assets/a1`) and collections at odd ones.
  const wantEven = kind === 'document';
  if ((segments.length % 2 === 0) !== wantEven) {
    throw new Error(`Invalid ${kind} path "${path}": a ${kind} path needs an ${wantEven ? 'even' : 'odd'} number of segments`);
  }
  return segments;
}

function parseDocPath(path: string): ParsedPath {
  const segments = parsePath(path, 'document');
  return { collection: segments.slice(0, -1).join('/'), id: segments[segments.length - 1] ?? '' };
}

/** Validates like Firestore's serializer and returns a JSON-ready tree; errors name the offending field. */
function toJson(value: unknown, field: string, inArray = false): unknown {
  const fail = (why: string): never => {
    throw new TypeError(`Cannot store field "${field}": ${why}`);
  };
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (value === undefined) return fail('value is undefined, which Firestore rejects (omit the field or use null)');
  if (typeof value === 'number') return Number.isFinite(value) ? value : fail(`${value} cannot be stored (JSON has no NaN or Infinity)`);
  if (value instanceof Date) {
    if (!isStorableDate(value)) return fail("the Date is invalid or outside Firestore's range (years 1 to 9999)");
    return { [DATE_KEY]: value.toISOString() };
  }
  if (Array.isArray(value)) {
    if (inArray) return fail('arrays directly inside arrays are not supported by Firestore');
    const out: unknown[] = [];
    // An index loop, not map(): holes in sparse arrays read as undefined and must be rejected, not turned into null.
    for (let i = 0; i < value.length; i++) out.push(toJson(value[i], `${field}[${i}]`, true));
    return out;
  }
  if (typeof value === 'object') {
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      const kind = (value as { constructor?: { name?: string } }).constructor?.name ?? 'non-plain object';
      return fail(`it is a ${kind} instance; only plain objects, arrays and Dates can be stored`);
    }
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(value)) {
      const childField = field === '' ? key : `${field}.${key}`;
      const reserved =
        key === ''
          ? 'is empty, which Firestore rejects'
          : key === DATE_KEY
            ? 'is reserved by the local store'
            : /^__.*__$/.test(key)
              ? 'matches __.*__, reserved by Firestore'
              : '';
      if (reserved) throw new TypeError(`Cannot store field "${childField}": the name ${reserved}`);
      out[key] = toJson(child, childField);
    }
    return out;
  }
  return fail(`a ${typeof value} cannot be stored`);
}

function encode(data: DocData): string {
  if (data === null || typeof data !== 'object' || Array.isArray(data) || data instanceof Date) throw new TypeError('Document data must be a plain object');
  return JSON.stringify(toJson(data, ''));
}

function decode<T extends DocData>(json: string): T {
  return JSON.parse(json, (_key, value: unknown) => {
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      const date: unknown = (value as Record<string, unknown>)[DATE_KEY];
      if (typeof date === 'string' && Object.keys(value).length === 1) return new Date(date);
    }
    return value;
  }) as T;
}

/** A dotted field as a quoted SQLite JSON path, so segments with spaces or '$' cannot be misparsed. */
function jsonPath(field: string): string {
  const segments = typeof field === 'string' ? field.split('.') : [''];
  if (segments.some((s) => s === '' || s.includes('"'))) {
    throw new Error(`Invalid query field "${field}": use dot-separated, non-empty field names without '"'`);
  }
  return '$' + segments.map((s) => `."${s}"`).join('');
}

/** Refuses, as Firestore does with FAILED_PRECONDITION, a query that needs a composite index none of `indexes` serves. */
function assertIndexed(collectionPath: string, query: Query, indexes: readonly CompositeIndex[]): void {
  const shape = shapeOf(collectionPath, query);
  if (!needsIndexToRun(shape)) return;
  const need = compositeIndexOf(shape)!;
  if (indexes.some((index) => indexServes(index, need))) return;
  const fields = need.fields.map((field) => `${field.field_path} ${field.order}`).join(', ');
  throw new Error(
    `The query requires an index (collection ${shape.collection}: ${fields}) that the deployment does not create: declare the query in shared/domain/collections.ts and regenerate (node scripts/deploy/terraform-gen.ts)`,
  );
}

/** The cursor's place in TYPE_RANK and the value compared with the ordered one: a Date as the ISO text stored under "$date", a string or number as itself. */
function cursorOf(query: Query): { rank: number; value: string | number; id: string } | undefined {
  const cursor = queryCursor(query);
  if (!cursor) return undefined;
  const { value, id } = cursor;
  if (typeof value === 'string') return { rank: 4, value, id };
  if (typeof value === 'number') return { rank: 2, value, id };
  return { rank: 3, value: value.toISOString(), id };
}

/** Builds the WHERE/ORDER BY/LIMIT shared by list and count. */
function compileQuery(collection: string, query: Query): { sql: string; params: SQLInputValue[] } {
  const clauses = ['collection = ?'];
  const params: SQLInputValue[] = [collection];
  for (const [field, op, value] of query.where ?? []) {
    const path = jsonPath(field);
    if (op !== '==') throw new Error(`Unsupported operator "${String(op)}" on "${field}": only '==' is supported`);
    // json_type keeps types apart as Firestore does: true never equals 1, and a missing field never equals null.
    if (value === null || typeof value === 'boolean') {
      clauses.push('json_type(data, ?) = ?');
      params.push(path, String(value));
    } else if (typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value))) {
      clauses.push(`json_type(data, ?) IN (${typeof value === 'string' ? "'text'" : "'integer', 'real'"}) AND json_extract(data, ?) = ?`);
      params.push(path, path, value);
    } else {
      throw new TypeError(`Invalid filter value for "${field}": ${String(value)} (use a string, finite number, boolean or null)`);
    }
  }
  let order = 'id';
  const orderParams: SQLInputValue[] = [];
  const cursor = cursorOf(query);
  if (query.orderBy) {
    const path = jsonPath(query.orderBy.field);
    const desc = query.orderBy.direction === 'desc';
    const dir = desc ? 'DESC' : 'ASC';
    const datePath = `${path}."${DATE_KEY}"`;
    // The sort key: type rank, then the value (a Date's ISO text under "$date", which orders chronologically), then id.
    const sortValue = 'coalesce(json_extract(data, ?), json_extract(data, ?))';
    const keyParams = [path, datePath, datePath, path];
    // Firestore omits documents lacking the ordered field.
    clauses.push('json_type(data, ?) IS NOT NULL');
    params.push(path);
    if (cursor) {
      // Strictly after the cursor in this order: the same key compared as a row value, so the rank decides first
      // and the value (NULL only for ranks the cursor never has) is compared only within the cursor's own type.
      // The id column holds the document id, as the cursor does, and the collection clause keeps it unique.
      clauses.push(`(${TYPE_RANK}, ${sortValue}, id) ${desc ? '<' : '>'} (?, ?, ?)`);
      params.push(...keyParams, cursor.rank, cursor.value, cursor.id);
    }
    order = `${TYPE_RANK} ${dir}, ${sortValue} ${dir}, id ${dir}`;
    orderParams.push(...keyParams);
  }
  params.push(...orderParams);
  let sql = `FROM documents WHERE ${clauses.join(' AND ')} ORDER BY ${order}`;
  if (query.limit !== undefined) {
    if (!Number.isInteger(query.limit) || query.limit < 0) throw new Error(`Invalid limit ${query.limit}: use a non-negative integer`);
    sql += ' LIMIT ?';
    params.push(query.limit);
  }
  return { sql, params };
}

class LocalTransaction implements Transaction {
  active = true;
  /** Raw JSON (or null when absent) of each document read, re-checked at commit against other processes' writes. */
  readonly reads = new Map<string, string | null>();
  /** Encoded data, or null for a delete; applied together at commit. */
  readonly writes = new Map<string, { doc: ParsedPath; json: string | null }>();
  readonly #readRaw: (path: string) => string | null;

  constructor(readRaw: (path: string) => string | null) {
    this.#readRaw = readRaw;
  }

  get<T extends DocData>(path: string): Promise<T | undefined> {
    this.#assertActive();
    parseDocPath(path);
    if (this.writes.size > 0) throw new Error('Firestore transactions require all reads to be executed before all writes');
    if (!this.reads.has(path)) this.reads.set(path, this.#readRaw(path));
    const raw = this.reads.get(path) ?? null;
    return Promise.resolve(raw === null ? undefined : decode<T>(raw));
  }

  set(path: string, data: DocData): void {
    this.#assertActive();
    this.writes.set(path, { doc: parseDocPath(path), json: encode(data) });
  }

  delete(path: string): void {
    this.#assertActive();
    this.writes.set(path, { doc: parseDocPath(path), json: null });
  }

  #assertActive(): void {
    if (!this.active) throw new Error('This transaction has finished; use the Transaction only inside the fn passed to runTransaction');
  }
}

export class SqliteDocumentStore implements DocumentStore {
  readonly #db: DatabaseSync;
  /** Tail of the in-process operation queue: DatabaseSync is synchronous but transactions await, so operations take turns. */
  #tail: Promise<unknown> = Promise.resolve();
  #closed: Promise<void> | undefined;
  readonly #txScope = new AsyncLocalStorage<LocalTransaction>();
  readonly #statements = new Map<string, StatementSync>();
  readonly #indexes: readonly CompositeIndex[];

  private constructor(db: DatabaseSync, indexes: readonly CompositeIndex[]) {
    this.#db = db;
    this.#indexes = indexes;
  }

  /**
   * Opens (creating if needed) the store at filePath, or an in-memory store for ':memory:'. `indexes` are the
   * composite indexes queries may use: by default the ones Terraform creates from shared/domain/collections.ts.
   */
  static open(filePath: string, options: { readonly indexes?: readonly CompositeIndex[] } = {}): SqliteDocumentStore {
    if (filePath !== ':memory:') mkdirSync(dirname(filePath), { recursive: true });
    const db = new DatabaseSync(filePath, { timeout: BUSY_TIMEOUT_MS });
    // WAL lets another process (e.g. `mediaflow status`) read while this one writes.
    db.exec('PRAGMA journal_mode = WAL');
    // In WAL mode NORMAL still survives a crash of the process; only a power cut can lose the last commits.
    // FULL fsyncs every commit, and a pipeline hop commits two or three times.
    db.exec('PRAGMA synchronous = NORMAL');
    db.exec(`CREATE TABLE IF NOT EXISTS documents (
      path TEXT PRIMARY KEY, collection TEXT NOT NULL, id TEXT NOT NULL, data TEXT NOT NULL,
      created_at TEXT NOT NULL, updated_at TEXT NOT NULL)`);
    db.exec('CREATE INDEX IF NOT EXISTS documents_by_collection ON documents (collection, id)');
    return new SqliteDocumentStore(db, options.indexes ?? declaredIndexes().map((declared) => declared.index));
  }

  async get<T extends DocData>(path: string): Promise<T | undefined> {
    parseDocPath(path);
    return this.#exclusive(() => {
      const raw = this.#readRaw(path);
      return raw === null ? undefined : decode<T>(raw);
    });
  }

  async create(path: string, data: DocData): Promise<boolean> {
    const { collection, id } = parseDocPath(path);
    const json = encode(data);
    const sql = `INSERT INTO documents VALUES (?, ?, ?, ?, ${NOW}, ${NOW}) ON CONFLICT (path) DO NOTHING`;
    return this.#exclusive(() => Number(this.#prepare(sql).run(path, collection, id, json).changes) === 1);
  }

  async set(path: string, data: DocData): Promise<void> {
    const doc = parseDocPath(path);
    const json = encode(data);
    return this.#exclusive(() => this.#write(path, doc, json));
  }

  async delete(path: string): Promise<void> {
    const doc = parseDocPath(path);
    return this.#exclusive(() => this.#write(path, doc, null));
  }

  async list<T extends DocData>(collectionPath: string, query: Query = {}): Promise<DocSnapshot<T>[]> {
    parsePath(collectionPath, 'collection');
    assertIndexed(collectionPath, query, this.#indexes);
    const { sql, params } = compileQuery(collectionPath, query);
    return this.#exclusive(() => {
      const rows = this.#prepare(`SELECT path, id, data ${sql}`).all(...params) as { path: string; id: string; data: string }[];
      return rows.map((row) => ({ id: row.id, path: row.path, data: decode<T>(row.data) }));
    });
  }

  async count(collectionPath: string, query: Query = {}): Promise<number> {
    parsePath(collectionPath, 'collection');
    assertIndexed(collectionPath, query, this.#indexes);
    const { sql, params } = compileQuery(collectionPath, query);
    return this.#exclusive(() => {
      const row = this.#prepare(`SELECT count(*) AS n FROM (SELECT 1 ${sql})`).get(...params) as { n: number };
      return row.n;
    });
  }

  /**
   * Holds the store for the whole of fn, so fn must not do slow I/O: every other operation of this store waits.
   * Writes are buffered and committed in one BEGIN IMMEDIATE; reads are re-checked there, and if another process
   * changed one meanwhile, fn runs again, as Firestore retries on contention.
   */
  async runTransaction<R>(fn: (tx: Transaction) => Promise<R>): Promise<R> {
    return this.#exclusive(async () => {
      for (let attempt = 1; ; attempt++) {
        const tx = new LocalTransaction((path) => this.#readRaw(path));
        let result: R;
        try {
          result = await this.#txScope.run(tx, () => fn(tx));
        } finally {
          tx.active = false;
        }
        if (this.#commit(tx)) return result;
        if (attempt >= MAX_TRANSACTION_ATTEMPTS) {
          throw new Error(`Transaction aborted after ${attempt} attempts: documents it read kept changing in another process`);
        }
      }
    });
  }

  /** Closes after the operations already queued; later operations reject. Calling close again is harmless. */
  close(): Promise<void> {
    this.#closed ??= this.#exclusive(() => this.#db.close(), true);
    return this.#closed;
  }

  #exclusive<R>(op: () => R | Promise<R>, closing = false): Promise<R> {
    if (this.#closed && !closing) return Promise.reject(new Error('SqliteDocumentStore is closed'));
    // Waiting for the queue from inside fn would wait for fn itself: fail loudly instead of deadlocking.
    if (this.#txScope.getStore()?.active) {
      return Promise.reject(new Error('Cannot use the store inside runTransaction(); use the Transaction passed to fn'));
    }
    const run = this.#tail.then(op);
    this.#tail = run.catch(() => undefined);
    return run;
  }

  /** Statements are cached: list/count SQL varies only with the query's shape, so the cache stays small. */
  #prepare(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (!statement) this.#statements.set(sql, (statement = this.#db.prepare(sql)));
    return statement;
  }

  #readRaw(path: string): string | null {
    const row = this.#prepare('SELECT data FROM documents WHERE path = ?').get(path) as { data: string } | undefined;
    return row?.data ?? null;
  }

  #write(path: string, doc: ParsedPath, json: string | null): void {
    if (json === null) this.#prepare('DELETE FROM documents WHERE path = ?').run(path);
    else this.#prepare(UPSERT).run(path, doc.collection, doc.id, json);
  }

  /** Applies tx's writes atomically; false when a document it read has changed since (nothing is written then). */
  #commit(tx: LocalTransaction): boolean {
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      for (const [path, seen] of tx.reads) {
        if (this.#readRaw(path) !== seen) {
          this.#db.exec('ROLLBACK');
          return false;
        }
      }
      for (const [path, { doc, json }] of tx.writes) this.#write(path, doc, json);
      this.#db.exec('COMMIT');
      return true;
    } catch (error) {
      if (this.#db.isTransaction) this.#db.exec('ROLLBACK');
      throw error;
    }
  }
}
