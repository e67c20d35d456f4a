/**
 * Reconciling the ingest bucket: objects uploaded while notifications were off (a lost notification, a bucket that
 * predates the deployment) all end READY after one run, and a second run does nothing. Through the library on the
 * embedded runtime, and through `mediaflow reconcile` as a user backfills a bucket.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { jpegImage } from '../../scripts/sample-media/sample-media.ts';
import { LocalBlobStore } from '../../shared/adapters/local/blob-store.ts';
import { uploadAssetId } from '../../shared/domain/asset-id.ts';
import { BUCKETS_DIR } from '../../shared/runtime/embedded.ts';
import { reconcileIngestBucket } from '../../shared/runtime/reconcile.ts';
import { reconcileHours } from '../../functions/watchdog/run.ts';
import { mediaflow } from '../support/cli.ts';
import { startTestRuntime, type TestRuntime } from '../support/embedded.ts';

let runtime: TestRuntime | undefined;
afterEach(async () => {
  await runtime?.dispose();
  runtime = undefined;
});
const scratch: string[] = [];
afterAll(async () => {
  await Promise.all(scratch.map((dir) => rm(dir, { recursive: true, force: true })));
});

/** The ingest bucket as GCS with notifications switched off: the same folders, no finalize events. */
function silentBucket(dataDir: string, bucket: string): LocalBlobStore {
  return new LocalBlobStore({ root: path.join(dataDir, BUCKETS_DIR), buckets: [bucket] });
}

async function photos(dir: string, names: readonly string[]): Promise<string[]> {
  return Promise.all(names.map((name, index) => jpegImage('ffmpeg', path.join(dir, name), { width: 160 + 16 * index, height: 120 })));
}

describe('reconcileIngestBucket', () => {
  it('ingests the objects that have no asset, at most at the given rate, and a second run does nothing', async () => {
    const rt = await startTestRuntime({ env: { MEDIAFLOW_EMBEDDED_WATCHDOG_INTERVAL_SECONDS: '0' } });
    runtime = rt;
    const bucket = rt.deps.config.buckets.ingest;
    const silent = silentBucket(rt.dataDir, bucket);
    const files = await photos(rt.dataDir, ['a.jpg', 'b.jpg', 'c.jpg']);
    const metas = await Promise.all(files.map((file) => silent.upload(file, { bucket, name: `backfill/${path.basename(file)}` })));
    await rt.idle();
    const ids = metas.map((meta) => uploadAssetId(meta.bucket, meta.name, meta.generation));
    for (const id of ids) expect(await rt.asset(id)).toBeUndefined();

    const dry = await reconcileIngestBucket(rt.deps, { dryRun: true, ratePerSecond: 50 });
    expect(dry).toMatchObject({ listed: 3, withAsset: 0, missingCount: 3, published: 0 });
    await rt.idle();
    for (const id of ids) expect(await rt.asset(id)).toBeUndefined();

    const started = Date.now();
    const first = await reconcileIngestBucket(rt.deps, { dryRun: false, ratePerSecond: 20 });
    // Three notifications at 20 per second leave two gaps of 50 ms between them.
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
    expect(first).toMatchObject({ listed: 3, missingCount: 3, published: 3 });
    expect([...first.assetIds].sort()).toEqual([...ids].sort());
    await rt.idle();
    for (const id of ids) expect((await rt.asset(id))?.status).toBe('READY');

    const second = await reconcileIngestBucket(rt.deps, { dryRun: false, ratePerSecond: 20 });
    expect(second).toMatchObject({ listed: 3, withAsset: 3, missingCount: 0, published: 0 });
  });

  it('keeps to the prefix and to --since', async () => {
    const rt = await startTestRuntime({ env: { MEDIAFLOW_EMBEDDED_WATCHDOG_INTERVAL_SECONDS: '0' } });
    runtime = rt;
    const bucket = rt.deps.config.buckets.ingest;
    const silent = silentBucket(rt.dataDir, bucket);
    const [old, fresh] = await photos(rt.dataDir, ['old.jpg', 'fresh.jpg']);
    await silent.upload(old!, { bucket, name: 'one/old.jpg' });
    const cut = new Date(Date.now() + 5);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await silent.upload(fresh!, { bucket, name: 'two/fresh.jpg' });
    expect(await reconcileIngestBucket(rt.deps, { dryRun: true, ratePerSecond: 50, prefix: 'one/' })).toMatchObject({ listed: 1, missing: ['one/old.jpg'] });
    expect(await reconcileIngestBucket(rt.deps, { dryRun: true, ratePerSecond: 50, since: cut })).toMatchObject({
      listed: 2,
      skipped: 1,
      missing: ['two/fresh.jpg'],
    });
  });
});

describe("the watchdog's scheduled reconcile", () => {
  it('a tick asking for it ingests the recent objects with no asset; a plain tick does not', async () => {
    const rt = await startTestRuntime({ env: { MEDIAFLOW_EMBEDDED_WATCHDOG_INTERVAL_SECONDS: '0' } });
    runtime = rt;
    const bucket = rt.deps.config.buckets.ingest;
    const [file] = await photos(rt.dataDir, ['late.jpg']);
    const meta = await silentBucket(rt.dataDir, bucket).upload(file!, { bucket, name: 'late.jpg' });
    const id = uploadAssetId(meta.bucket, meta.name, meta.generation);
    const tick = async (body: unknown): Promise<void> => {
      await rt.bus.publish(rt.deps.config.topics.watchdogTicks, { data: Buffer.from(JSON.stringify(body)), attributes: {} });
      await rt.idle();
    };
    await tick({});
    expect(await rt.asset(id)).toBeUndefined();
    await tick({ reconcile: { sinceHours: 1 } });
    expect((await rt.asset(id))?.status).toBe('READY');
  });

  it.each([
    ['a plain tick', '{}', undefined],
    ['not JSON', 'tick', undefined],
    ['a negative look-back', '{"reconcile":{"sinceHours":-3}}', undefined],
    ['a look-back as text', '{"reconcile":{"sinceHours":"24"}}', undefined],
    ['a day', '{"reconcile":{"sinceHours":24}}', 24],
    ['a year, bounded to a week', '{"reconcile":{"sinceHours":8760}}', 168],
  ])('reads %s as %s hours', (_case, body, hours) => {
    const delivery = { messageId: '1', publishTime: new Date(), data: Buffer.from(body), attributes: {}, deliveryAttempt: 1, subscription: 's', topic: 't' };
    expect(reconcileHours(delivery)).toBe(hours);
  });
});

describe('mediaflow reconcile', () => {
  it('backfills a bucket filled before mediaflow ran: every object READY, exit 0; run again, nothing to do', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'mediaflow-reconcile-'));
    scratch.push(dir);
    const out = path.join(dir, 'out');
    const silent = silentBucket(out, 'mediaflow-ingest');
    for (const file of await photos(dir, ['x.jpg', 'y.jpg'])) await silent.upload(file, { bucket: 'mediaflow-ingest', name: path.basename(file) });

    const first = await mediaflow(['reconcile', '--json', '--out', out]);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const report = JSON.parse(first.stdout) as { missingCount: number; published: number; statuses: string[] };
    expect(report).toMatchObject({ missingCount: 2, published: 2, statuses: ['READY', 'READY'] });

    const second = await mediaflow(['reconcile', '--out', out]);
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/2 objects listed, 0 skipped .*, 2 already have their asset; ingested 0/);
  });
});
