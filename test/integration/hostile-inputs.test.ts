/**
 * Hostile and careless input on the embedded runtime, generated here: each case ends terminal with a named code on
 * its first attempt, leaves no dead letter, keeps every record small, and stays inside a time and child-memory
 * budget. The budgets guard against hangs and runaway decodes; speed itself is measured by the benches.
 */
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { audioStep } from '../../functions/audio/step.ts';
import { checksumStep } from '../../functions/checksum/step.ts';
import { createSegmentStep } from '../../functions/hls-segment/step.ts';
import { thumbnailStep } from '../../functions/thumbnail/step.ts';
import { partnerAssetId, uploadAssetId } from '../../shared/domain/asset-id.ts';
import type { AssetDoc } from '../../shared/domain/asset.ts';
import { firestoreSize } from '../../shared/domain/bounded.ts';
import type { DocData } from '../../shared/ports/document-store.ts';
import { PROFILE_METADATA } from '../../shared/domain/ingest-request.ts';
import { createStepRegistry, type StepRegistry } from '../../shared/domain/step.ts';
import { jpegImage } from '../../scripts/sample-media/sample-media.ts';
import { watchChildMemory } from '../support/child-memory.ts';
import { startTestRuntime, testStep, withSteps, type TestRuntime } from '../support/embedded.ts';
import { useScratchDir } from '../support/fixtures.ts';
import { bigTagMkv, lyingDurationMkv, lyingDurationMp4, lyingFlac, plainClip, wideWav } from '../support/hostile-media.ts';

/** Generous on a loaded 2-core CI machine; a runaway decode or a retry loop blows through them. */
const TIME_BUDGET_MS = 30_000;
const CHILD_MEMORY_BUDGET_MIB = 400;
/** Far below Firestore's 1 MiB: a record that grows with its input would show here. */
const RECORD_BUDGET_BYTES = 64 * 1024;

const scratch = useScratchDir('mediaflow-hostile-');
let runtime: TestRuntime | undefined;

afterEach(async () => {
  await runtime?.dispose();
  runtime = undefined;
});

interface Settled {
  readonly asset: AssetDoc;
  readonly elapsedMs: number;
  readonly childPeakMiB: number;
}

async function uploadAndSettle(rt: TestRuntime, file: string, name: string, metadata?: Record<string, string>): Promise<Settled> {
  const started = Date.now();
  const memory = watchChildMemory();
  const meta = await rt.blobs.upload(file, { bucket: rt.deps.config.buckets.ingest, name }, metadata ? { metadata } : {});
  await rt.idle();
  const childPeakMiB = await memory.stop();
  const asset = await rt.asset(uploadAssetId(meta.bucket, meta.name, meta.generation));
  if (!asset) throw new Error(`no asset for ${name}`);
  return { asset, elapsedMs: Date.now() - started, childPeakMiB };
}

/** What every case promises: terminal, named, first attempt, nothing dead-lettered, small records, in budget. */
async function expectRefusedOnce(rt: TestRuntime, settled: Settled, status: 'REJECTED' | 'FAILED', code: string, message: RegExp): Promise<void> {
  const { asset } = settled;
  expect(asset.status).toBe(status);
  expect(asset.error).toMatchObject({ code });
  expect(asset.error?.message).toMatch(message);
  const failedStep = asset.steps[asset.error!.step];
  expect(failedStep?.attempts ?? 1).toBe(1);
  expect(await rt.store.count('deadLetters')).toBe(0);
  expect(firestoreSize(asset)).toBeLessThan(RECORD_BUDGET_BYTES);
  expect(settled.elapsedMs).toBeLessThan(TIME_BUDGET_MS);
  expect(settled.childPeakMiB).toBeLessThan(CHILD_MEMORY_BUDGET_MIB);
  const failedEvents = rt.assetEvents.filter(
    (event) => event.attributes['ce-type'] === 'com.mediaflow.asset.failed.v1' && event.attributes['ce-subject'] === asset.id,
  );
  expect(failedEvents).toHaveLength(1);
}

const mediaSteps: StepRegistry = createStepRegistry([checksumStep, audioStep]);

describe('lying and oversized media is refused at the probe from header facts', () => {
  it.each([
    ['an MP4 whose header says 6.9 days', 'VIDEO_TOO_LONG', (file: string) => lyingDurationMp4(file, 6.9), 'lying.mp4', /lasts 6\.9 days; the limit is 3\.0 h/],
    ['a Matroska file whose duration was rewritten to 10⁷ s', 'VIDEO_TOO_LONG', (file: string) => lyingDurationMkv(file, 1e7), 'lying.mkv', /115\.7 days/],
    ['a 64-channel WAV', 'TOO_MANY_CHANNELS', (file: string) => wideWav(file, 64), 'wide.wav', /64 channels; the limit is 16/],
  ])('%s: REJECTED %s', async (_case, code, make, name, message) => {
    const file = await make(path.join(scratch.path, name));
    runtime = await startTestRuntime({ steps: mediaSteps });
    const settled = await uploadAndSettle(runtime, file, name);
    await expectRefusedOnce(runtime, settled, 'REJECTED', code, message);
    expect(settled.asset.steps.probe).toMatchObject({ status: 'FAILED', attempts: 1 });
  });
});

