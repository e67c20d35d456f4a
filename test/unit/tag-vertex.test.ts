/**
 * The tag step's Vertex path, end to end through the real @google/genai client and real HTTP to a local fake of
 * the generateContent endpoint: what is sent, and how each kind of answer or failure comes out of the step.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { WorkOrder } from '../../events/catalog.ts';
import { PROMPT_VERSION } from '../../functions/tag/prompt.ts';
import { RESPONSE_SCHEMAS } from '../../functions/tag/schemas.ts';
import { createTagStep, tagStep } from '../../functions/tag/step.ts';
import type { TagInput } from '../../functions/tag/plan.ts';
import { VERTEX_MAX_ATTEMPTS, type VertexSettings } from '../../functions/tag/vertex.ts';
import { GEMINI_PRICES } from '../../shared/domain/prices.ts';
import { LocalBlobStore } from '../../shared/adapters/local/blob-store.ts';
import { loadConfig, type Config } from '../../shared/config/config.ts';
import type { MediaKind } from '../../shared/domain/asset.ts';
import type { StepDefinition, StepRunContext } from '../../shared/domain/step.ts';
import { PermanentError, TransientError } from '../../shared/errors.ts';
import { createLogger } from '../../shared/observability/log.ts';
import { systemClock } from '../../shared/ports/clock.ts';
import { answer, apiError, FAKE_TOKEN, fixedTokenAuthClient, startVertexFake, type VertexFake } from '../support/vertex-fake.ts';

const PROJECT = 'test-project';
const LOCATION = 'europe-west4';
const MODEL = 'gemini-2.5-flash';
const MODEL_PATH = `/v1beta1/projects/${PROJECT}/locations/${LOCATION}/publishers/google/models/${MODEL}:generateContent`;
const THUMBNAIL_URI = 'gs://mediaflow-derivatives/asset/thumbnail/v1/still-640.jpg';
const JPEG_BYTES = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 4, 0xff, 0xd9]);

const imageTags = {
  labels: [
    { name: 'dog', confidence: 0.97 },
    { name: 'beach', confidence: 0.8 },
  ],
  description: 'A dog running on a beach.',
  hasText: false,
  safety: { adult: 'very_unlikely', violence: 'very_unlikely', racy: 'very_unlikely', medical: 'very_unlikely' },
};
const audioTags = {
  musicOrSpeech: 'music',
  genre: 'jazz',
  mood: ['calm'],
  tempoFeel: 'slow',
  language: null,
  explicit: false,
  topics: [],
  description: 'A slow piano trio.',
};

let fake: VertexFake;
let dataDir: string;
let blobs: LocalBlobStore;
let embedded: Config;

beforeAll(async () => {
  fake = await startVertexFake();
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'mediaflow-tag-'));
  embedded = loadConfig({ MEDIAFLOW_LOG_LEVEL: 'silent' }, { dataDir });
  blobs = new LocalBlobStore({ root: dataDir, buckets: [embedded.buckets.ingest, embedded.buckets.derivatives] });
  await blobs.write({ bucket: embedded.buckets.derivatives, name: 'asset/thumbnail/v1/still-640.jpg' }, JPEG_BYTES, { contentType: 'image/jpeg' });
});

afterAll(async () => {
  await fake.close();
  await rm(dataDir, { recursive: true, force: true });
});

afterEach(() => {
  fake.requests.length = 0;
});

function vertexStep(overrides: Partial<VertexSettings> = {}): StepDefinition {
  return createTagStep({
    vertex: {
      project: PROJECT,
      location: LOCATION,
      model: MODEL,
      baseUrl: fake.baseUrl,
      authClient: fixedTokenAuthClient,
      timeoutMs: 2_000,
      retryBaseDelayMs: 5,
      ...overrides,
    },
  });
}

function order(kind: MediaKind, inputs: TagInput[]): WorkOrder {
  return {
    orderId: 'order-1',
    assetId: 'mediaflow-ingest/photo.jpg#1',
    step: 'tag',
    shard: { index: 0, count: 1 },
    source: { bucket: 'mediaflow-ingest', name: 'photo.jpg', generation: '1' },
    kind,
    profile: 'default',
    params: { inputs, signals: { kind, width: 4000, height: 3000 } },
    issuedAt: new Date().toISOString(),
  };
}

const imageOrder = (): WorkOrder => order('image', [{ uri: THUMBNAIL_URI, mimeType: 'image/jpeg', role: 'thumbnail' }]);

function context(config: Config = embedded, signal: AbortSignal = new AbortController().signal): StepRunContext {
  return {
    blobs,
    config,
    clock: systemClock,
    log: createLogger('silent'),
    mediaTools: () => Promise.reject(new Error('the tag step needs no media tools')),
    scratchDir: dataDir,
    signal,
    deliveryAttempt: 1,
  };
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the step to fail');
}

describe('tag step on Vertex AI', () => {
  it('sends the thumbnail inline in the embedded runtime, with the kind schema, and records tags, usage and cost', async () => {
    fake.reply(answer(JSON.stringify(imageTags)));
    const result = await vertexStep().run(imageOrder(), context());

    expect(fake.requests).toHaveLength(1);
    const [request] = fake.requests;
    expect(request!.method).toBe('POST');
    expect(request!.path).toBe(MODEL_PATH);
    expect(request!.headers.authorization).toBe(`Bearer ${FAKE_TOKEN}`);
    const body = request!.body as { contents: { role: string; parts: Record<string, unknown>[] }[]; generationConfig: Record<string, unknown> };
    expect(body.contents).toHaveLength(1);
    expect(body.contents[0]!.role).toBe('user');
    const parts = body.contents[0]!.parts;
    expect(parts).toHaveLength(2);
    expect(typeof parts[0]!.text).toBe('string');
    expect(parts[1]).toEqual({ inlineData: { data: JPEG_BYTES.toString('base64'), mimeType: 'image/jpeg' } });
    expect(body.generationConfig.responseMimeType).toBe('application/json');
    expect(body.generationConfig.responseSchema).toEqual(JSON.parse(JSON.stringify(RESPONSE_SCHEMAS.image)));

    const flash = GEMINI_PRICES['gemini-2.5-flash']!;
    const inputCost = (300 * flash.inputUsdPerMillion) / 1e6;
    const outputCost = (120 * flash.outputUsdPerMillion) / 1e6;
    expect(result.outputs).toMatchObject({
      aiGenerated: true,
      kind: 'image',
      tags: imageTags,
      model: MODEL,
      modelVersion: 'gemini-2.5-flash-fake-001',
      promptVersion: PROMPT_VERSION,
      inputs: [{ uri: THUMBNAIL_URI, mimeType: 'image/jpeg', role: 'thumbnail' }],
      usage: { inputTokens: 300, audioInputTokens: 0, outputTokens: 120, thoughtTokens: 0, totalTokens: 420 },
      calls: 1,
      signals: { kind: 'image', width: 4000, height: 3000 },
    });
    expect(result.outputs.estimatedCostUsd).toBeCloseTo(inputCost + outputCost, 6);
    expect(result.tools).toEqual({ model: 'gemini-2.5-flash-fake-001', prompt: PROMPT_VERSION });
  });

  it('sends gs:// URIs as fileData on GCP, with the audio schema, and prices audio tokens at the audio rate', async () => {
    const gcp = loadConfig({
      MEDIAFLOW_RUNTIME: 'gcp',
      MEDIAFLOW_INGEST_BUCKET: 'acme-ingest',
      MEDIAFLOW_DERIVATIVES_BUCKET: 'acme-derivatives',
      GOOGLE_CLOUD_PROJECT: PROJECT,
      MEDIAFLOW_LOG_LEVEL: 'silent',
    });
    const preview = 'gs://acme-derivatives/asset/audio/preview.m4a';
    fake.reply(
      answer(JSON.stringify(audioTags), {
        usage: {
          promptTokenCount: 1000,
          candidatesTokenCount: 100,
          thoughtsTokenCount: 50,
          totalTokenCount: 1150,
          promptTokensDetails: [
            { modality: 'TEXT', tokenCount: 40 },
            { modality: 'AUDIO', tokenCount: 960 },
          ],
        },
      }),
    );
    const result = await vertexStep().run(order('audio', [{ uri: preview, mimeType: 'audio/mp4', role: 'audio-preview' }]), context(gcp));

    const body = fake.requests[0]!.body as { contents: { parts: Record<string, unknown>[] }[]; generationConfig: Record<string, unknown> };
    expect(body.contents[0]!.parts[1]).toEqual({ fileData: { fileUri: preview, mimeType: 'audio/mp4' } });
    expect(body.generationConfig.responseSchema).toEqual(JSON.parse(JSON.stringify(RESPONSE_SCHEMAS.audio)));
    expect(result.outputs).toMatchObject({
      aiGenerated: true,
      kind: 'audio',
      tags: audioTags,
      usage: { inputTokens: 1000, audioInputTokens: 960, outputTokens: 100, thoughtTokens: 50 },
    });
    expect(result.outputs.estimatedCostUsd).toBeCloseTo((40 * 0.3 + 960 * 1 + 150 * 2.5) / 1e6, 6);
  });

  it('retries a 429 with backoff and then succeeds', async () => {
    fake.reply(apiError(429, 'RESOURCE_EXHAUSTED', 'Quota exceeded'), answer(JSON.stringify(imageTags)));
    const result = await vertexStep().run(imageOrder(), context());
    expect(fake.requests).toHaveLength(2);
    expect(result.outputs).toMatchObject({ aiGenerated: true, calls: 2, tags: imageTags });
  });

  it('gives 5xx to Pub/Sub as a transient error once its own attempts are spent', async () => {
    fake.reply(...Array.from({ length: VERTEX_MAX_ATTEMPTS }, () => apiError(503, 'UNAVAILABLE', 'overloaded')));
    const error = await failure(vertexStep().run(imageOrder(), context()));
    expect(error).toBeInstanceOf(TransientError);
    expect(error).toMatchObject({ code: 'VERTEX_UNAVAILABLE' });
    expect(fake.requests).toHaveLength(VERTEX_MAX_ATTEMPTS);
  });

  it('makes a 400 INVALID_ARGUMENT permanent without retrying', async () => {
    fake.reply(apiError(400, 'INVALID_ARGUMENT', 'Unsupported MIME type'));
    const error = await failure(vertexStep().run(imageOrder(), context()));
    expect(error).toBeInstanceOf(PermanentError);
    expect(error).toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(error.message).toContain('Unsupported MIME type');
    expect(fake.requests).toHaveLength(1);
  });

  it('makes a safety stop permanent', async () => {
    fake.reply(answer('', { finishReason: 'SAFETY' }));
    const error = await failure(vertexStep().run(imageOrder(), context()));
    expect(error).toBeInstanceOf(PermanentError);
    expect(error).toMatchObject({ code: 'CONTENT_BLOCKED' });
    expect(error.message).toContain('SAFETY');
    expect(fake.requests).toHaveLength(1);
  });

  it('makes a blocked prompt permanent', async () => {
    fake.reply({
      status: 200,
      body: {
        promptFeedback: { blockReason: 'PROHIBITED_CONTENT', blockReasonMessage: 'policy' },
        usageMetadata: { promptTokenCount: 300, totalTokenCount: 300 },
      },
    });
    const error = await failure(vertexStep().run(imageOrder(), context()));
    expect(error).toBeInstanceOf(PermanentError);
    expect(error).toMatchObject({ code: 'CONTENT_BLOCKED' });
    expect(error.message).toContain('PROHIBITED_CONTENT');
  });

  it('asks once more after malformed JSON, then gives up permanently', async () => {
    fake.reply(answer('{"labels": [{"name": "dog"'), answer('not json at all'));
    const error = await failure(vertexStep().run(imageOrder(), context()));
    expect(error).toBeInstanceOf(PermanentError);
    expect(error).toMatchObject({ code: 'INVALID_MODEL_ANSWER' });
    expect(error.message).toContain('not JSON');
    expect(fake.requests).toHaveLength(2);
  });

  it('accepts the second answer when the first does not match the schema', async () => {
    fake.reply(answer(JSON.stringify({ ...imageTags, hasText: 'maybe' })), answer(JSON.stringify(imageTags)));
    const result = await vertexStep().run(imageOrder(), context());
    expect(result.outputs).toMatchObject({ aiGenerated: true, tags: imageTags, calls: 2 });
  });

  it('times out every attempt of a silent endpoint and leaves the retry to Pub/Sub', async () => {
    fake.reply(...Array.from({ length: VERTEX_MAX_ATTEMPTS }, () => ({ hang: true as const })));
    const started = Date.now();
    const error = await failure(vertexStep({ timeoutMs: 150 }).run(imageOrder(), context()));
    expect(error).toBeInstanceOf(TransientError);
    expect(error).toMatchObject({ code: 'VERTEX_TIMEOUT' });
    expect(fake.requests).toHaveLength(VERTEX_MAX_ATTEMPTS);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('stops at once when the step deadline aborts the call', async () => {
    fake.reply({ hang: true });
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('step deadline')), 100);
    const error = await failure(vertexStep({ timeoutMs: 10_000 }).run(imageOrder(), context(embedded, controller.signal)));
    expect(error).not.toBeInstanceOf(PermanentError);
    expect(error).not.toBeInstanceOf(TransientError);
    expect(fake.requests).toHaveLength(1);
  });

  it('says clearly when Vertex is configured but there are no credentials', async () => {
    const saved = process.env.GOOGLE_APPLICATION_CREDENTIALS;
    process.env.GOOGLE_APPLICATION_CREDENTIALS = path.join(dataDir, 'missing-key.json');
    try {
      const error = await failure(vertexStep({ authClient: undefined }).run(imageOrder(), context()));
      expect(error).toBeInstanceOf(PermanentError);
      expect(error).toMatchObject({ code: 'VERTEX_NO_CREDENTIALS' });
      expect(error.message).toContain('no usable Google credentials');
      expect(fake.requests).toHaveLength(0);
    } finally {
      if (saved === undefined) delete process.env.GOOGLE_APPLICATION_CREDENTIALS;
      else process.env.GOOGLE_APPLICATION_CREDENTIALS = saved;
    }
  });
});

describe('tag step without Vertex', () => {
  it('records the technical signals only, never tags', async () => {
    const result = await tagStep.run(imageOrder(), context());
    expect(result.outputs).toEqual({
      aiGenerated: false,
      reason: 'vertex-not-configured',
      kind: 'image',
      signals: { kind: 'image', width: 4000, height: 3000 },
    });
    expect(fake.requests).toHaveLength(0);
  });

  it('does not call the model when no derivative exists to show it', async () => {
    const result = await vertexStep().run(order('video', []), context());
    expect(result.outputs).toMatchObject({ aiGenerated: false, reason: 'no-derivative-to-show' });
    expect(fake.requests).toHaveLength(0);
  });
});
