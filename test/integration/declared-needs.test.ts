/**
 * Each function uses no more than it declares (its `needs`, shared/runtime/needs.ts), from which Terraform's IAM
 * grants and environment are generated: the whole production pipeline runs on the embedded runtime over a few real
 * files (a photo, a song with cover art, a short film with sound, tagged by Gemini against the local Vertex fake),
 * plus a refused message, a transient fault and a dead letter, while a recording adapter notes what every function
 * touches (test/support/recording-deps.ts). Every store query has a declared shape (shared/domain/collections.ts),
 * and every record of a TTL collection carries a future expiry.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPipeline } from '../../functions/pipeline.ts';
import { productionSteps } from '../../functions/registry.ts';
import { createTagStep } from '../../functions/tag/step.ts';
import { taggedMp3WithCover } from '../../scripts/sample-media/sample-audio.ts';
import { cameraJpeg } from '../../scripts/sample-media/sample-images.ts';
import { clipWithSound } from '../../scripts/sample-media/sample-video.ts';
import { SqliteDocumentStore } from '../../shared/adapters/local/document-store.ts';
import { collections } from '../../shared/domain/collections.ts';
import { createStepRegistry } from '../../shared/domain/step.ts';
import { DeadLetterAttribute } from '../../shared/ports/bus.ts';
import type { FunctionNeeds } from '../../shared/runtime/needs.ts';
import { startTestRuntime, uploadAndSettle, type TestRuntime } from '../support/embedded.ts';
import { createRecorder, excessUse, type Usage } from '../support/recording-deps.ts';
import { answer, startVertexFake, type VertexFake } from '../support/vertex-fake.ts';

const labels = [{ name: 'test pattern', confidence: 0.9 }];
const safety = { adult: 'very_unlikely', violence: 'very_unlikely', racy: 'very_unlikely', medical: 'very_unlikely' };
const replies = {
  image: { labels, description: 'A synthetic test picture.', hasText: false, safety },
  audio: {
    musicOrSpeech: 'music',
    genre: 'electronic',
    mood: ['calm'],
    tempoFeel: 'moderate',
    language: null,
    explicit: false,
    topics: [],
    description: 'A steady synthetic tone.',
  },
  video: { sceneSummary: 'A moving test pattern with a beep.', labels, safety, language: null },
};

let fixtures: string;
let fake: VertexFake;
let runtime: TestRuntime | undefined;
const recorder = createRecorder({ faultOnce: { functionName: 'checksum', error: new Error('injected transient fault') } });
const statuses: Record<string, string | undefined> = {};
let needs: Map<string, FunctionNeeds>;

beforeAll(async () => {
  fixtures = await mkdtemp(path.join(os.tmpdir(), 'declared-needs-'));
  fake = await startVertexFake();
  const tag = createTagStep({
    vertex: { project: 'p', location: 'l', model: 'gemini-2.5-flash', baseUrl: fake.baseUrl, authClient: recorder.vertexAuthClient },
  });
  const steps = createStepRegistry([...productionSteps.values()].map((step) => (step.name === 'tag' ? tag : step)));
  runtime = await startTestRuntime({
    steps,
    // The watchdog runs once, below, on a tick of the test's own rather than on a timer.
    env: { MEDIAFLOW_EMBEDDED_WATCHDOG_INTERVAL_SECONDS: '0' },
    wrapDeps: (functionName, deps) => recorder.wrapDeps(functionName, deps),
    wrapHandler: (subscription, handler) => (delivery) => recorder.runAs(subscription.function, () => handler(delivery)),
  });
  needs = new Map(buildPipeline(runtime.deps.config, steps).functions.map((fn) => [fn.definition.name, fn.definition.needs]));
  const files: [string, keyof typeof replies, string][] = [
    ['image', 'image', await cameraJpeg('ffmpeg', path.join(fixtures, 'camera.jpg'), { width: 1200, height: 800 })],
    ['audio', 'audio', await taggedMp3WithCover('ffmpeg', path.join(fixtures, 'song.mp3'), { durationSeconds: 3, coverWidth: 600, coverHeight: 600 })],
    ['video', 'video', await clipWithSound('ffmpeg', path.join(fixtures, 'film.mp4'), { durationSeconds: 2, width: 320, height: 180 })],
  ];
  for (const [name, kind, file] of files) {
    fake.reply(answer(JSON.stringify(replies[kind])));
    statuses[name] = (await uploadAndSettle(runtime, file, `needs/${path.basename(file)}`)).asset?.status;
  }
  const { topics } = runtime.deps.config;
  // A message ingest refuses (a rejection record), and a dead letter whose payload no failure record knows.
  await runtime.bus.publish(topics.uploads, { data: Buffer.from('not json'), attributes: {} });
  await runtime.bus.publish(topics.deadLetters, {
    data: Buffer.from('not json either'),
    attributes: { [DeadLetterAttribute.sourceSubscription]: `ingest--${topics.uploads}`, [DeadLetterAttribute.sourceDeliveryCount]: '5' },
  });
  await runtime.idle();
  // A watchdog tick that also reconciles: a sweep over the store, and the bucket listed for objects with no asset.
  await runtime.bus.publish(topics.watchdogTicks, { data: Buffer.from(JSON.stringify({ reconcile: { sinceHours: 1 } })), attributes: {} });
  await runtime.idle();
}, 600_000);

afterAll(async () => {
  await runtime?.dispose();
  await fake?.close();
  await rm(fixtures, { recursive: true, force: true });
});

const used = (name: string): Usage => recorder.usage.get(name)!;

describe('the pipeline ran over real files', () => {
  it('brought every file to READY, with Gemini called for each', () => {
    expect(statuses).toEqual({ image: 'READY', audio: 'READY', video: 'READY' });
    expect(fake.requests).toHaveLength(3);
  });

  it('went through a transient fault, a refusal and a dead letter, which write the TTL and dead-letter records', async () => {
    const { failures, rejections, deadLetters } = collections;
    expect(runtime!.deliveries.get('checksum')).toBe(4);
    expect(await runtime!.store.count(failures.path())).toBe(1);
    expect(await runtime!.store.count(rejections.path())).toBe(1);
    expect(await runtime!.store.count(deadLetters.path())).toBe(1);
  });

  it('invoked every function, each recorded', () => {
    expect([...recorder.usage.keys()].sort()).toEqual([...needs.keys()].sort());
  });
});

describe('each function uses no more than it declares', () => {
  it.each([...productionSteps.keys(), 'ingest', 'coordinator', 'deadletter', 'watchdog'].sort())('%s', (name) => {
    const usage = recorder.usage.get(name);
    if (!usage) return; // not invoked by these files (checked above)
    expect(excessUse(usage, needs.get(name)!)).toEqual([]);
  });

  it('queries the store only with declared queries, and writes TTL records with a future expiry', () => {
    for (const [name, usage] of recorder.usage) {
      expect(usage.undeclaredQueries, name).toEqual([]);
      expect(usage.missingExpiry, name).toEqual([]);
    }
  });

  it('saw the uses the declarations exist for (so an empty record cannot pass for a clean one)', () => {
    expect(used('ingest')).toMatchObject({ documents: true, publishes: new Set(['stepResults']) });
    expect(used('ingest').sourceReads).toBeGreaterThan(0);
    expect(used('coordinator').publishes).toEqual(new Set(['work', 'assetEvents']));
    expect(used('thumbnail').derivativeWrites).toBeGreaterThan(0);
    expect(used('hls-package').derivativeReads).toBeGreaterThan(0);
    expect(used('tag')).toMatchObject({ vertexAi: true, config: new Set(['vertex']) });
    expect(used('deadletter').documents).toBe(true);
  });
});

describe('the check catches a function that uses more than it declares', () => {
  const under: [string, (needs: FunctionNeeds) => FunctionNeeds, string][] = [
    ['thumbnail', (n) => ({ ...n, derivatives: 'none' }), 'writes derivatives'],
    ['hls-package', (n) => ({ ...n, derivatives: 'write' }), 'reads derivatives'],
    ['ingest', (n) => ({ ...n, sources: 'none' }), 'reads sources'],
    ['coordinator', (n) => ({ ...n, publishes: ['assetEvents'] }), 'publishes to work'],
    ['tag', (n) => ({ ...n, vertexAi: false }), 'calls Vertex AI'],
    ['tag', (n) => ({ ...n, config: [] }), 'reads the vertex configuration'],
    ['deadletter', (n) => ({ ...n, documents: false }), 'documents'],
  ];
  it.each(under)('%s, under-declared, is caught: %s', (name, reduce, excess) => {
    const declared = needs.get(name)!;
    expect(excessUse(used(name), declared)).toEqual([]);
    expect(excessUse(used(name), reduce(declared)).join('\n')).toContain(excess);
  });
});

describe('the embedded store refuses a query the deployment has no index for', () => {
  it('runs a declared query, and refuses an undeclared filter plus order as Firestore would', async () => {
    const store = SqliteDocumentStore.open(':memory:');
    try {
      await store.set(collections.assets.doc('a1'), { status: 'READY', updatedAt: new Date('2026-01-01T00:00:00Z'), kind: 'image' });
      const { assets } = collections;
      expect(await store.list(assets.path(), assets.queries.withStatusNewestFirst.query({ status: 'READY' }))).toHaveLength(1);
      // Single-field queries need no composite index, declared or not (Firestore's automatic indexes serve them).
      expect(await store.count(assets.path(), { where: [['kind', '==', 'image']] })).toBe(1);
      await expect(store.list(assets.path(), { where: [['kind', '==', 'image']], orderBy: { field: 'updatedAt', direction: 'desc' } })).rejects.toThrow(
        /requires an index \(collection assets: kind ASCENDING, updatedAt DESCENDING\).*shared\/domain\/collections\.ts/,
      );
    } finally {
      await store.close();
    }
  });

  it('refuses even a declared query when the index it needs is not deployed', async () => {
    const store = SqliteDocumentStore.open(':memory:', { indexes: [] });
    try {
      const { results } = collections;
      await expect(store.list(results.path('a1'), results.queries.ofStepByShard.query({ step: 'hls-segment' }))).rejects.toThrow(/requires an index/);
      expect(await store.count(results.path('a1'), results.queries.ofStep.query({ step: 'hls-segment' }))).toBe(0);
    } finally {
      await store.close();
    }
  });
});
