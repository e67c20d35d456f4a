/**
 * The DocumentStore port's observable behaviour, one suite for every implementation: what passes here against the
 * embedded store must hold on Firestore. Each test gets a fresh store from open(), so tests never share data.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CompositeIndex } from '../../shared/domain/collections.ts';
import type { DocumentStore, DocData, DocSnapshot, Query, Transaction } from '../../shared/ports/document-store.ts';

export interface OpenedStore {
  readonly store: DocumentStore;
  dispose(): Promise<void>;
}

/**
 * The composite indexes the contract's queries need (an equality filter plus an order on another field): a store
 * that checks indexes, as the embedded one does, must be opened with these. The Firestore emulator needs none.
 */
export const documentStoreContractIndexes: readonly CompositeIndex[] = (['ASCENDING', 'DESCENDING'] as const).map((order) => ({
  collection: 'pages',
  fields: [
    { field_path: 'kind', order: 'ASCENDING' },
    { field_path: 'at', order },
  ],
}));

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export function describeDocumentStoreContract(name: string, open: () => Promise<OpenedStore>): void {
  describe(`DocumentStore contract: ${name}`, () => {
    let opened: OpenedStore | undefined;
    const store = (): DocumentStore => {
      if (!opened) throw new Error('store not opened');
      return opened.store;
    };

    beforeEach(async () => {
      opened = await open();
    });

    afterEach(async () => {
      await opened?.dispose();
      opened = undefined;
    });

    describe('documents', () => {
      it('create is create-if-absent: true once, then false, keeping the first data', async () => {
        expect(await store().create('assets/a1', { n: 1 })).toBe(true);
        expect(await store().create('assets/a1', { n: 2 })).toBe(false);
        expect(await store().get('assets/a1')).toEqual({ n: 1 });
      });

      it('exactly one of 20 concurrent creates wins, and its data is stored', async () => {
        const results = await Promise.all(Array.from({ length: 20 }, (_, i) => store().create('assets/race', { i })));
        expect(results.filter(Boolean)).toHaveLength(1);
        expect(await store().get('assets/race')).toEqual({ i: results.indexOf(true) });
      });

      it('set replaces the whole document, get of a missing one is undefined, delete removes', async () => {
        expect(await store().get('assets/a1')).toBeUndefined();
        await store().set('assets/a1', { a: 1, meta: { x: 1, y: 2 } });
        await store().set('assets/a1', { meta: { x: 3 } });
        expect(await store().get('assets/a1')).toEqual({ meta: { x: 3 } });
        await store().delete('assets/a1');
        await store().delete('assets/never');
        expect(await store().get('assets/a1')).toBeUndefined();
      });

      it('returns Dates as Dates at the top level, in maps and in arrays; ISO-looking strings stay strings', async () => {
        const at = new Date('2024-05-01T12:34:56.789Z');
        const iso = '2024-05-01T12:34:56.789Z';
        await store().set('assets/a1', { at, iso, nested: { inner: { at } }, list: [at, iso, { at }] });
        const doc = (await store().get<DocData>('assets/a1')) ?? {};
        const list = doc.list as readonly DocData[];
        const dates = [doc.at, ((doc.nested as DocData).inner as DocData).at, list[0], (list[2] as DocData).at];
        for (const date of dates) {
          expect(date).toBeInstanceOf(Date);
          expect((date as Date).getTime()).toBe(at.getTime());
        }
        expect(doc.iso).toBe(iso);
        expect(list[1]).toBe(iso);
      });

      it('hands out fresh copies and keeps no reference to the data it was given', async () => {
        const input = { n: 1, meta: { tags: ['a'] }, at: new Date(0) };
        await store().set('assets/a1', input);
        input.meta.tags.push('mutated-input');
        input.at.setTime(1);
        const read = (await store().get<{ n: number; meta: { tags: string[] }; at: Date }>('assets/a1'))!;
        read.n = 99;
        read.meta.tags.push('mutated-read');
        read.at.setTime(2);
        const [listed] = await store().list<{ meta: { tags: string[] } }>('assets');
        listed!.data.meta.tags.push('mutated-list');
        expect(await store().get('assets/a1')).toEqual({ n: 1, meta: { tags: ['a'] }, at: new Date(0) });
      });

      it('rejects bad paths and unstorable values, writing nothing', async () => {
        await expect(store().get('assets')).rejects.toThrow(/even number/);
        await expect(store().list('assets/a1')).rejects.toThrow(/odd number/);
        await expect(store().set('assets/a1', { meta: { size: undefined } } as unknown as DocData)).rejects.toThrow(
          /undefined.*"meta\.size"|"meta\.size".*undefined/,
        );
        await expect(store().set('assets/a1', { n: Number.NaN })).rejects.toThrow('Cannot store field "n": NaN cannot be stored');
        await expect(store().create('assets/a1', { grid: [[1]] })).rejects.toThrow('Cannot store field "grid[0]": arrays directly inside arrays');
        await expect(store().set('assets/a1', { at: new Date(Number.NaN) })).rejects.toThrow('Cannot store field "at": the Date is invalid');
        expect(await store().count('assets')).toBe(0);
      });
    });

    describe('queries', () => {
      it('list and count see only the direct collection, in document-id order', async () => {
        await store().set('assets/b', { n: 2 });
        await store().set('assets/a', { n: 1 });
        await store().set('assets/a/results/r1', { n: 3 });
        // A subcollection under an id that has no document itself: Firestore lists no such phantom parent.
        await store().set('assets/ghost/results/r2', { n: 4 });
        await store().set('other/c', { n: 5 });
        expect((await store().list('assets')).map((d) => d.path)).toEqual(['assets/a', 'assets/b']);
        expect(await store().count('assets')).toBe(2);
        expect(await store().list('assets/a/results')).toEqual([{ id: 'r1', path: 'assets/a/results/r1', data: { n: 3 } }]);
        expect(await store().count('assets/ghost/results')).toBe(1);
      });

      it('filters by equality on dotted fields, keeping types apart (true is not 1, missing is not null)', async () => {
        await store().set('assets/a', { source: { bucket: 'in' }, flag: true, gone: null });
        await store().set('assets/b', { source: { bucket: 'out' }, flag: 1 });
        await store().set('assets/c', { source: { bucket: 'in' }, flag: false });
        const ids = async (where: [string, '==', string | number | boolean | null][]): Promise<string[]> =>
          (await store().list('assets', { where })).map((d) => d.id);
        expect(await ids([['source.bucket', '==', 'in']])).toEqual(['a', 'c']);
        expect(await ids([['flag', '==', true]])).toEqual(['a']);
        expect(await ids([['flag', '==', 1]])).toEqual(['b']);
        expect(await ids([['gone', '==', null]])).toEqual(['a']);
        expect(
          await store().count('assets', {
            where: [
              ['source.bucket', '==', 'in'],
              ['flag', '==', false],
            ],
          }),
        ).toBe(1);
        expect(await store().count('assets', { where: [['source', '==', 'in']] })).toBe(0);
      });

      it('orders ascending and descending with ties broken by id, omitting documents lacking the field', async () => {
        for (const [id, rank] of [
          ['c', 2],
          ['b', 1],
          ['d', 0],
          ['a', 1],
          ['e', undefined],
        ] as const) {
          await store().set(`jobs/${id}`, rank === undefined ? { other: 1 } : { rank });
        }
        const ids = async (direction: 'asc' | 'desc', limit?: number): Promise<string[]> =>
          (await store().list('jobs', { orderBy: { field: 'rank', direction }, ...(limit === undefined ? {} : { limit }) })).map((d) => d.id);
        expect(await ids('asc')).toEqual(['d', 'a', 'b', 'c']);
        expect(await ids('desc')).toEqual(['c', 'b', 'a', 'd']);
        expect(await ids('desc', 2)).toEqual(['c', 'b']);
        expect(await ids('asc', 2)).toEqual(['d', 'a']);
        expect((await store().list('jobs', { orderBy: { field: 'rank' } })).map((d) => d.id)).toEqual(['d', 'a', 'b', 'c']);
        expect(await store().count('jobs', { orderBy: { field: 'rank' } })).toBe(4);
        expect(await store().count('jobs', { limit: 3 })).toBe(3);
      });

      it('orders Dates chronologically and mixed types as Firestore does', async () => {
        // Ids and ISO text disagree with chronology on purpose, so a wrong sort key shows.
        await store().set('jobs/a', { at: new Date('2024-03-01T00:00:00Z') });
        await store().set('jobs/b', { at: new Date('2025-01-01T00:00:00Z') });
        await store().set('jobs/c', { at: new Date('0999-12-31T00:00:00Z') });
        const newest = await store().list('jobs', { orderBy: { field: 'at', direction: 'desc' }, limit: 2 });
        expect(newest.map((d) => d.id)).toEqual(['b', 'a']);
        const values: [string, DocData['v']][] = [
          ['s1', 'b'],
          ['n2', 10],
          ['t1', true],
          ['d1', new Date(0)],
          ['z0', null],
          ['n1', 2.5],
          ['f1', false],
          ['s2', 'B'],
        ];
        for (const [id, v] of values) await store().set(`mixed/${id}`, { v });
        const order = (await store().list('mixed', { orderBy: { field: 'v' } })).map((d) => d.id);
        expect(order).toEqual(['z0', 'f1', 't1', 'n1', 'n2', 'd1', 's2', 's1']);
      });
    });

    describe('cursor paging (startAfter)', () => {
      type Page = { at: Date; kind: string };
      const BASE_MS = Date.parse('2024-06-01T00:00:00.000Z');

      /**
       * 25 documents whose ids disagree with their chronology, three to a timestamp, so page boundaries fall inside
       * runs of equal values and only the id tie-break keeps the pages apart. Returns them in ascending query order.
       */
      async function seedPages(): Promise<{ id: string; at: Date; kind: string }[]> {
        const docs = Array.from({ length: 25 }, (_, i) => ({
          id: `p${String((i * 7) % 25).padStart(2, '0')}`,
          at: new Date(BASE_MS + Math.floor(i / 3) * 60_000),
          kind: i % 2 === 0 ? 'even' : 'odd',
        }));
        await Promise.all(docs.map((doc) => store().set(`pages/${doc.id}`, { at: doc.at, kind: doc.kind })));
        return docs.sort((a, b) => a.at.getTime() - b.at.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      }

      /** Pages through the query, each page resuming after the last document of the one before. */
      async function pageThrough(query: Query, pageSize: number): Promise<string[][]> {
        const pages: string[][] = [];
        let last: DocSnapshot<Page> | undefined;
        for (;;) {
          const page: DocSnapshot<Page>[] = await store().list<Page>('pages', {
            ...query,
            limit: pageSize,
            ...(last ? { startAfter: { value: last.data.at, id: last.id } } : {}),
          });
          if (page.length > 0) pages.push(page.map((doc) => doc.id));
          if (page.length < pageSize) return pages;
          last = page.at(-1);
        }
      }

      const chunks = (ids: string[], size: number): string[][] =>
        Array.from({ length: Math.ceil(ids.length / size) }, (_, i) => ids.slice(i * size, (i + 1) * size));

      it('pages through a Date order ascending and descending, ties broken by id, each document once', async () => {
        const ids = (await seedPages()).map((doc) => doc.id);
        expect(await pageThrough({ orderBy: { field: 'at' } }, 10)).toEqual(chunks(ids, 10));
        expect(await pageThrough({ orderBy: { field: 'at', direction: 'desc' } }, 10)).toEqual(chunks([...ids].reverse(), 10));
        // A page size dividing the total: the last full page is followed by an empty one.
        expect((await pageThrough({ orderBy: { field: 'at' } }, 5)).flat()).toEqual(ids);
      });

      it('starts strictly after (value, id): the rest of a run of equal values, then later values', async () => {
        const docs = await seedPages();
        // docs[3..5] share a timestamp; a cursor on the middle one keeps only the last of the run, then goes on.
        const cursor = { value: docs[4]!.at, id: docs[4]!.id };
        const after = await store().list('pages', { orderBy: { field: 'at' }, startAfter: cursor, limit: 3 });
        expect(after.map((doc) => doc.id)).toEqual(docs.slice(5, 8).map((doc) => doc.id));
        const before = await store().list('pages', { orderBy: { field: 'at', direction: 'desc' }, startAfter: cursor });
        expect(before.map((doc) => doc.id)).toEqual(
          docs
            .slice(0, 4)
            .map((doc) => doc.id)
            .reverse(),
        );
        // The cursor is a position, not a document: it holds after that document is deleted.
        await store().delete(`pages/${docs[4]!.id}`);
        expect((await store().list('pages', { orderBy: { field: 'at' }, startAfter: cursor, limit: 3 })).map((doc) => doc.id)).toEqual(
          docs.slice(5, 8).map((doc) => doc.id),
        );
        // count counts what list would return: everything after the cursor, limit included.
        expect(await store().count('pages', { orderBy: { field: 'at' }, startAfter: cursor })).toBe(20);
        expect(await store().count('pages', { orderBy: { field: 'at' }, startAfter: cursor, limit: 7 })).toBe(7);
        expect(await store().count('pages', { orderBy: { field: 'at', direction: 'desc' }, startAfter: cursor })).toBe(4);
        const last = docs.at(-1)!;
        expect(await store().list('pages', { orderBy: { field: 'at' }, startAfter: { value: last.at, id: last.id } })).toEqual([]);
      });

      it('pages together with an equality filter, in both directions', async () => {
        const even = (await seedPages()).filter((doc) => doc.kind === 'even').map((doc) => doc.id);
        expect(even).toHaveLength(13);
        const where = [['kind', '==', 'even']] as const;
        expect(await pageThrough({ where, orderBy: { field: 'at' } }, 5)).toEqual(chunks(even, 5));
        expect(await pageThrough({ where, orderBy: { field: 'at', direction: 'desc' } }, 5)).toEqual(chunks([...even].reverse(), 5));
        const docs = await store().list<Page>('pages', { where, orderBy: { field: 'at' }, limit: 5 });
        const cursor = { value: docs.at(-1)!.data.at, id: docs.at(-1)!.id };
        expect(await store().count('pages', { where, orderBy: { field: 'at' }, startAfter: cursor })).toBe(8);
      });

      it('places a cursor of one type among values of others as Firestore orders types', async () => {
        const values: [string, DocData['v']][] = [
          ['s1', 'b'],
          ['n2', 10],
          ['t1', true],
          ['d1', new Date(0)],
          ['z0', null],
          ['n1', 2.5],
          ['f1', false],
          ['s2', 'B'],
        ];
        for (const [id, v] of values) await store().set(`mixed/${id}`, { v });
        const ids = async (direction: 'asc' | 'desc', value: string | number | Date, id: string): Promise<string[]> =>
          (await store().list('mixed', { orderBy: { field: 'v', direction }, startAfter: { value, id } })).map((doc) => doc.id);
        // The full order: z0 f1 t1 n1 n2 d1 s2 s1.
        expect(await ids('asc', 10, 'n2')).toEqual(['d1', 's2', 's1']);
        expect(await ids('asc', 10, 'a')).toEqual(['n2', 'd1', 's2', 's1']);
        expect(await ids('asc', 3, 'zz')).toEqual(['n2', 'd1', 's2', 's1']);
        expect(await ids('asc', new Date(0), 'd1')).toEqual(['s2', 's1']);
        expect(await ids('asc', 'B', 's2')).toEqual(['s1']);
        expect(await ids('desc', new Date(0), 'd1')).toEqual(['n2', 'n1', 't1', 'f1', 'z0']);
        expect(await ids('desc', 'b', 's1')).toEqual(['s2', 'd1', 'n2', 'n1', 't1', 'f1', 'z0']);
        expect(await ids('desc', 2.5, 'n1')).toEqual(['t1', 'f1', 'z0']);
      });

      it('refuses a cursor without orderBy, and an invalid cursor value or id', async () => {
        await store().set('pages/a', { at: new Date(BASE_MS), kind: 'even' });
        const cursor = { value: new Date(BASE_MS), id: 'a' };
        await expect(store().list('pages', { startAfter: cursor })).rejects.toThrow(
          "Invalid startAfter: a cursor is a position in the query's order, so it needs orderBy",
        );
        await expect(store().count('pages', { where: [['kind', '==', 'even']], startAfter: cursor })).rejects.toThrow(/needs orderBy/);
        const orderBy = { field: 'at' };
        for (const value of [Number.NaN, Number.POSITIVE_INFINITY, new Date(Number.NaN), new Date('+010000-01-01T00:00:00Z'), true, null]) {
          const startAfter = { value, id: 'a' } as unknown as Query['startAfter'];
          await expect(store().list('pages', { orderBy, startAfter })).rejects.toThrow(
            /^Invalid startAfter value .*: use a string, a finite number or a valid Date/,
          );
        }
        for (const id of ['', 'pages/a', 7]) {
          const startAfter = { value: 'x', id } as unknown as Query['startAfter'];
          await expect(store().count('pages', { orderBy, startAfter })).rejects.toThrow(/^Invalid startAfter id .*: use the document id/);
        }
      });
    });

    describe('transactions', () => {
      it('writes nothing when fn throws after writing, and rethrows that very error', async () => {
        await store().set('counters/c', { n: 1 });
        const boom = new Error('boom');
        await expect(
          store().runTransaction(async (tx) => {
            await tx.get('counters/c');
            tx.set('counters/c', { n: 2 });
            tx.set('counters/d', { n: 3 });
            throw boom;
          }),
        ).rejects.toBe(boom);
        expect(await store().get('counters/c')).toEqual({ n: 1 });
        expect(await store().get('counters/d')).toBeUndefined();
      });

      it("reads committed data, commits all writes together and returns fn's result", async () => {
        await store().set('counters/x', { n: 1, at: new Date(5) });
        const result = await store().runTransaction(async (tx) => {
          const x = await tx.get<{ n: number; at: Date }>('counters/x');
          const missing = await tx.get('counters/missing');
          tx.set('counters/y', { n: (x?.n ?? 0) + 1 });
          tx.delete('counters/x');
          return { x, missing };
        });
        expect(result).toEqual({ x: { n: 1, at: new Date(5) }, missing: undefined });
        expect(result.x?.at).toBeInstanceOf(Date);
        expect(await store().list('counters')).toEqual([{ id: 'y', path: 'counters/y', data: { n: 2 } }]);
      });

      it('rejects a read after a write, as Firestore does, and writes nothing', async () => {
        await expect(
          store().runTransaction(async (tx) => {
            tx.set('counters/c', { n: 1 });
            return tx.get('counters/c');
          }),
        ).rejects.toThrow('Firestore transactions require all reads to be executed before all writes');
        expect(await store().get('counters/c')).toBeUndefined();
      });

      it('refuses a Transaction used after fn has finished', async () => {
        let leaked: Transaction | undefined;
        await store().runTransaction(async (tx) => {
          leaked = tx;
        });
        expect(() => leaked?.set('counters/late', { n: 1 })).toThrow(/transaction has finished/);
        expect(await store().get('counters/late')).toBeUndefined();
      });

      it('loses no update across 10 concurrent read-modify-write transactions', async () => {
        // Ten, not more: the Firestore emulator serialises contended transactions slowly.
        await Promise.all(
          Array.from({ length: 10 }, () =>
            store().runTransaction(async (tx) => {
              const doc = await tx.get<{ n: number }>('counters/c');
              await tick();
              tx.set('counters/c', { n: (doc?.n ?? 0) + 1 });
            }),
          ),
        );
        expect(await store().get('counters/c')).toEqual({ n: 10 });
      });
    });

    it('close lets later operations reject, and closing again is harmless', async () => {
      await store().set('assets/a1', { n: 1 });
      await store().close();
      await expect(store().get('assets/a1')).rejects.toThrow(/closed/);
      await store().close();
    });
  });
}
