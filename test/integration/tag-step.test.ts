/**
 * The tag step on the embedded runtime (real bus, store, folders, ffprobe, sharp), after the real thumbnail step:
 * the plan hands it the 640 px still, and the asset reaches READY with either the technical signals only or,
 * against the local Vertex fake, the model's tags.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { audioStep } from '../../functions/audio/step.ts';
import { createTagStep, tagStep } from '../../functions/tag/step.ts';
import { thumbnailStep } from '../../functions/thumbnail/step.ts';
import { taggedMp3WithCover } from '../../scripts/sample-media/sample-audio.ts';
import { cameraJpeg } from '../../scripts/sample-media/sample-images.ts';
import { uploadAssetId } from '../../shared/domain/asset-id.ts';
import { parseGsUri } from '../../shared/domain/ingest-request.ts';
import { createStepRegistry, type StepDefinition } from '../../shared/domain/step.ts';
import { startTestRuntime, type TestRuntime } from '../support/embedded.ts';
import { answer, fixedTokenAuthClient, startVertexFake, type VertexFake } from '../support/vertex-fake.ts';

const tags = {
  labels: [{ name: 'test pattern', confidence: 0.9 }],
  description: 'A synthetic test picture.',
  hasText: false,
  safety: { adult: 'very_unlikely', violence: 'very_unlikely', racy: 'very_unlikely', medical: 'very_unlikely' },
};

let fixtures: string;
let source: string;
let fake: VertexFake;
let runtime: TestRuntime | undefined;

beforeAll(async () => {
  fixtures = await mkdtemp(path.join(os.tmpdir(), 'tag-it-'));
  source = await cameraJpeg('ffmpeg', path.join(fixtures, 'camera.jpg'), { width: 2400, height: 1600 });
  fake = await startVertexFake();
});
afterAll(async () => {
  await fake.close();
  await rm(fixtures, { recursive: true, force: true });
});
afterEach(async () => {
  await runtime?.dispose();
  runtime = undefined;
});

async function tagImage(tag: StepDefinition) {
  runtime = await startTestRuntime({ steps: createStepRegistry([thumbnailStep, audioStep, tag]) });
  const meta = await runtime.blobs.upload(source, { bucket: runtime.deps.config.buckets.ingest, name: 'holiday/camera.jpg' });
  await runtime.idle();
  return runtime.asset(uploadAssetId(meta.bucket, meta.name, meta.generation));
}

describe('tagging an image on the embedded runtime', () => {
  it('records technical signals marked aiGenerated: false when Vertex is not configured', async () => {
    const asset = await tagImage(tagStep);
    expect(asset?.status).toBe('READY');
    expect(asset!.plan).toEqual(['thumbnail', 'tag']);
    const step = asset!.steps.tag!;
    expect(step.status).toBe('SUCCEEDED');
    expect(step.dependsOn).toEqual(['thumbnail']);
    expect(step.outputs).toMatchObject({
      aiGenerated: false,
      reason: 'vertex-not-configured',
      kind: 'image',
      signals: { kind: 'image', width: 2400, height: 1600, animated: false, hasAudio: false, transparent: false, loudness: null },
    });
    expect(step.outputs).not.toHaveProperty('tags');
    expect((step.outputs!.signals as Record<string, unknown>).dominantColour).toMatch(/^#[0-9a-f]{6}$/);
  });

  it('shows the model the 640 px JPEG still, inline, and records its tags', async () => {
    fake.reply(answer(JSON.stringify(tags)));
    const asset = await tagImage(
      createTagStep({ vertex: { project: 'p', location: 'l', model: 'gemini-2.5-flash', baseUrl: fake.baseUrl, authClient: fixedTokenAuthClient } }),
    );
    expect(asset?.status).toBe('READY');
    const outputs = asset!.steps.tag!.outputs as Record<string, unknown> & { inputs: { uri: string }[] };
    expect(outputs).toMatchObject({ aiGenerated: true, tags, model: 'gemini-2.5-flash', inputs: [{ mimeType: 'image/jpeg', role: 'thumbnail' }] });
    expect(outputs.inputs[0]!.uri).toMatch(/\/thumbnail\/v1\/still-640\.jpg$/);

    const still = await runtime!.blobs.read(parseGsUri(outputs.inputs[0]!.uri));
    const parts = (fake.requests.at(-1)!.body as { contents: { parts: Record<string, unknown>[] }[] }).contents[0]!.parts;
    expect(parts[1]).toEqual({ inlineData: { data: still.toString('base64'), mimeType: 'image/jpeg' } });
  });
});

describe('tagging an audio file with cover art on the embedded runtime', () => {
  const audioTags = {
    musicOrSpeech: 'music',
    genre: 'electronic',
    mood: ['calm'],
    tempoFeel: 'moderate',
    language: null,
    explicit: false,
    topics: [],
    description: 'A steady synthetic tone.',
  };

  it('shows the model the preview clip, then the 640 px cover, both inline', async () => {
    fake.reply(answer(JSON.stringify(audioTags)));
    const song = await taggedMp3WithCover('ffmpeg', path.join(fixtures, 'tagged.mp3'), { durationSeconds: 3, coverWidth: 800, coverHeight: 800 });
    const tag = createTagStep({ vertex: { project: 'p', location: 'l', model: 'gemini-2.5-flash', baseUrl: fake.baseUrl, authClient: fixedTokenAuthClient } });
    runtime = await startTestRuntime({ steps: createStepRegistry([thumbnailStep, audioStep, tag]) });
    const meta = await runtime.blobs.upload(song, { bucket: runtime.deps.config.buckets.ingest, name: 'music/tagged.mp3' });
    await runtime.idle();
    const asset = await runtime.asset(uploadAssetId(meta.bucket, meta.name, meta.generation));
    expect(asset?.status).toBe('READY');
    const outputs = asset!.steps.tag!.outputs as Record<string, unknown> & { inputs: { uri: string; mimeType: string; role: string }[] };
    expect(outputs).toMatchObject({ aiGenerated: true, kind: 'audio', tags: audioTags });
    expect(outputs.inputs.map((input) => [input.role, input.mimeType])).toEqual([
      ['audio-preview', 'audio/mp4'],
      ['cover', 'image/jpeg'],
    ]);
    expect(outputs.inputs[1]!.uri).toMatch(/\/thumbnail\/v1\/cover-640\.jpg$/);

    const cover = await runtime.blobs.read(parseGsUri(outputs.inputs[1]!.uri));
    const parts = (fake.requests.at(-1)!.body as { contents: { parts: Record<string, unknown>[] }[] }).contents[0]!.parts;
    expect(parts).toHaveLength(3);
    expect(parts[1]).toMatchObject({ inlineData: { mimeType: 'audio/mp4' } });
    expect(parts[2]).toEqual({ inlineData: { data: cover.toString('base64'), mimeType: 'image/jpeg' } });
  });
});