describe('a plan that would fan out past the work-order limit', () => {
  it('fails with TOO_MANY_WORK_ORDERS before a single order is published', async () => {
    const file = await plainClip(path.join(scratch.path, 'clip.mp4'), 30);
    runtime = await startTestRuntime({ steps: createStepRegistry([checksumStep, createSegmentStep()]), env: { MEDIAFLOW_MAX_WORK_ORDERS_PER_ASSET: '4' } });
    const settled = await uploadAndSettle(runtime, file, 'clip.mp4');
    await expectRefusedOnce(runtime, settled, 'FAILED', 'TOO_MANY_WORK_ORDERS', /needs 6 work orders \(5 for hls-segment\); the limit is 4/);
    expect(runtime.deliveries.get('hls-segment') ?? 0).toBe(0);
    expect(runtime.deliveries.get('checksum') ?? 0).toBe(0);
  });
});

describe('a FLAC whose header says 1 s and holds 3 minutes', () => {
  it('is stopped at its decode allowance and fails DURATION_MISMATCH, not decoded to the end', async () => {
    const file = await lyingFlac(path.join(scratch.path, 'lying.flac'), 180, 1);
    runtime = await startTestRuntime({ steps: mediaSteps });
    const settled = await uploadAndSettle(runtime, file, 'lying.flac');
    await expectRefusedOnce(runtime, settled, 'FAILED', 'DURATION_MISMATCH', /header says 1 s but the audio holds more than 62 s; decoding stopped there/);
    expect(settled.asset.error?.step).toBe('audio');
  });
});

describe('a 1.2 MB comment tag', () => {
  it('is cut to the tag budget with a note; the asset is READY and its document small', async () => {
    const file = await bigTagMkv(path.join(scratch.path, 'tagged.mkv'), 1_200_000);
    runtime = await startTestRuntime();
    const { asset } = await uploadAndSettle(runtime, file, 'tagged.mkv');
    expect(asset.status).toBe('READY');
    const probe = asset.probe as { tags: Record<string, string>; warnings: string[] };
    expect(Buffer.byteLength(probe.tags.comment!)).toBeLessThanOrEqual(1024);
    expect(probe.tags.title).toBe('big tag');
    expect(probe.warnings.join(' ')).toMatch(/tags: 1 value cut to 1024 bytes/);
    expect(firestoreSize(asset)).toBeLessThan(RECORD_BUDGET_BYTES);
  });
});

describe('an uploader’s profile choice', () => {
  let photo: string;
  beforeAll(async () => {
    photo = await jpegImage('ffmpeg', path.join(scratch.path, 'photo.jpg'), { width: 320, height: 240 });
  });

  it.each([
    ['Portfolio', 'portfolio', null],
    ['Evil Profile!', 'default', /profile 'Evil Profile!' is not a valid profile name/],
  ])('%s becomes %s and the asset is READY', async (requested, expected, note) => {
    runtime = await startTestRuntime();
    const { asset } = await uploadAndSettle(runtime, photo, 'photo.jpg', { [PROFILE_METADATA]: requested });
    expect(asset).toMatchObject({ status: 'READY', profile: expected });
    const notes = asset.history.filter((entry) => entry.event === 'NOTE').map((entry) => entry.detail);
    if (note) expect(notes.join(' ')).toMatch(note);
    else expect(notes).toEqual([]);
    expect(await runtime.store.count('deadLetters')).toBe(0);
  });

  it('upload metadata a document cannot hold is cleaned and cut; the upload is never refused for it', async () => {
    runtime = await startTestRuntime();
    const metadata: Record<string, string> = { __name__: 'x', ' ': 'blank', 'k\u0000ey': 'v', long: 'y'.repeat(4000) };
    for (let index = 0; index < 80; index += 1) metadata[`m${index}`] = String(index);
    const { asset } = await uploadAndSettle(runtime, photo, 'meta.jpg', metadata);
    expect(asset.status).toBe('READY');
    const keys = Object.keys(asset.source.metadata);
    expect(keys).not.toContain('__name__');
    expect(keys).not.toContain('');
    expect(keys).toContain('key');
    expect(keys.length).toBe(64);
    expect(Buffer.byteLength(asset.source.metadata.long!)).toBeLessThanOrEqual(1024);
  });
});

