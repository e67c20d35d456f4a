/**
 * Audio tags, chapters and cover art end to end on the embedded runtime (real bus, store, folders, ffprobe, sharp,
 * music-metadata): ingest records what the tags say on the asset's probe, and the thumbnail step turns the cover
 * into square 640/300/64 px renditions in every profile format, with placeholders, never upscaled.
 */
import { mkdtemp } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PROBE_RECIPE_VERSION } from '../../functions/ingest/probe.ts';
import { thumbnailStep } from '../../functions/thumbnail/step.ts';
import { sharp } from '../../functions/thumbnail/sharp.ts';
import * as samples from '../../scripts/sample-media/sample-audio.ts';
import type { WorkOrder } from '../../events/catalog.ts';
import { uploadAssetId } from '../../shared/domain/asset-id.ts';
import type { AssetDoc } from '../../shared/domain/asset.ts';
import { parseGsUri } from '../../shared/domain/ingest-request.ts';
import { createStepRegistry } from '../../shared/domain/step.ts';
import { readAudioMetadata } from '../../shared/media/audio-metadata.ts';
import { resolveMediaTools } from '../../shared/media/tools.ts';
import { withServedSource } from '../../shared/runtime/source-server.ts';
import { startTestRuntime, type TestRuntime } from '../support/embedded.ts';
import { useScratchDir } from '../support/fixtures.ts';

type Derivative = { uri: string; role: string; width: number; height: number; format: string; bytes: number };
type CoverOutputs = {
  mode: string;
  source: { from: string; format: string; width: number; height: number; bytes: number };
  crop: { side: number; position: string } | null;
  sizes: number[];
  skippedSizes: number[];
  upscaled: boolean;
  note: string | null;
  placeholder: { blurhash: string; lqip: string; dominantColour: string | null };
  derivatives: Derivative[];
};

const MEGABYTE = 1024 * 1024;
let runtime: TestRuntime | undefined;

const scratch = useScratchDir('audio-cover-it-');
afterEach(async () => {
  await runtime?.dispose();
  runtime = undefined;
});

async function process(file: string, name: string): Promise<{ id: string; asset: AssetDoc }> {
  runtime ??= await startTestRuntime({ steps: createStepRegistry([thumbnailStep]) });
  const meta = await runtime.blobs.upload(file, { bucket: runtime.deps.config.buckets.ingest, name });
  await runtime.idle();
  const id = uploadAssetId(meta.bucket, meta.name, meta.generation);
  const asset = await runtime.asset(id);
  if (!asset) throw new Error(`no asset ${id}`);
  return { id, asset };
}

function coverOf(asset: AssetDoc): CoverOutputs {
  return asset.steps.thumbnail!.outputs as unknown as CoverOutputs;
}

