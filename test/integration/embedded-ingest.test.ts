/**
 * Ingest's rules of the road on the embedded runtime: generations order asset versions, partner idempotency
 * keys name one asset, the loop guard keeps derivatives out, and a missing source is a recorded failure.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { finalizeNotification } from '../../shared/runtime/storage-notification.ts';
import { objectPath, partnerAssetId, uploadAssetId } from '../../shared/domain/asset-id.ts';
import { DERIVATIVE_MARKER } from '../../shared/domain/ingest-request.ts';
import { playlistNaming, withBystander } from '../support/bystander.ts';
import { startTestRuntime, type TestRuntime } from '../support/embedded.ts';
import { useImageFixture } from '../support/fixtures.ts';

const image = useImageFixture();
let runtime: TestRuntime;

afterEach(async () => {
  await runtime.dispose();
});

function ingestEvent(body: unknown): { data: Buffer; attributes: Record<string, string> } {
  return {
    data: Buffer.from(JSON.stringify(body)),
    attributes: { 'ce-specversion': '1.0', 'ce-type': 'com.mediaflow.ingest.requested.v1', 'ce-id': `req-${Math.random()}`, 'ce-source': '//partners/acme' },
  };
}

describe('object generations', () => {
  it('a new generation is a new asset version; a late event for the older one is ignored', async () => {
    runtime = await startTestRuntime();
    const bucket = runtime.deps.config.buckets.ingest;
    const first = await runtime.blobs.upload(image.path, { bucket, name: 'photo.jpg' });
    await runtime.idle();
    const second = await runtime.blobs.upload(image.path, { bucket, name: 'photo.jpg' });
    await runtime.idle();
    const v1 = uploadAssetId(bucket, 'photo.jpg', first.generation);
    const v2 = uploadAssetId(bucket, 'photo.jpg', second.generation);
    expect((await runtime.asset(v1))?.status).toBe('READY');
    expect(await runtime.asset(v2)).toMatchObject({ status: 'READY', previousVersion: v1 });

    // GCS may deliver the first generation's notification again, after the second: it must change nothing.
    const before = await runtime.store.count('assets');
    await runtime.bus.publish(runtime.deps.config.topics.uploads, finalizeNotification(first));
    await runtime.idle();
    expect(await runtime.store.count('assets')).toBe(before);
    expect(await runtime.store.get(objectPath(bucket, 'photo.jpg'))).toMatchObject({ latestGeneration: second.generation, latestAssetId: v2 });
  });
});

describe('the loop guard', () => {
  it('never processes derivatives: not from the derivatives bucket, not with the marker metadata', async () => {
    runtime = await startTestRuntime();
    const { ingest, derivatives } = runtime.deps.config.buckets;
    const derived = await runtime.blobs.upload(image.path, { bucket: derivatives, name: 'x/thumb.jpg' }, { metadata: { [DERIVATIVE_MARKER]: 'thumbnail' } });
    await runtime.bus.publish(runtime.deps.config.topics.uploads, finalizeNotification(derived));
    await runtime.blobs.upload(image.path, { bucket: ingest, name: 'marked.jpg' }, { metadata: { [DERIVATIVE_MARKER]: 'thumbnail' } });
    await runtime.idle();
    expect(runtime.deliveries.get('ingest')).toBe(2);
    expect(await runtime.store.count('assets')).toBe(0);
    expect(await runtime.store.count('rejections')).toBe(0);
  });
});

describe('partner ingest', () => {
  it('reaches READY once per idempotency key, however often it is published, and keeps the first source', async () => {
    runtime = await startTestRuntime();
    await runtime.blobs.upload(image.path, { bucket: 'partner-drop', name: 'acme/p1.jpg' });
    await runtime.blobs.upload(image.path, { bucket: 'partner-drop', name: 'acme/other.jpg' });
    const request = { partner: 'acme', idempotencyKey: 'order-1', source: { uri: 'gs://partner-drop/acme/p1.jpg' }, correlationId: 'c-9' };
    const topic = runtime.deps.config.topics.ingestRequests;
    await runtime.bus.publish(topic, ingestEvent(request));
    await runtime.bus.publish(topic, ingestEvent(request));
    await runtime.idle();
    await runtime.bus.publish(topic, ingestEvent({ ...request, source: { uri: 'gs://partner-drop/acme/other.jpg' } }));
    await runtime.idle();
    const id = partnerAssetId('acme', 'order-1');
    const asset = await runtime.asset(id);
    expect(asset).toMatchObject({
      status: 'READY',
      kind: 'image',
      source: { uri: 'gs://partner-drop/acme/p1.jpg', via: 'partner-ingest', partner: 'acme', idempotencyKey: 'order-1', correlationId: 'c-9' },
    });
    expect(await runtime.store.count('assets')).toBe(1);
    const ready = runtime.assetEvents.map((event) => JSON.parse(event.data.toString()) as { assetId: string; source: { correlationId?: string } });
    expect(ready).toHaveLength(1);
    expect(ready[0]).toMatchObject({ assetId: id, source: { correlationId: 'c-9' } });
  });

  it('a source that does not exist ends FAILED with SOURCE_NOT_FOUND', async () => {
    runtime = await startTestRuntime();
    await runtime.bus.publish(
      runtime.deps.config.topics.ingestRequests,
      ingestEvent({ partner: 'acme', idempotencyKey: 'ghost', source: { uri: 'gs://partner-drop/nope.jpg' } }),
    );
    await runtime.idle();
    const asset = await runtime.asset(partnerAssetId('acme', 'ghost'));
    expect(asset).toMatchObject({ status: 'FAILED', error: { step: 'probe', code: 'SOURCE_NOT_FOUND' } });
    expect(asset?.error?.message).toContain('gs://partner-drop/nope.jpg');
  });
});

describe('an uploaded playlist', () => {
  it('is REJECTED as UNSUPPORTED_MEDIA, and the probe fetches none of the URLs it names', async () => {
    await withBystander(async ({ origin, hits }) => {
      runtime = await startTestRuntime();
      const meta = await runtime.blobs.write({ bucket: runtime.deps.config.buckets.ingest, name: 'movie.mp4' }, playlistNaming(`${origin}/metadata/token.ts`));
      await runtime.idle();
      const asset = await runtime.asset(uploadAssetId(meta.bucket, meta.name, meta.generation));
      expect(asset).toMatchObject({ status: 'REJECTED', error: { step: 'probe', code: 'UNSUPPORTED_MEDIA' } });
      expect(asset?.error?.message).toMatch(/^a HLS playlist or reference file, which names other files to fetch/);
      expect(asset?.error?.message.length).toBeLessThan(200);
      expect(hits).toEqual([]);
    });
  });
});