describe('a step whose outputs would not fit the asset document', () => {
  it('fails the asset with DOCUMENT_TOO_LARGE on the first attempt instead of a write Firestore refuses forever', async () => {
    const photo = await jpegImage('ffmpeg', path.join(scratch.path, 'big-outputs.jpg'), { width: 320, height: 240 });
    const bloated = testStep('bloated', async () => ({ outputs: { blob: 'z'.repeat(900 * 1024) } }));
    runtime = await startTestRuntime({ steps: withSteps(bloated) });
    const settled = await uploadAndSettle(runtime, photo, 'big-outputs.jpg');
    await expectRefusedOnce(runtime, settled, 'FAILED', 'DOCUMENT_TOO_LARGE', /would be \d+ bytes after this bloated result; the budget is 786432/);
  });
});

describe('a long object name', () => {
  it('still gets its derivatives: the asset folder is shortened with a digest, not refused', async () => {
    const photo = await jpegImage('ffmpeg', path.join(scratch.path, 'long.jpg'), { width: 320, height: 240 });
    runtime = await startTestRuntime({ steps: createStepRegistry([checksumStep, thumbnailStep]) });
    const name = `${'ü'.repeat(120)}.jpg`;
    const { asset } = await uploadAndSettle(runtime, photo, name);
    expect(asset.status).toBe('READY');
    const derivatives = await runtime.blobs.list(runtime.deps.config.buckets.derivatives);
    expect(derivatives.length).toBeGreaterThan(0);
    for (const object of derivatives) expect(object.name.split('/')[0]).toMatch(/~[0-9a-f]{16}$/);
  });
});

describe('partners read only what they are granted', () => {
  const grants = 'acme=partner-drop/acme/,partner-drop/shared/';
  let photo: string;
  beforeAll(async () => {
    photo = await jpegImage('ffmpeg', path.join(scratch.path, 'partner.jpg'), { width: 320, height: 240 });
  });

  function ingestEvent(partner: string, key: string, uri: string): { data: Buffer; attributes: Record<string, string> } {
    return {
      data: Buffer.from(JSON.stringify({ partner, idempotencyKey: key, source: { uri } })),
      attributes: {
        'ce-specversion': '1.0',
        'ce-type': 'com.mediaflow.ingest.requested.v1',
        'ce-id': `req-${partner}-${key}`,
        'ce-source': `//partners/${partner}`,
      },
    };
  }

  it.each([
    ['acme, its own prefix', 'READY', 'acme', 'gs://partner-drop/acme/p.jpg', null],
    ['globex, the shared prefix', 'READY', 'globex', 'gs://partner-drop/shared/p.jpg', null],
    [
      'globex, acme’s prefix',
      'REJECTED',
      'globex',
      'gs://partner-drop/acme/p.jpg',
      /partner 'globex' may not read this object: gs:\/\/partner-drop\/acme\/p\.jpg is outside its prefix; it may read gs:\/\/partner-drop\/shared\//,
    ],
    ['acme, the ingest bucket', 'REJECTED', 'acme', 'gs://mediaflow-ingest/private/someone-else.jpg', /bucket 'mediaflow-ingest' is not shared with it/],
    [
      'acme, the derivatives bucket',
      'REJECTED',
      'acme',
      'gs://mediaflow-derivatives/x/thumbnail/640.webp',
      /bucket 'mediaflow-derivatives' is not shared with it/,
    ],
    ['acme, a bucket nobody configured', 'REJECTED', 'acme', 'gs://no-such-bucket/x.jpg', /bucket 'no-such-bucket' is not shared with it/],
  ])('%s: %s', async (_case, status, partner, uri, reason) => {
    runtime = await startTestRuntime({ env: { MEDIAFLOW_PARTNER_BUCKETS: grants } });
    await runtime.blobs.upload(photo, { bucket: 'partner-drop', name: 'acme/p.jpg' });
    await runtime.blobs.upload(photo, { bucket: 'partner-drop', name: 'shared/p.jpg' });
    await runtime.blobs.upload(photo, { bucket: runtime.deps.config.buckets.ingest, name: 'private/someone-else.jpg' });
    await runtime.idle();
    await runtime.bus.publish(runtime.deps.config.topics.ingestRequests, ingestEvent(partner, 'k1', uri));
    await runtime.idle();
    const asset = await runtime.asset(partnerAssetId(partner, 'k1'));
    expect(asset?.status).toBe(status);
    if (reason) {
      expect(asset?.error).toMatchObject({ step: 'probe', code: 'SOURCE_NOT_ALLOWED' });
      expect(asset?.error?.message).toMatch(reason);
      // Refused before any byte was read: nothing about the object reached the asset.
      expect(asset?.probe).toBeNull();
      expect(asset?.source).toMatchObject({ size: null, md5Hash: null });
    }
    expect(await runtime.store.count('deadLetters')).toBe(0);
  });

  it('an idempotency key reused for another object is refused on record, and the first asset stands', async () => {
    runtime = await startTestRuntime({ env: { MEDIAFLOW_PARTNER_BUCKETS: grants } });
    await runtime.blobs.upload(photo, { bucket: 'partner-drop', name: 'acme/p.jpg' });
    await runtime.blobs.upload(photo, { bucket: 'partner-drop', name: 'acme/q.jpg' });
    await runtime.bus.publish(runtime.deps.config.topics.ingestRequests, ingestEvent('acme', 'k1', 'gs://partner-drop/acme/p.jpg'));
    await runtime.idle();
    const again = ingestEvent('acme', 'k1', 'gs://partner-drop/acme/q.jpg');
    again.attributes['ce-id'] = 'req-acme-k1-second';
    await runtime.bus.publish(runtime.deps.config.topics.ingestRequests, again);
    await runtime.idle();
    expect(await runtime.asset(partnerAssetId('acme', 'k1'))).toMatchObject({ status: 'READY', source: { uri: 'gs://partner-drop/acme/p.jpg' } });
    const rejections = await runtime.store.list<{ reason: string; errors: { message: string }[] }>('rejections');
    expect(rejections.map((rejection) => rejection.data)).toEqual([
      expect.objectContaining({
        reason: 'IDEMPOTENCY_KEY_REUSED',
        errors: [expect.objectContaining({ message: expect.stringContaining('this event names gs://partner-drop/acme/q.jpg') as string })],
      }),
    ]);
  });
});

