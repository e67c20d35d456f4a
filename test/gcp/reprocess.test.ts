/**
 * `mediaflow reprocess` on the local cloud: with MEDIAFLOW_RUNTIME=gcp the CLI pages through the READY assets in
 * Firestore, starts each run in a transaction and publishes its first work orders through Pub/Sub, and returns;
 * the functions (their own processes behind the stack's subscriptions) re-run thumbnail and its dependents beside
 * the live outputs, switch each asset over and announce it with asset.updated. `--resume` then only reports.
 *
 * A job takes every READY asset in the project, so this suite runs its stack in a project of its own on the shared
 * emulators (and buckets of its own in fake-gcs-server): it neither re-runs the other suites' assets nor races their
 * stacks for their messages. fake-gcs-server notifies only the shared project's ingest bucket, so an upload here is
 * followed by the finalize notification GCS would send for it, published to this project's uploads topic.
 */
import { PubSub, type Message, type Subscription } from '@google-cloud/pubsub';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { EventType, EventValidator } from '../../events/catalog.ts';
import { productionSteps } from '../../functions/registry.ts';
import type { ReprocessJob } from '../../functions/coordinator/reprocess-job.ts';
import { startGcpStack, type GcpStack } from '../../scripts/local-cloud/gcp-stack.ts';
import { jpegImage } from '../../scripts/sample-media/sample-media.ts';
import { createGcsBlobStore, type GcsBlobStore } from '../../shared/adapters/gcp/blob-store.ts';
import { createFirestoreDocumentStore, type FirestoreDocumentStore } from '../../shared/adapters/gcp/document-store.ts';
import { finalizeNotification } from '../../shared/runtime/storage-notification.ts';
import { assetPath, uploadAssetId } from '../../shared/domain/asset-id.ts';
import type { AssetDoc } from '../../shared/domain/asset.ts';
import { collections } from '../../shared/domain/collections.ts';
import { isTerminal } from '../../shared/domain/state-machine.ts';
import { mediaflow } from '../support/cli.ts';
import { urisIn } from '../support/step-outputs.ts';
import { eventually as poll } from '../support/eventually.ts';

const TIMEOUT_MS = 120_000;
const PHOTOS = 4;
/** How long the topics must stay silent for "nothing was published" to mean something. */
const QUIET_MS = 4_000;

/** One project per run: the emulators keep projects apart, so this job sees only this suite's assets. */
const projectId = `reprocess-${randomUUID().slice(0, 8)}`;

type Received = { topic: string; type: string; id: string; subject: string; data: unknown };

let stack: GcpStack;
let blobs: GcsBlobStore;
let pubsub: PubSub;
let store: FirestoreDocumentStore;
let fixtures: string;
const taps: Subscription[] = [];

beforeAll(async () => {
  const shared = inject('localCloud');
  const cloud = { ...shared, projectId, env: { ...shared.env, GOOGLE_CLOUD_PROJECT: projectId } };
  stack = await startGcpStack({
    projectId,
    cloud,
    functionEnv: { MEDIAFLOW_INGEST_BUCKET: `${projectId}-ingest`, MEDIAFLOW_DERIVATIVES_BUCKET: `${projectId}-derivatives` },
  });
  blobs = createGcsBlobStore({ apiEndpoint: cloud.storageEndpoint, projectId });
  pubsub = new PubSub({ projectId });
  store = createFirestoreDocumentStore({ projectId });
  fixtures = await mkdtemp(path.join(os.tmpdir(), 'mediaflow-reprocess-gcp-'));
}, 240_000);

afterAll(async () => {
  for (const tap of taps.splice(0)) {
    await tap.close();
    await tap.delete().catch(() => undefined);
  }
  await store?.close();
  await pubsub?.close();
  await stack?.stop();
  if (fixtures) await rm(fixtures, { recursive: true, force: true });
});

/** Polls until `read` gives a value; on timeout, the functions' recent output says why. */
function eventually<T>(what: string, read: () => Promise<T | undefined>): Promise<T> {
  return poll(what, read, {
    timeoutMs: TIMEOUT_MS,
    diagnose: () => ['ingest', 'coordinator', 'thumbnail', 'tag'].map((fn) => `${fn}: ${stack.functionOutput(fn).slice(-3000)}`).join('\n'),
  });
}

const cli = (args: readonly string[]) => mediaflow(args, { ...process.env, ...stack.env, MEDIAFLOW_LOG_LEVEL: 'error' });

/** An upload to this project's ingest bucket, and the finalize notification GCS sends for it. */
async function upload(file: string, name: string): Promise<string> {
  const bucket = stack.config.buckets.ingest;
  const meta = await blobs.upload(file, { bucket, name }, { contentType: 'image/jpeg' });
  const notification = finalizeNotification(meta);
  await pubsub.topic(stack.config.topics.uploads).publishMessage({ data: notification.data, attributes: { ...notification.attributes } });
  return uploadAssetId(bucket, name, meta.generation);
}

