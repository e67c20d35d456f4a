/**
 * `mediaflow cost` as a user runs it, on an embedded state holding assets with and without a recorded cost: the
 * sums per kind, the --since cut and the JSON rows.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteDocumentStore } from '../../shared/adapters/local/document-store.ts';
import { newAssetDoc, type AssetDoc } from '../../shared/domain/asset.ts';
import { collections } from '../../shared/domain/collections.ts';
import { addStepCost, costOf } from '../../shared/domain/cost.ts';
import { STATE_FILE } from '../../shared/runtime/embedded.ts';
import { mediaflow } from '../support/cli.ts';
import { uploadSource } from '../support/asset-source.ts';

let out: string;

function asset(name: string, kind: AssetDoc['kind'], updatedAt: string, cpuSeconds: number | null): AssetDoc {
  const at = new Date(updatedAt);
  const doc = newAssetDoc({
    id: `ingest/${name}#1`,
    source: uploadSource(name, { size: 1 }),
    profile: 'default',
    previousVersion: null,
    now: at,
  });
  const usage = { cpuSeconds: cpuSeconds ?? 0, wallSeconds: 10, bytesRead: 1_000_000, bytesWritten: 500_000 };
  return { ...doc, kind, status: 'READY', ...(cpuSeconds === null ? {} : { cost: addStepCost(undefined, 'audio', costOf('audio', usage)) }) };
}

beforeAll(async () => {
  out = await mkdtemp(path.join(os.tmpdir(), 'mediaflow-cli-cost-'));
  const store = SqliteDocumentStore.open(path.join(out, STATE_FILE));
  for (const doc of [
    asset('a.mp4', 'video', '2026-12-06T10:00:00Z', 4),
    asset('b.mp4', 'video', '2026-12-06T11:00:00Z', 6),
    asset('c.wav', 'audio', '2026-12-06T11:30:00Z', 1),
    asset('d.wav', 'audio', '2026-12-06T11:45:00Z', null),
    asset('old.jpg', 'image', '2026-11-01T00:00:00Z', 100),
  ])
    await store.set(collections.assets.doc(doc.id), doc);
  await store.close();
});
afterAll(async () => {
  await rm(out, { recursive: true, force: true });
});

describe('mediaflow cost', () => {
  it('--group-by kind --json: one row per kind since T, summed', async () => {
    const result = await mediaflow(['cost', '--out', out, '--since', '2026-12-06T00:00:00Z', '--group-by', 'kind', '--json']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const rows = result.stdout
      .trim()
      .split('\n')
      .map(
        (line) => JSON.parse(line) as { kind: string; assets: number; withoutCost: number; figures: { cpuSeconds: number; gbSeconds: number; usd: number } },
      );
    expect(rows.map((row) => [row.kind, row.assets, row.withoutCost, row.figures.cpuSeconds, row.figures.gbSeconds])).toEqual([
      ['video', 2, 0, 10, 80],
      ['audio', 2, 1, 1, 40],
    ]);
    expect(rows[0]!.figures.usd).toBeGreaterThan(rows[1]!.figures.usd);
  });

  it('prints a table a person reads, and refuses an unknown grouping', async () => {
    const table = await mediaflow(['cost', '--out', out, '--group-by', 'kind']);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^kind\s+count\s+cpu\s+GiB-s/);
    expect(table.stdout).toMatch(/\nimage\s+1\s+100 s/);
    expect(table.stdout).toContain('all assets: 5 (1 with no recorded usage)');
    const wrong = await mediaflow(['cost', '--out', out, '--group-by', 'colour']);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('--group-by must be one of kind, partner, profile');
  });
});