describe('records stay bounded whatever the input', () => {
  function notification(name: string, metadata: Record<string, string> = {}): { data: Buffer; attributes: Record<string, string> } {
    const resource = { bucket: 'mediaflow-ingest', name, generation: '1', size: '10', metadata };
    return {
      data: Buffer.from(JSON.stringify(resource)),
      attributes: { eventType: 'OBJECT_FINALIZE', payloadFormat: 'JSON_API_V1', bucketId: 'mediaflow-ingest', objectId: name, objectGeneration: '1' },
    };
  }

  function partnerEvent(body: unknown): { data: Buffer; attributes: Record<string, string> } {
    return {
      data: Buffer.from(JSON.stringify(body)),
      attributes: { 'ce-specversion': '1.0', 'ce-type': 'com.mediaflow.ingest.requested.v1', 'ce-id': 'big-1', 'ce-source': '//partners/acme' },
    };
  }

  it.each([
    ['a 2 MB object name in a storage notification', 'uploads', notification('n'.repeat(2 * 1024 * 1024)), /must NOT have more than 1024 characters/],
    [
      'a 2 MB URI in a partner event',
      'ingestRequests',
      partnerEvent({ partner: 'acme', idempotencyKey: 'k', source: { uri: `gs://partner-drop/${'n'.repeat(2 * 1024 * 1024)}` } }),
      /must NOT have more than/,
    ],
    [
      '100,000 invalid metadata entries in a partner event',
      'ingestRequests',
      partnerEvent({
        partner: 'acme',
        idempotencyKey: 'k',
        source: { uri: 'gs://partner-drop/x.jpg' },
        metadata: Object.fromEntries(Array.from({ length: 100_000 }, (_, index) => [`k${index}`, index])),
      }),
      /must be string/,
    ],
  ] as const)('%s: one small rejection record', async (_case, topic, message, expected) => {
    runtime = await startTestRuntime();
    await runtime.bus.publish(runtime.deps.config.topics[topic], message);
    await runtime.idle();
    const rejections = await runtime.store.list<DocData>('rejections');
    expect(rejections).toHaveLength(1);
    const record = rejections[0]!.data;
    expect(firestoreSize(record)).toBeLessThan(16 * 1024);
    expect(JSON.stringify(record.errors)).toMatch(expected);
    expect(record.errorCount).toBeGreaterThanOrEqual(1);
    expect((record.errors as unknown[]).length).toBeLessThanOrEqual(20);
    expect(runtime.deliveries.get('ingest')).toBe(1);
  });

  it('a forged notification with 100,000 metadata entries is processed with its metadata cut, and settles', async () => {
    runtime = await startTestRuntime();
    await runtime.bus.publish(
      runtime.deps.config.topics.uploads,
      notification('meta.jpg', Object.fromEntries(Array.from({ length: 100_000 }, (_, index) => [`k${index}`, 'v']))),
    );
    await runtime.idle();
    const asset = await runtime.asset(uploadAssetId('mediaflow-ingest', 'meta.jpg', '1'));
    // The object was never uploaded: the probe finds it missing, a named failure on the first attempt.
    expect(asset).toMatchObject({ status: 'FAILED', error: { code: 'SOURCE_NOT_FOUND' } });
    expect(Object.keys(asset!.source.metadata)).toHaveLength(64);
    expect(await runtime.store.count('deadLetters')).toBe(0);
  });
});
