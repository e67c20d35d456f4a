/**
 * A document store with transactions, shaped after Firestore so the embedded store and the Firestore adapter
 * are interchangeable. Paths alternate collection and document ids: `assets/{id}`, `assets/{id}/results/{rid}`.
 * Document ids must not contain '/'; use documentId() from shared/domain/asset-id.ts to encode them.
 */

export type DocValue = string | number | boolean | null | Date | readonly DocValue[] | { readonly [key: string]: DocValue };
export type DocData = { readonly [key: string]: DocValue };

export interface DocSnapshot<T> {
  readonly id: string;
  readonly path: string;
  readonly data: T;
}

/**
 * Equality filters, one order, a cursor and a limit: the queries Firestore serves from single-field or composite
 * indexes. Ordered queries order by the field, then by document id in the same direction, and omit documents
 * lacking the field; values of different types order as Firestore orders them (null < booleans < numbers <
 * timestamps < strings < arrays < maps).
 *
 * `startAfter` pages through an ordered query: the query returns only the documents strictly after the position
 * (value, id) in its order (after means later in that direction, so descending pages go on downwards), and `limit`
 * then applies to those. Pass the ordered field's value of the previous page's last document, as read (a Date for a
 * timestamp field: a string there would sort after every timestamp), and that document's DocSnapshot.id. The cursor
 * is a position, not a document: it still works when that document has since changed or been deleted. It requires
 * `orderBy` (a query without one is refused), its value must be a string, a finite number or a valid Date in
 * Firestore's range, and its id a document id (no '/'). `count` honours it: it counts what `list` would return.
 */
export interface Query {
  readonly where?: ReadonlyArray<readonly [field: string, op: '==', value: string | number | boolean | null]>;
  readonly orderBy?: { readonly field: string; readonly direction?: 'asc' | 'desc' };
  readonly startAfter?: { readonly value: string | number | Date; readonly id: string };
  readonly limit?: number;
}

export interface Transaction {
  /** Reads must all come before the first write, as in Firestore; the local store enforces this too. */
  get<T extends DocData>(path: string): Promise<T | undefined>;
  set(path: string, data: DocData): void;
  delete(path: string): void;
}

export interface DocumentStore {
  get<T extends DocData>(path: string): Promise<T | undefined>;
  /** Create-if-absent: true when this call created the document, false when it already existed. */
  create(path: string, data: DocData): Promise<boolean>;
  set(path: string, data: DocData): Promise<void>;
  delete(path: string): Promise<void>;
  list<T extends DocData>(collectionPath: string, query?: Query): Promise<DocSnapshot<T>[]>;
  count(collectionPath: string, query?: Query): Promise<number>;
  /** Runs fn atomically. fn may run more than once (Firestore retries on contention), so it must have no side effects. */
  runTransaction<R>(fn: (tx: Transaction) => Promise<R>): Promise<R>;
  close(): Promise<void>;
}
