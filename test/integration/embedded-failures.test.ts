/**
 * Retry, dead-letter and permanent-failure semantics, end to end through the embedded runtime: real bus,
 * real store, real ffprobe, with test steps that fail on purpose.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { uploadAssetId } from '../../shared/domain/asset-id.ts';
import { PermanentError } from '../../shared/errors.ts';
import { startTestRuntime, testStep, withSteps, type TestRuntime } from '../support/embedded.ts';
import { useImageFixture } from '../support/fixtures.ts';

const image = useImageFixture();
let runtime: TestRuntime | undefined;

afterEach(async () => {
  await runtime?.dispose();
  runtime = undefined;
});

async function processImage(rt: TestRuntime): Promise<string> {
  const meta = await rt.blobs.upload(image.path, { bucket: rt.deps.config.buckets.ingest, name: 'photo.jpg' });
  await rt.idle();
  return uploadAssetId(meta.bucket, meta.name, meta.generation);
}

describe('a step that fails once with a transient error', () => {
  it('is retried and the asset reaches READY, with the attempts recorded', async () => {
    const attempts = new Map<string, number>();
    const flaky = testStep('flaky', async (order) => {
      const attempt = (attempts.get(order.orderId) ?? 0) + 1;
      attempts.set(order.orderId, attempt);
      if (attempt === 1) throw new Error('connection reset by peer');
      return { outputs: { attempt } };
    });
    runtime = await startTestRuntime({ steps: withSteps(flaky) });
    const id = await processImage(runtime);
    const asset = await runtime.asset(id);
    expect(asset?.status).toBe('READY');
    expect(asset?.steps.flaky).toMatchObject({ status: 'SUCCEEDED', attempts: 2, outputs: { attempt: 2 } });
    expect(asset?.history.some((entry) => entry.step === 'flaky' && entry.detail === 'after 2 attempts')).toBe(true);
    expect(runtime.deliveries.get('flaky')).toBe(2);
    expect(await runtime.store.count('deadLetters')).toBe(0);
  });
});

describe('a step that always fails with a transient error', () => {
  it('ends in the dead-letter store and the asset is FAILED with the step and the last error', async () => {
    const broken = testStep('broken', async () => {
      throw new Error('codec exploded');
    });
    runtime = await startTestRuntime({ steps: withSteps(broken) });
    const id = await processImage(runtime);
    const asset = await runtime.asset(id);
    const maxAttempts = runtime.deps.config.retry.maxDeliveryAttempts;
    expect(asset?.status).toBe('FAILED');
    expect(asset?.error).toMatchObject({ step: 'broken', code: 'RETRIES_EXHAUSTED' });
    expect(asset?.error?.message).toContain(`after ${maxAttempts} delivery attempts`);
    expect(asset?.error?.message).toContain('codec exploded');
    expect(asset?.steps.broken).toMatchObject({ status: 'FAILED', attempts: maxAttempts });
    expect(runtime.deliveries.get('broken')).toBe(maxAttempts);

    const deadLetters = await runtime.store.list<{ sourceSubscription: string; deliveryCount: number; subject: string; lastError: string }>('deadLetters');
    expect(deadLetters).toHaveLength(1);
    expect(deadLetters[0]!.data).toMatchObject({ deliveryCount: maxAttempts, subject: id, lastError: 'codec exploded' });
    expect(deadLetters[0]!.data.sourceSubscription).toBe('broken--mediaflow-work-broken');

    const failed = runtime.assetEvents.filter((event) => event.attributes['ce-type'] === 'com.mediaflow.asset.failed.v1');
    expect(failed).toHaveLength(1);
    expect(JSON.parse(failed[0]!.data.toString())).toMatchObject({ assetId: id, status: 'FAILED', error: { step: 'broken', code: 'RETRIES_EXHAUSTED' } });
  });
});

describe('a step that throws a PermanentError', () => {
  it('fails the asset at once, without retries or dead letters, and cancels what was pending', async () => {
    const refuses = testStep('refuses', async () => {
      throw new PermanentError('UNSUPPORTED_CODEC', 'ProRes RAW is not supported');
    });
    const after = testStep('after-refuses', async () => ({ outputs: {} }), { dependsOn: ['refuses'] });
    runtime = await startTestRuntime({ steps: withSteps(refuses, after) });
    const id = await processImage(runtime);
    const asset = await runtime.asset(id);
    expect(asset?.status).toBe('FAILED');
    expect(asset?.error).toMatchObject({ step: 'refuses', code: 'UNSUPPORTED_CODEC', message: 'ProRes RAW is not supported' });
    expect(asset?.steps.refuses).toMatchObject({ status: 'FAILED', attempts: 1 });
    expect(asset?.steps['after-refuses']?.status).toBe('CANCELLED');
    expect(runtime.deliveries.get('refuses')).toBe(1);
    expect(await runtime.store.count('deadLetters')).toBe(0);
  });
});

describe('a step whose params cannot be built for this asset', () => {
  it('fails the asset with PLAN_FAILED rather than dead-lettering the coordinator', async () => {
    const unplannable = testStep('unplannable', async () => ({ outputs: {} }), {
      params: () => {
        throw new Error('the probe reported no frame rate');
      },
    });
    runtime = await startTestRuntime({ steps: withSteps(unplannable) });
    const id = await processImage(runtime);
    const asset = await runtime.asset(id);
    expect(asset).toMatchObject({ status: 'FAILED', error: { step: 'unplannable', code: 'PLAN_FAILED' } });
    expect(asset?.error?.message).toContain('no frame rate');
    expect(await runtime.store.count('deadLetters')).toBe(0);
  });
});

describe('a malformed partner event', () => {
  it('is recorded as rejected with the validation errors, acked, and never retried', async () => {
    runtime = await startTestRuntime();
    const topic = runtime.deps.config.topics.ingestRequests;
    await runtime.bus.publish(topic, { data: Buffer.from(JSON.stringify({ partner: 'acme', source: { uri: 'http://example.com/x.jpg' } })), attributes: {} });
    await runtime.bus.publish(topic, { data: Buffer.from('{not json'), attributes: {} });
    await runtime.idle();
    expect(runtime.deliveries.get('ingest')).toBe(2);
    const rejections = await runtime.store.list<{ reason: string; errors: { path: string; message: string }[] }>('rejections');
    expect(rejections).toHaveLength(2);
    const messages = rejections.flatMap((rejection) => rejection.data.errors.map((error) => `${error.path} ${error.message}`));
    expect(messages.some((message) => message.includes("must have required property 'idempotencyKey'"))).toBe(true);
    expect(messages.some((message) => message.startsWith('/source/uri'))).toBe(true);
    expect(messages.some((message) => message.includes('not JSON'))).toBe(true);
    expect(await runtime.store.count('assets')).toBe(0);
  });
});
