/**
 * Reprocessing by stage on the embedded runtime, with the real steps: a recipe bump is deployed (a runtime started
 * on the same state with a registry whose thumbnail declares recipe 2), and a reprocess job re-runs thumbnail and
 * the tag step that depends on it over 50 READY photos at a rate limit. It is stopped half-way and resumed by a
 * fresh process; every asset ends with one consistent output set, switched once, announced once.
 */
import { access, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { jpegImage } from '../../scripts/sample-media/sample-media.ts';
import { syncMarkClip } from '../../scripts/sample-media/sample-video.ts';
import { EventType } from '../../events/catalog.ts';
import { productionSteps } from '../../functions/registry.ts';
import { jobProgress, loadJob, newJob, runJob, startRuns, type ReprocessJob } from '../../functions/coordinator/reprocess-job.ts';
import { uploadAssetId } from '../../shared/domain/asset-id.ts';
import type { AssetDoc } from '../../shared/domain/asset.ts';
import { collections } from '../../shared/domain/collections.ts';
import { createStepRegistry, type StepDefinition, type StepRegistry } from '../../shared/domain/step.ts';
import { PermanentError } from '../../shared/errors.ts';
import { startTestRuntime, type TestRuntime } from '../support/embedded.ts';
import { decodeErrors, hlsRegistry, localPath } from '../support/hls.ts';
import { urisIn } from '../support/step-outputs.ts';

const runtimes: TestRuntime[] = [];
const scratch: string[] = [];
afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((rt) => rt.dispose()));
});
afterAll(async () => {
  await Promise.all(scratch.map((dir) => rm(dir, { recursive: true, force: true })));
});

async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  scratch.push(dir);
  return dir;
}

async function start(dataDir: string, steps: StepRegistry): Promise<TestRuntime> {
  const rt = await startTestRuntime({ dataDir, steps, env: { MEDIAFLOW_EMBEDDED_WATCHDOG_INTERVAL_SECONDS: '0' } });
  runtimes.push(rt);
  return rt;
}

async function stop(rt: TestRuntime): Promise<void> {
  runtimes.splice(runtimes.indexOf(rt), 1);
  await rt.dispose();
}

/** productionSteps with one step replaced: what a deploy of a new recipe (or a broken one) runs. */
function redeployed(step: string, change: (definition: StepDefinition) => StepDefinition): StepRegistry {
  return createStepRegistry([...productionSteps.values()].map((definition) => (definition.name === step ? change(definition) : definition)));
}

const thumbnailRecipe2 = redeployed('thumbnail', (definition) => ({ ...definition, recipeVersion: '2' }));

async function uploadAll(rt: TestRuntime, files: readonly string[]): Promise<string[]> {
  const ids: string[] = [];
  for (const file of files) {
    const meta = await rt.blobs.upload(file, { bucket: rt.deps.config.buckets.ingest, name: `catalogue/${path.basename(file)}` });
    ids.push(uploadAssetId(meta.bucket, meta.name, meta.generation));
  }
  await rt.idle();
  return ids;
}

async function assets(rt: TestRuntime, ids: readonly string[]): Promise<AssetDoc[]> {
  return Promise.all(ids.map(async (id) => (await rt.asset(id)) ?? expect.fail(`no asset ${id}`)));
}

function updatedEvents(...rts: TestRuntime[]): { id: string; assetId: string }[] {
  return rts.flatMap((rt) =>
    rt.assetEvents
      .filter((event) => event.attributes['ce-type'] === EventType.assetUpdated)
      .map((event) => ({ id: event.attributes['ce-id']!, assetId: (JSON.parse(event.data.toString()) as { assetId: string }).assetId })),
  );
}