/** Every size in every profile format, square, and each file really is that picture. */
async function expectSquares(outputs: CoverOutputs, sizes: readonly number[]): Promise<void> {
  expect(outputs.derivatives.map((d) => [d.role, d.format, d.width, d.height])).toEqual(
    sizes.flatMap((size) => ['avif', 'webp', 'jpeg'].map((format) => ['cover', format, size, size])),
  );
  for (const derivative of outputs.derivatives) {
    const stored = await runtime!.blobs.read(parseGsUri(derivative.uri));
    const meta = await sharp(stored).metadata();
    expect([meta.width, meta.height, stored.length], derivative.uri).toEqual([derivative.width, derivative.height, derivative.bytes]);
  }
  expect(outputs.derivatives[0]!.uri).toMatch(new RegExp(`/thumbnail/v1/cover-${sizes[0]}\\.avif$`));
  // 4×4 components for a square: 6 + 2 × 15 characters.
  expect(outputs.placeholder.blurhash).toMatch(/^[0-9A-Za-z#$%*+,\-.:;=?@[\]^_{|}~]{36}$/);
  expect(outputs.placeholder.dominantColour).toMatch(/^#[0-9a-f]{6}$/);
  expect(outputs.placeholder.lqip).toMatch(/^data:image\/webp;base64,/);
  expect(outputs.upscaled).toBe(false);
}

describe('an MP3 with ID3v2.3 tags and an APIC cover', () => {
  it('records the tags on the probe and renders 640/300/64 squares, centre-cropped, in every format', async () => {
    const file = await samples.taggedMp3WithCover('ffmpeg', path.join(scratch.path, 'tagged.mp3'), { coverWidth: 800, coverHeight: 700 });
    const { asset } = await process(file, 'music/tagged.mp3');
    expect(asset.status).toBe('READY');
    expect(asset.kind).toBe('audio');
    expect(asset.probe).toMatchObject({
      audioMetadata: {
        tags: {
          title: 'Night Drive',
          artist: 'The Testers',
          album: 'Synthetic Hours',
          albumArtist: 'Various Testers',
          track: { no: 3, of: 12 },
          disc: { no: 1, of: 2 },
          year: 2021,
          genre: ['Electronic'],
          isrc: ['USRC17607839'],
          language: 'eng',
          publisher: 'Mediaflow Records',
        },
        chapters: [],
        cover: { format: 'jpeg', width: 800, height: 700 },
      },
    });
    // ffprobe still reports the picture as an attached-picture stream; it does not make the file a video.
    expect((asset.probe!.streams as { attachedPicture: boolean }[]).some((stream) => stream.attachedPicture)).toBe(true);
    const provenance = asset.steps.probe!.provenance as { recipeVersion: string; tools: Record<string, string> };
    expect(provenance.recipeVersion).toBe(PROBE_RECIPE_VERSION);
    expect(provenance.tools['music-metadata']).toMatch(/^\d+\.\d+\.\d+$/);

    const outputs = coverOf(asset);
    expect(outputs).toMatchObject({
      mode: 'cover',
      source: { from: 'tags', format: 'jpeg', width: 800, height: 700 },
      crop: { side: 700, position: 'centre' },
      sizes: [640, 300, 64],
      skippedSizes: [],
      note: null,
    });
    await expectSquares(outputs, [640, 300, 64]);
  });
});

describe('covers in the other containers', () => {
  it('FLAC PICTURE block: a 640 px cover gets every size', async () => {
    const file = await samples.flacWithPicture('ffmpeg', path.join(scratch.path, 'album.flac'), { coverWidth: 640, coverHeight: 640 });
    const { asset } = await process(file, 'music/album.flac');
    expect(asset.status).toBe('READY');
    expect(asset.probe).toMatchObject({
      audioMetadata: { tags: { title: 'Night Drive', isrc: ['USRC17607839'] }, cover: { format: 'jpeg', width: 640, height: 640 } },
    });
    expect(coverOf(asset)).toMatchObject({ source: { from: 'tags' }, crop: null, sizes: [640, 300, 64] });
    await expectSquares(coverOf(asset), [640, 300, 64]);
  });

  it('Opus METADATA_BLOCK_PICTURE: a 500 px cover is never upscaled to 640, and the outputs say so', async () => {
    const file = await samples.opusWithPicture('ffmpeg', path.join(scratch.path, 'voice.opus'), { coverWidth: 500, coverHeight: 500 });
    const { asset } = await process(file, 'voice/voice.opus');
    expect(asset.status).toBe('READY');
    expect(asset.probe).toMatchObject({
      audioMetadata: { tags: { title: 'Night Drive', artist: 'The Testers' }, cover: { format: 'jpeg', width: 500, height: 500 } },
    });
    const outputs = coverOf(asset);
    expect(outputs).toMatchObject({ sizes: [300, 64], skippedSizes: [640], note: 'the cover is 500×500: 640 px not made (never upscaled)' });
    await expectSquares(outputs, [300, 64]);
  });

  it('M4A covr and QuickTime chapters: both on the asset, the chapters in seconds', async () => {
    const file = await samples.m4aWithCoverAndChapters('ffmpeg', path.join(scratch.path, 'book.m4a'), {
      durationSeconds: 6,
      chapters: 3,
      coverWidth: 600,
      coverHeight: 600,
    });
    const { asset } = await process(file, 'books/book.m4a');
    expect(asset.status).toBe('READY');
    const metadata = asset.probe!.audioMetadata as { chapters: { title: string; start: number; end: number | null }[] };
    expect(metadata.chapters.map((chapter) => [chapter.title, chapter.start])).toEqual([
      ['Chapter 1', 0],
      ['Chapter 2', 2],
      ['Chapter 3', 4],
    ]);
    expect(metadata.chapters[2]!.end).toBeCloseTo(asset.probe!.durationSeconds as number, 2);
    await expectSquares(coverOf(asset), [300, 64]);
  });
});

describe('a cover only ffprobe sees', () => {
  it('is copied out of the served source by ffmpeg, as stored, and rendered the same way (the stream fallback)', async () => {
    const file = await samples.taggedMp3WithCover('ffmpeg', path.join(scratch.path, 'fallback.mp3'), { coverWidth: 400, coverHeight: 300 });
    const { asset } = await process(file, 'music/fallback.mp3');
    const scratchDir = await mkdtemp(path.join(scratch.path, 'scratch-'));
    const { bucket, name, generation } = asset.source;
    // The order planning makes when the tags hold no picture music-metadata returns: the stream index alone.
    const order: WorkOrder = {
      orderId: 'mediaflow-ingest/fallback.mp3#1|thumbnail|0',
      assetId: 'mediaflow-ingest/fallback.mp3#1',
      step: 'thumbnail',
      shard: { index: 0, count: 1 },
      source: { bucket, name, generation },
      kind: 'audio',
      profile: 'default',
      params: { mode: 'cover', cover: { streamIndex: 1 } },
      issuedAt: new Date().toISOString(),
    };
    const { deps } = runtime!;
    const result = await thumbnailStep.run(order, {
      blobs: deps.blobs,
      config: deps.config,
      clock: deps.clock,
      log: deps.log,
      mediaTools: deps.mediaTools,
      scratchDir,
      signal: new AbortController().signal,
      deliveryAttempt: 1,
    });
    const outputs = result.outputs as unknown as CoverOutputs;
    expect(outputs).toMatchObject({
      source: { from: 'stream', format: 'jpeg', width: 400, height: 300 },
      crop: { side: 300 },
      sizes: [300, 64],
      skippedSizes: [640],
    });
    expect(result.tools).toHaveProperty('ffmpeg');
    await expectSquares(outputs, [300, 64]);
  });
});

describe('an MP3 podcast with ID3 chapters and no cover', () => {
  it('records the chapters and plans no thumbnail', async () => {
    const file = await samples.mp3WithChapters('ffmpeg', path.join(scratch.path, 'episode.mp3'), { durationSeconds: 6, chapters: 3 });
    const { asset } = await process(file, 'podcasts/episode.mp3');
    expect(asset.status).toBe('READY');
    expect(asset.plan).toEqual([]);
    expect(asset.probe).toMatchObject({
      audioMetadata: {
        tags: { title: 'Episode 1' },
        cover: null,
        chapters: [
          { title: 'Chapter 1', start: 0, end: 2 },
          { title: 'Chapter 2', start: 2, end: 4 },
          { title: 'Chapter 3', start: 4, end: 6 },
        ],
      },
    });
  });
});

describe('hostile tags', () => {
  it('are cleaned and capped, and no tag names a field of the document', async () => {
    const file = await samples.hostileTagsMp3('ffmpeg', path.join(scratch.path, 'hostile.mp3'));
    const { asset } = await process(file, 'hostile.mp3');
    expect(asset.status).toBe('READY');
    const metadata = asset.probe!.audioMetadata as { tags: Record<string, string> };
    expect(Object.keys(metadata.tags).sort()).toEqual(['album', 'artist', 'title']);
    expect(metadata.tags).toMatchObject({ artist: 'Evil[31mArtist', album: 'Album' });
    expect(Buffer.byteLength(metadata.tags.title!, 'utf8')).toBeLessThanOrEqual(1024);
    // ffprobe's own tag map drops the reserved key too (shared/domain/bounded.ts).
    expect(Object.keys(asset.probe!.tags as object)).not.toContain('__name__');
    expect(JSON.stringify(asset.probe)).not.toContain('__name__');
    expect(asset.probe!.warnings).toContain('audio tags: 3 values cut to 1024 bytes or cleaned of control characters');
  });
});

describe('a 50 MB M4A with its moov at the end', () => {
  it('has its tags, chapters and cover read at ingest with a few ranged reads', async () => {
    const file = await samples.m4aWithCoverAndChapters('ffmpeg', path.join(scratch.path, 'large.m4a'), { durationSeconds: 300, chapters: 12, lossless: true });
    const { asset } = await process(file, 'books/large.m4a');
    expect(asset.status).toBe('READY');
    const size = asset.probe!.sizeBytes as number;
    expect(size).toBeGreaterThan(50 * MEGABYTE);
    expect((asset.probe!.audioMetadata as { chapters: unknown[] }).chapters).toHaveLength(12);

    // The same read through the BlobStore port with the source server's read-ahead, as ingest does it.
    const { sourceDemuxers } = await resolveMediaTools(globalThis.process.env);
    const source = parseGsUri(asset.source.uri);
    const stats = await withServedSource(runtime!.blobs, { ...source, generation: asset.source.generation }, sourceDemuxers, async (served) => {
      await readAudioMetadata(served.bytes);
      return served.stats();
    });
    console.info(`large.m4a (${size} bytes): music-metadata made ${stats.requests} requests for ${stats.bytesRead} bytes`);
    expect(stats.bytesRead).toBeLessThan(2 * MEGABYTE);
  });
});