/** A subscription on the topic from now on, collecting what is published to it. */
async function tap(topic: string, into: Received[]): Promise<void> {
  const [subscription] = await pubsub.topic(topic).createSubscription(`reprocess-tap-${randomUUID().slice(0, 8)}`);
  taps.push(subscription);
  subscription.on('message', (message: Message) => {
    let data: unknown;
    try {
      data = JSON.parse(message.data.toString());
    } catch {
      data = message.data.toString();
    }
    into.push({
      topic,
      type: message.attributes['ce-type'] ?? '',
      id: message.attributes['ce-id'] ?? '',
      subject: message.attributes['ce-subject'] ?? '',
      data,
    });
    message.ack();
  });
}

async function objectExists(uri: string): Promise<boolean> {
  const match = /^gs:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (!match) throw new Error(`not a gs:// URI: ${uri}`);
  return (await blobs.stat({ bucket: match[1]!, name: match[2]! })) !== undefined;
}

type ReprocessReport = {
  job: string;
  step: string;
  state: ReprocessJob['state'];
  counts: ReprocessJob['counts'];
  runs: { inFlight: number; updated: number; failed: number };
};

describe('mediaflow reprocess with MEDIAFLOW_RUNTIME=gcp', () => {
  it('starts the runs and returns; the functions switch every photo to new thumbnail outputs beside the old ones, announced once; --resume only reports', async () => {
    // Listening from before the uploads: each photo's asset.ready, then its asset.updated, and nothing else.
    const assetEvents: Received[] = [];
    await tap(stack.config.topics.assetEvents, assetEvents);
    const files = await Promise.all(
      Array.from({ length: PHOTOS }, (_, i) => jpegImage('ffmpeg', path.join(fixtures, `photo-${i}.jpg`), { width: 160 + 32 * i, height: 120 })),
    );
    const ids = await Promise.all(files.map((file) => upload(file, `catalogue/${path.basename(file)}`)));
    const before = await Promise.all(
      ids.map((id) =>
        eventually(`asset ${id} to settle`, async () => {
          const asset = await store.get<AssetDoc>(assetPath(id));
          return asset && isTerminal(asset.status) ? asset : undefined;
        }),
      ),
    );
    expect(before.map((asset) => [asset.kind, asset.status])).toEqual(ids.map(() => ['image', 'READY']));
    const recipe = productionSteps.get('thumbnail')!.recipeVersion;
    expect(before.map((asset) => asset.steps.thumbnail?.provenance?.recipeVersion)).toEqual(ids.map(() => recipe));
    for (const asset of before) {
      expect(asset.steps.thumbnail?.outputVersion).toBeUndefined();
      expect(urisIn(asset.steps.thumbnail?.outputs).length).toBeGreaterThan(0);
    }
    // A READY document is committed before its outbox publishes asset.ready: wait for the events too.
    await eventually('an asset.ready per photo', () =>
      Promise.resolve(ids.every((id) => assetEvents.some((event) => event.subject === id && event.type === EventType.assetReady)) || undefined),
    );

    const started = await cli(['reprocess', '--step', 'thumbnail', '--rate', '20/s', '--json']);
    expect(started.code).toBe(0);
    const report = JSON.parse(started.stdout.trim()) as ReprocessReport;
    const job = report.job;
    // Only the job's id on stderr (there even with --json, so a killed run leaves it to resume with).
    expect(started.stderr).toBe(`reprocess job ${job}: step thumbnail, 20/s\n`);
    expect(report).toMatchObject({
      step: 'thumbnail',
      state: 'STARTED',
      counts: { examined: PHOTOS, notSelected: 0, started: PHOTOS, alreadyStarted: 0, refused: {} },
    });
    // The CLI returned once the runs were started: wherever they are, they are all accounted for.
    expect(report.runs.inFlight + report.runs.updated + report.runs.failed).toBe(PHOTOS);
    expect(report.runs.failed).toBe(0);
    expect(await store.get<ReprocessJob>(collections.reprocessJobs.doc(job))).toMatchObject({
      id: job,
      step: 'thumbnail',
      kind: null,
      where: null,
      ratePerSecond: 20,
      state: 'STARTED',
      counts: { examined: PHOTOS, started: PHOTOS },
      startedAllAt: expect.any(Date) as unknown,
    });

    const version = `r${recipe}.${job}`;
    expect(version).toBe(`r1.${job}`);
    const after = await Promise.all(
      ids.map((id) =>
        eventually(`the reprocess of ${id} to end`, async () => {
          const asset = await store.get<AssetDoc>(assetPath(id));
          return asset?.lastReprocess?.job === job ? asset : undefined;
        }),
      ),
    );
    for (const [index, asset] of after.entries()) {
      const old = before[index]!;
      expect(asset).toMatchObject({ status: 'READY', lastReprocess: { job, step: 'thumbnail', status: 'SUCCEEDED', error: null } });
      expect(asset.reprocess).toBeUndefined();
      // Thumbnail and the planned steps that depend on it (for a photo, tag), in plan order.
      const rerun = Object.keys(asset.lastReprocess!.versions);
      expect(rerun).toEqual(asset.plan.filter((name) => name === 'thumbnail' || old.steps[name]?.dependsOn.includes('thumbnail')));
      for (const step of rerun) {
        expect(asset.lastReprocess!.versions[step], step).toBe(`r${productionSteps.get(step)!.recipeVersion}.${job}`);
        expect(asset.steps[step], step).toMatchObject({ status: 'SUCCEEDED', outputVersion: asset.lastReprocess!.versions[step] });
      }
      expect(asset.steps.thumbnail?.outputVersion).toBe(version);
      // The steps not re-run kept the first run's state.
      for (const step of asset.plan.filter((name) => !rerun.includes(name))) expect(asset.steps[step], step).toEqual(old.steps[step]);
      const uris = urisIn(asset.steps.thumbnail?.outputs);
      expect(uris.length).toBeGreaterThan(0);
      for (const uri of uris) {
        expect(uri).toContain(`/thumbnail/${version}/`);
        expect(await objectExists(uri), uri).toBe(true);
      }
      // The first run's objects are still there, untouched by the re-run.
      for (const uri of urisIn(old.steps.thumbnail?.outputs)) {
        expect(uri).not.toContain(`/thumbnail/${version}/`);
        expect(await objectExists(uri), uri).toBe(true);
      }
      expect(asset.history.filter((entry) => entry.event === 'REPROCESSED')).toHaveLength(1);
    }

    await eventually('an asset.updated per photo', () =>
      Promise.resolve(ids.every((id) => assetEvents.some((event) => event.subject === id && event.type === EventType.assetUpdated)) || undefined),
    );
    // Time for a duplicate to show up, had a run announced itself twice.
    await new Promise((resolve) => setTimeout(resolve, QUIET_MS));
    expect(assetEvents.map((event) => event.type).sort()).toEqual([...ids.map(() => EventType.assetReady), ...ids.map(() => EventType.assetUpdated)].sort());
    expect(new Set(assetEvents.map((event) => event.id))).toEqual(new Set(ids.flatMap((id) => [`${id}/ready`, `${id}/updated/${job}`])));
    expect(assetEvents).toHaveLength(2 * PHOTOS);
    const validator = new EventValidator(new Map([...productionSteps.values()].map((step) => [step.name, step.paramsSchema])));
    for (const [index, id] of ids.entries()) {
      const [event] = assetEvents.filter((received) => received.subject === id && received.type === EventType.assetUpdated);
      const checked = validator.validate(EventType.assetUpdated, event!.data);
      expect(checked.ok ? [] : checked.issues, id).toEqual([]);
      const asset = after[index]!;
      expect(event!.data).toMatchObject({
        assetId: id,
        kind: 'image',
        reprocess: {
          job,
          step: 'thumbnail',
          rerun: expect.arrayContaining([{ step: 'thumbnail', recipeBefore: recipe, recipeAfter: recipe, outputVersion: version }]) as unknown,
        },
        outputs: { thumbnail: JSON.parse(JSON.stringify(asset.steps.thumbnail!.outputs)) as unknown },
      });
    }

    // --resume of a job that has started every run reports where they are, and publishes nothing.
    const published: Received[] = [];
    await Promise.all(stack.pipeline.topics.map((topic) => tap(topic, published)));
    const resumed = await cli(['reprocess', '--resume', job, '--json']);
    expect(resumed.stderr).toBe(`reprocess job ${job}: step thumbnail, 20/s\n`);
    expect(resumed.code).toBe(0);
    expect(JSON.parse(resumed.stdout.trim())).toEqual({
      job,
      step: 'thumbnail',
      state: 'STARTED',
      counts: report.counts,
      runs: { inFlight: 0, updated: PHOTOS, failed: 0 },
    });
    await new Promise((resolve) => setTimeout(resolve, QUIET_MS));
    expect(published).toEqual([]);
    // Nothing in this project was refused: not the functions' readiness checks either (a TCP connect, not a request).
    expect(await store.list('rejections')).toEqual([]);
    expect(assetEvents).toHaveLength(2 * PHOTOS);
    for (const id of ids) expect((await store.get<AssetDoc>(assetPath(id)))?.revision).toBe(after[ids.indexOf(id)]!.revision);
  }, 360_000);
});