describe('mediaflow reprocess on the embedded runtime', () => {
  it('re-runs thumbnail and tag on 50 photos at a rate limit, resumes after a stop half-way, and leaves no asset with mixed recipes', async () => {
    const dataDir = await tempDir('mediaflow-reprocess-');
    const media = await tempDir('mediaflow-reprocess-media-');
    const files = await Promise.all(
      Array.from({ length: 50 }, (_, i) => jpegImage('ffmpeg', path.join(media, `p${i}.jpg`), { width: 64 + 2 * i, height: 48 })),
    );

    const first = await start(dataDir, productionSteps);
    const ids = await uploadAll(first, files);
    const before = await assets(first, ids);
    expect(before.map((asset) => asset.status)).toEqual(ids.map(() => 'READY'));
    expect(before.map((asset) => asset.steps.thumbnail?.provenance?.recipeVersion)).toEqual(ids.map(() => '1'));
    await stop(first);

    // The new recipe is deployed; a job picks the photos still on the old one.
    const second = await start(dataDir, thumbnailRecipe2);
    const job = newJob(second.deps, { step: 'thumbnail', kind: 'image', where: 'recipe<2', ratePerSecond: 25, by: 'test' });
    const stopHalfWay = new AbortController();
    const stopped = await runJob(second.deps, job, {
      start: startRuns(second.deps, job),
      signal: stopHalfWay.signal,
      onProgress: (saved) => (saved.counts.started >= 25 ? stopHalfWay.abort() : undefined),
    });
    await second.idle();
    expect(stopped).toMatchObject({ state: 'RUNNING', counts: { examined: 25, started: 25 } });
    expect(await loadJob(second.deps, job.id)).toMatchObject({ state: 'RUNNING', counts: { started: 25 }, cursor: { id: expect.any(String) as unknown } });
    const halfWay = await assets(second, ids);
    expect(halfWay.filter((asset) => asset.lastReprocess?.status === 'SUCCEEDED')).toHaveLength(25);
    expect(halfWay.filter((asset) => asset.lastReprocess === undefined)).toHaveLength(25);
    expect(halfWay.every((asset) => asset.status === 'READY' && asset.reprocess === undefined)).toBe(true);
    await stop(second);

    // A fresh process resumes from the stored cursor.
    const third = await start(dataDir, thumbnailRecipe2);
    const resumed = (await loadJob(third.deps, job.id)) ?? expect.fail('the job document is gone');
    const startedAt = Date.now();
    const finished: ReprocessJob = await runJob(third.deps, resumed, { start: startRuns(third.deps, resumed) });
    // 25 more runs at 25 per second: 24 gaps of 40 ms at least.
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(24 * 40);
    await third.idle();
    expect(finished).toMatchObject({ state: 'STARTED', counts: { examined: 50, notSelected: 0, started: 50, alreadyStarted: 0, refused: {} } });
    expect(await jobProgress(third.deps, job.id)).toEqual({ inFlight: 0, updated: 50, failed: 0 });

    const version = `r2.${job.id}`;
    for (const [index, asset] of (await assets(third, ids)).entries()) {
      const old = before[index]!;
      expect(asset).toMatchObject({ status: 'READY', lastReprocess: { job: job.id, status: 'SUCCEEDED', versions: { thumbnail: version, tag: version } } });
      expect(asset.reprocess).toBeUndefined();
      // One recipe per asset: the re-run steps' outputs are all the new run's, the others the first run's.
      expect(asset.steps.thumbnail).toMatchObject({ outputVersion: version, provenance: { recipeVersion: '2' } });
      expect(asset.steps.tag).toMatchObject({ outputVersion: version });
      expect(asset.steps.checksum).toEqual(old.steps.checksum);
      const uris = urisIn(asset.steps.thumbnail?.outputs);
      expect(uris.length).toBeGreaterThan(0);
      expect(uris.every((uri) => uri.includes(`/thumbnail/${version}/`))).toBe(true);
      // The first run's files are still there, untouched: a reader holding an old URI is never broken.
      for (const uri of urisIn(old.steps.thumbnail?.outputs)) await access(localPath(third, uri));
      expect(asset.history.filter((entry) => entry.event === 'REPROCESSED')).toHaveLength(1);
    }
    const updates = updatedEvents(second, third);
    expect(updates).toHaveLength(50);
    expect(new Set(updates.map((event) => event.assetId))).toEqual(new Set(ids));
    expect(new Set(updates.map((event) => event.id))).toEqual(new Set(ids.map((id) => `${id}/updated/${job.id}`)));

    // Everything is on recipe 2 now: the same selection finds nothing.
    const again = newJob(third.deps, { step: 'thumbnail', kind: 'image', where: 'recipe<2', ratePerSecond: 100, by: 'test' });
    expect(await runJob(third.deps, again, { start: startRuns(third.deps, again) })).toMatchObject({
      state: 'STARTED',
      counts: { examined: 50, notSelected: 50, started: 0 },
    });
  });

  it('keeps the old outputs, and says why, when a re-run step fails', async () => {
    const dataDir = await tempDir('mediaflow-reprocess-fail-');
    const media = await tempDir('mediaflow-reprocess-fail-media-');
    const first = await start(dataDir, productionSteps);
    const [id] = await uploadAll(first, [await jpegImage('ffmpeg', path.join(media, 'photo.jpg'), { width: 120, height: 90 })]);
    const before = (await first.asset(id!))!;
    await stop(first);

    const broken = redeployed('thumbnail', (definition) => ({
      ...definition,
      recipeVersion: '2',
      run: () => Promise.reject(new PermanentError('THUMBNAIL_FAILED', 'the new encoder settings are refused')),
    }));
    const rt = await start(dataDir, broken);
    const job = newJob(rt.deps, { step: 'thumbnail', kind: null, where: null, ratePerSecond: 10, by: 'test' });
    await runJob(rt.deps, job, { start: startRuns(rt.deps, job) });
    await rt.idle();
    const after = (await rt.asset(id!))!;
    expect(after.status).toBe('READY');
    expect(after.steps).toEqual(before.steps);
    expect(after.reprocess).toBeUndefined();
    expect(after.lastReprocess).toMatchObject({ job: job.id, status: 'FAILED', error: { step: 'thumbnail', code: 'THUMBNAIL_FAILED' } });
    expect(after.history.at(-1)).toMatchObject({ event: 'REPROCESS_FAILED', step: 'thumbnail' });
    expect(updatedEvents(rt)).toEqual([]);
    expect(await jobProgress(rt.deps, job.id)).toEqual({ inFlight: 0, updated: 0, failed: 1 });
  });

  it('fails the run, and keeps the outputs, when the source is gone', async () => {
    const dataDir = await tempDir('mediaflow-reprocess-gone-');
    const media = await tempDir('mediaflow-reprocess-gone-media-');
    const rt = await start(dataDir, productionSteps);
    const [id] = await uploadAll(rt, [await jpegImage('ffmpeg', path.join(media, 'gone.jpg'), { width: 120, height: 90 })]);
    const before = (await rt.asset(id!))!;
    // A retention rule, or a person, removed the upload after it was processed.
    await rt.blobs.delete({ bucket: before.source.bucket, name: before.source.name });
    const job = newJob(rt.deps, { step: 'thumbnail', kind: null, where: null, ratePerSecond: 10, by: 'test' });
    await runJob(rt.deps, job, { start: startRuns(rt.deps, job) });
    await rt.idle();
    const after = (await rt.asset(id!))!;
    expect(after).toMatchObject({ status: 'READY', lastReprocess: { job: job.id, status: 'FAILED', error: { step: 'thumbnail', code: 'SOURCE_CHANGED' } } });
    expect(after.steps).toEqual(before.steps);
    expect(updatedEvents(rt)).toEqual([]);
  });

  it('re-runs a fanned-out step and its fan-in beside the live presentation, and the new one plays', async () => {
    const dataDir = await tempDir('mediaflow-reprocess-hls-');
    const media = await tempDir('mediaflow-reprocess-hls-media-');
    const clip = await syncMarkClip('ffmpeg', path.join(media, 'clip.mp4'), { durationSeconds: 5, width: 640, height: 360, fps: 25 });
    const rt = await start(dataDir, hlsRegistry());
    const [id] = await uploadAll(rt, [clip]);
    const before = (await rt.asset(id!))!;
    expect(before.status).toBe('READY');
    const oldMaster = before.steps['hls-package']?.outputs?.masterUri as string;

    const job = newJob(rt.deps, { step: 'hls-segment', kind: 'video', where: null, ratePerSecond: 10, by: 'test' });
    await runJob(rt.deps, job, { start: startRuns(rt.deps, job) });
    await rt.idle();
    const after = (await rt.asset(id!))!;
    const segmentVersion = after.lastReprocess?.versions['hls-segment'];
    const packageVersion = after.lastReprocess?.versions['hls-package'];
    expect(after.lastReprocess).toMatchObject({
      status: 'SUCCEEDED',
      versions: { 'hls-segment': expect.any(String) as unknown, 'hls-package': expect.any(String) as unknown },
    });
    // hls-audio and hls-subtitles do not depend on hls-segment: they keep their first-run outputs.
    expect(Object.keys(after.lastReprocess!.versions)).toEqual(['hls-segment', 'hls-package']);
    expect(after.steps['hls-audio']).toEqual(before.steps['hls-audio']);
    expect(after.steps['hls-segment']).toMatchObject({ status: 'SUCCEEDED', outputVersion: segmentVersion, shards: before.steps['hls-segment']?.shards });
    // The shards of the reprocess are counted apart from the first run's.
    const results = collections.results.path(id!);
    expect(await rt.store.count(results, { where: [['step', '==', 'hls-segment']] })).toBe(before.steps['hls-segment']!.shards);
    expect(await rt.store.count(results, { where: [['step', '==', `hls-segment@${segmentVersion}`]] })).toBe(before.steps['hls-segment']!.shards);

    const master = after.steps['hls-package']?.outputs?.masterUri as string;
    expect(master).toContain(`/hls-package/${packageVersion}/`);
    // Both presentations play: the new one reads the new segments and the first run's audio, the old one is intact.
    for (const uri of [master, oldMaster]) {
      const file = localPath(rt, uri);
      const assetFolder = file.slice(0, file.indexOf(`${path.sep}hls-package${path.sep}`));
      expect(await decodeErrors(assetFolder, path.relative(assetFolder, file))).toBe('');
    }
    const variant = (await readFile(localPath(rt, master), 'utf8')).split('\n').find((line) => line.endsWith('.m3u8') && !line.startsWith('#'))!;
    const mediaPlaylist = await readFile(path.join(path.dirname(localPath(rt, master)), variant), 'utf8');
    expect(mediaPlaylist).toContain(`../../hls-segment/${segmentVersion}/`);
    expect(updatedEvents(rt)).toHaveLength(1);
  });
});
