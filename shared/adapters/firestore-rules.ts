/**
 * What Firestore accepts, checked the same way, with the same messages, by both document stores: the local one
 * refuses what Firestore would, so a mistake shows in the embedded runtime's tests rather than in production.
 */
import type { Query } from '../ports/document-store.ts';

/** Firestore's timestamp range: years 1 to 9999. */
export const MIN_DATE_MS = new Date('0001-01-01T00:00:00.000Z').getTime();
export const MAX_DATE_MS = new Date('9999-12-31T23:59:59.999Z').getTime();

export function isStorableDate(value: Date): boolean {
  const ms = value.getTime();
  return ms >= MIN_DATE_MS && ms <= MAX_DATE_MS;
}

/** A query's startAfter cursor, checked: it needs an order, a document id, and a string, finite number or storable Date. */
export function queryCursor(query: Query): { value: string | number | Date; id: string } | undefined {
  const cursor: unknown = query.startAfter;
  if (cursor === undefined) return undefined;
  if (!query.orderBy) throw new Error("Invalid startAfter: a cursor is a position in the query's order, so it needs orderBy");
  const { value, id } = (typeof cursor === 'object' && cursor !== null ? cursor : {}) as { value?: unknown; id?: unknown };
  // Firestore refuses an id with '/' too, but in its own words; an empty one it would take as the collection itself.
  if (typeof id !== 'string' || id === '' || id.includes('/')) {
    throw new Error(`Invalid startAfter id ${JSON.stringify(id)}: use the document id (DocSnapshot.id) of the previous page's last document`);
  }
  if (typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value)) || (value instanceof Date && isStorableDate(value))) {
    return { value, id };
  }
  throw new TypeError(`Invalid startAfter value ${String(value)}: use a string, a finite number or a valid Date (years 1 to 9999)`);
}
