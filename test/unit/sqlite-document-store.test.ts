import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteDocumentStore } from '../../shared/adapters/local/document-store.ts';
import type { DocData } from '../../shared/ports/document-store.ts';

const dirs: string[] = [];
const stores: SqliteDocumentStore[] = [];

function dbFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'mediaflow-store-'));
  dirs.push(dir);
  return join(dir, 'nested', 'store.db');
}

function open(file = dbFile()): SqliteDocumentStore {
  const store = SqliteDocumentStore.open(file);
  stores.push(store);
  return store;
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('SqliteDocumentStore documents', () => {
  it('round-trips Dates, including inside arrays and maps, and keeps ISO-looking strings as strings', async () => {
    const store = open();
    const at = new Date('2024-05-01T12:34:56.789Z');
    await store.set('assets/a1', { at, label: '2024-05-01T12:34:56.789Z', list: [at, 'x'], nested: { inner: { at } } });
    const doc = await store.get<DocData>('assets/a1');
    expect(doc?.at).toBeInstanceOf(Date);
    expect((doc?.at as Date).getTime()).toBe(at.getTime());
    expect(doc?.label).toBe('2024-05-01T12:34:56.789Z');
    expect((doc?.list as unknown[])[0]).toBeInstanceOf(Date);
    expect((doc?.list as unknown[])[1]).toBe('x');
    expect(((doc?.nested as DocData).inner as DocData).at).toEqual(at);
  });

  it('create is create-if-absent: true once, then false, and exactly one of 50 concurrent calls wins', async () => {
    const store = open();
    expect(await store.create('assets/a1', { n: 1 })).toBe(true);
    expect(await store.create('assets/a1', { n: 2 })).toBe(false);
    expect(await store.get('assets/a1')).toEqual({ n: 1 });
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => store.create('assets/race', { i })));
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('set replaces the whole document, delete removes it, and returned data is a fresh copy', async () => {
    const store = open();
    await store.set('assets/a1', { a: 1, b: 2 });
    await store.set('assets/a1', { c: 3 });
    const doc = (await store.get<{ c: number }>('assets/a1')) as { c: number };
    expect(doc).toEqual({ c: 3 });
    doc.c = 99;
    expect(await store.get('assets/a1')).toEqual({ c: 3 });
    await store.delete('assets/a1');
    expect(await store.get('assets/a1')).toBeUndefined();
  });

  it('persists across close and reopen, and a second connection sees committed data', async () => {
    const file = dbFile();
    const first = SqliteDocumentStore.open(file);
    await first.set('assets/a1', { status: 'done' });
    const second = open(file);
    expect(await second.get('assets/a1')).toEqual({ status: 'done' });
    expect(await second.create('assets/a1', { status: 'other' })).toBe(false);
    await first.close();
    await expect(first.get('assets/a1')).rejects.toThrow(/closed/);
    expect(await open(file).get('assets/a1')).toEqual({ status: 'done' });
  });

  it('rejects invalid paths and unstorable values with messages naming the problem', async () => {
    const store = open();
    await expect(store.get('assets')).rejects.toThrow(/document path needs an even number of segments/);
    await expect(store.list('assets/a1')).rejects.toThrow(/collection path needs an odd number of segments/);
    await expect(store.set('assets//a1/x', {})).rejects.toThrow(/empty segment/);
    await expect(store.set('assets/..', {})).rejects.toThrow(/"\.\."/);
    await expect(store.set('assets/__id__', {})).rejects.toThrow(/reserved/);
    await expect(store.set('assets/a1', { meta: { size: undefined } } as unknown as DocData)).rejects.toThrow(/"meta\.size".*undefined/);
    await expect(store.set('assets/a1', { when: new Map() } as unknown as DocData)).rejects.toThrow(/"when".*Map/);
    await expect(store.set('assets/a1', { n: Number.NaN })).rejects.toThrow(/"n".*NaN/);
    await expect(store.set('assets/a1', { grid: [[1]] })).rejects.toThrow(/"grid\[0\]".*arrays/);
    expect(await store.count('assets')).toBe(0);
  });
});

describe('SqliteDocumentStore queries', () => {
  it('list and count see only the direct collection, in document-id order', async () => {
    const store = open();
    await store.set('assets/b', { n: 2 });
    await store.set('assets/a', { n: 1 });
    await store.set('assets/a/results/r1', { n: 3 });
    await store.set('other/c', { n: 4 });
    expect((await store.list('assets')).map((d) => d.path)).toEqual(['assets/a', 'assets/b']);
    expect(await store.count('assets')).toBe(2);
    expect(await store.list('assets/a/results')).toEqual([{ id: 'r1', path: 'assets/a/results/r1', data: { n: 3 } }]);
  });

  it('filters on nested fields and keeps types apart (true is not 1, missing is not null)', async () => {
    const store = open();
    await store.set('assets/a', { source: { bucket: 'in' }, flag: true, gone: null });
    await store.set('assets/b', { source: { bucket: 'out' }, flag: 1 });
    await store.set('assets/c', { source: { bucket: 'in' }, flag: false });
    expect((await store.list('assets', { where: [['source.bucket', '==', 'in']] })).map((d) => d.id)).toEqual(['a', 'c']);
    expect((await store.list('assets', { where: [['flag', '==', true]] })).map((d) => d.id)).toEqual(['a']);
    expect((await store.list('assets', { where: [['flag', '==', 1]] })).map((d) => d.id)).toEqual(['b']);
    expect((await store.list('assets', { where: [['gone', '==', null]] })).map((d) => d.id)).toEqual(['a']);
    expect(
      await store.count('assets', {
        where: [
          ['source.bucket', '==', 'in'],
          ['flag', '==', false],
        ],
      }),
    ).toBe(1);
  });

  it('orders Dates chronologically, descending with a limit, and omits documents lacking the field', async () => {
    const store = open();
    // Ids and ISO strings disagree with chronology on purpose, so a wrong sort key shows.
    await store.set('jobs/a', { at: new Date('2024-03-01T00:00:00Z') });
    await store.set('jobs/b', { at: new Date('2025-01-01T00:00:00Z') });
    await store.set('jobs/c', { at: new Date('2023-12-31T00:00:00Z') });
    await store.set('jobs/d', { other: 1 });
    const newest = await store.list('jobs', { orderBy: { field: 'at', direction: 'desc' }, limit: 2 });
    expect(newest.map((d) => d.id)).toEqual(['b', 'a']);
    const all = await store.list('jobs', { orderBy: { field: 'at' } });
    expect(all.map((d) => d.id)).toEqual(['c', 'a', 'b']);
    expect(await store.count('jobs', { orderBy: { field: 'at' } })).toBe(3);
  });
});

describe('SqliteDocumentStore transactions', () => {
  it('writes nothing when fn throws after writing, and propagates the error', async () => {
    const store = open();
    await store.set('counters/c', { n: 1 });
    const boom = new Error('boom');
    await expect(
      store.runTransaction(async (tx) => {
        await tx.get('counters/c');
        tx.set('counters/c', { n: 2 });
        tx.set('counters/d', { n: 3 });
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(await store.get('counters/c')).toEqual({ n: 1 });
    expect(await store.get('counters/d')).toBeUndefined();
  });

  it("commits all writes together and returns fn's result", async () => {
    const store = open();
    const result = await store.runTransaction((tx) => {
      tx.set('counters/x', { n: 1 });
      tx.set('counters/y', { n: 2 });
      tx.delete('counters/x');
      return Promise.resolve('ok');
    });
    expect(result).toBe('ok');
    expect(await store.list('counters')).toEqual([{ id: 'y', path: 'counters/y', data: { n: 2 } }]);
  });

  it('rejects a read after a write, as Firestore does', async () => {
    const store = open();
    await expect(
      store.runTransaction(async (tx) => {
        tx.set('counters/c', { n: 1 });
        return tx.get('counters/c');
      }),
    ).rejects.toThrow('Firestore transactions require all reads to be executed before all writes');
    expect(await store.get('counters/c')).toBeUndefined();
  });

  it('loses no update across 20 concurrent read-modify-write transactions', async () => {
    const store = open();
    await Promise.all(
      Array.from({ length: 20 }, () =>
        store.runTransaction(async (tx) => {
          const doc = await tx.get<{ n: number }>('counters/c');
          await tick();
          tx.set('counters/c', { n: (doc?.n ?? 0) + 1 });
        }),
      ),
    );
    expect(await store.get('counters/c')).toEqual({ n: 20 });
  });

  it('reruns fn when another connection changed a document it read before commit', async () => {
    const file = dbFile();
    const store = open(file);
    const other = open(file);
    await store.set('counters/c', { n: 0 });
    let runs = 0;
    await store.runTransaction(async (tx) => {
      runs++;
      const doc = await tx.get<{ n: number }>('counters/c');
      if (runs === 1) await other.set('counters/c', { n: 10 });
      tx.set('counters/c', { n: (doc?.n ?? 0) + 1 });
    });
    expect(runs).toBe(2);
    expect(await store.get('counters/c')).toEqual({ n: 11 });
  });

  it('fails loudly instead of deadlocking when fn uses the store directly', async () => {
    const store = open();
    await expect(store.runTransaction(() => store.get('counters/c'))).rejects.toThrow(/use the Transaction/);
    expect(await store.count('counters')).toBe(0);
  });
});
