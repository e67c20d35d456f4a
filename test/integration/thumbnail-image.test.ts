/**
 * The thumbnail step end to end on the embedded runtime (real bus, store, folders, ffprobe, sharp): uploads in,
 * derivatives in the derivatives bucket with their metadata, outputs and provenance on the asset.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { THUMBNAIL_RECIPE_VERSION, thumbnailStep } from '../../functions/thumbnail/step.ts';
import { sharp } from '../../functions/thumbnail/sharp.ts';
import { cameraJpeg, pngBomb } from '../../scripts/sample-media/sample-images.ts';
import { mp3WithCoverArt } from '../../scripts/sample-media/sample-media.ts';
import { documentId } from '../../shared/domain/asset-id.ts';
import { DERIVATIVE_MARKER, parseGsUri } from '../../shared/domain/ingest-request.ts';
import { createStepRegistry } from '../../shared/domain/step.ts';
import { IMMUTABLE_CACHE_CONTROL } from '../../shared/runtime/derivatives.ts';
import { startTestRuntime, uploadAndSettle, type TestRuntime } from '../support/embedded.ts';
import { useScratchDir } from '../support/fixtures.ts';

type Derivative = { uri: string; role: string; width: number; height: number; format: string; bytes: number };

let runtime: TestRuntime | undefined;

const scratch = useScratchDir('thumbnail-it-');
afterEach(async () => {
  await runtime?.dispose();
  runtime = undefined;
});

const ref = parseGsUri;

describe('an image upload', () => {
  it('gets the default derivative set, with placeholders, EXIF basics and provenance, and none of it is ingested again', async () => {
    runtime = await startTestRuntime({ steps: createStepRegistry([thumbnailStep]) });
    const source = await cameraJpeg('ffmpeg', path.join(scratch.path, 'camera.jpg'), { width: 2400, height: 1600 });
    const { id, meta, asset } = await uploadAndSettle(runtime, source, 'holiday/camera.jpg');
    expect(asset?.status).toBe('READY');
    const step = asset!.steps.thumbnail!;
    const outputs = step.outputs as Record<string, unknown> & { derivatives: Derivative[] };

    expect(outputs).toMatchObject({
      mode: 'image',
      source: { format: 'jpeg', width: 2400, height: 1600, bitDepth: 8, hasAlpha: false, orientation: 1 },
      display: { width: 2400, height: 1600 },
      colour: { output: 'srgb', wideGamut: false, gamutClipped: false },
      exif: { make: 'Acme Optics', model: 'Acme X100', capturedAt: '2024-05-01T12:34:56+02:00' },
    });
    // The source is flat (90,140,200), give or take JPEG's rounding.
    const dominant = /^#(..)(..)(..)$/
      .exec((outputs.placeholder as { dominantColour: string }).dominantColour)!
      .slice(1)
      .map((hex) => Number.parseInt(hex, 16));
    dominant.forEach((channel, index) => expect(Math.abs(channel - [90, 140, 200][index]!)).toBeLessThanOrEqual(2));
    expect(JSON.stringify(outputs)).not.toContain('GPS');
    expect(step.provenance).toMatchObject({ inputMd5: meta.md5Hash, recipeVersion: THUMBNAIL_RECIPE_VERSION });
    expect(Object.keys(step.provenance!.tools as object)).toEqual(expect.arrayContaining(['sharp', 'libvips']));

    const sizes = [
      [2048, 1365],
      [1280, 853],
      [640, 427],
      [320, 213],
      [160, 107],
    ];
    expect(outputs.derivatives.map((d) => [d.format, d.width, d.height])).toEqual(sizes.flatMap(([w, h]) => ['avif', 'webp', 'jpeg'].map((f) => [f, w, h])));
    const folder = `gs://${runtime.deps.config.buckets.derivatives}/${documentId(id)}/thumbnail/v${THUMBNAIL_RECIPE_VERSION}/`;
    expect(outputs.derivatives[0]!.uri).toBe(`${folder}still-2048.avif`);
    expect(outputs.derivatives.at(-1)!.uri).toBe(`${folder}still-160.jpg`);

    for (const derivative of outputs.derivatives) {
      const stored = await runtime.blobs.stat(ref(derivative.uri));
      expect(stored, derivative.uri).toMatchObject({
        size: derivative.bytes,
        contentType: { avif: 'image/avif', webp: 'image/webp', jpeg: 'image/jpeg' }[derivative.format],
        cacheControl: IMMUTABLE_CACHE_CONTROL,
        metadata: {
          [DERIVATIVE_MARKER]: 'thumbnail',
          'mediaflow-asset-id': id,
          'mediaflow-source-generation': meta.generation,
          role: 'still',
          width: String(derivative.width),
        },
      });
    }
    const largest = await sharp(await runtime.blobs.read(ref(outputs.derivatives[0]!.uri))).metadata();
    expect([largest.format, largest.width, largest.height, largest.exif]).toEqual(['heif', 2048, 1365, undefined]);
    // The derivatives bucket is never ingested: one asset, whatever was written.
    expect(await runtime.store.count('assets')).toBe(1);
  });

  it('a decompression bomb is rejected by the probe from its header, without retries and without a thumbnail order', async () => {
    runtime = await startTestRuntime({ steps: createStepRegistry([thumbnailStep]) });
    const source = await pngBomb('ffmpeg', path.join(scratch.path, 'bomb.png'), { width: 62_000, height: 62_000 });
    const { asset } = await uploadAndSettle(runtime, source, 'bomb.png');
    expect(asset).toMatchObject({
      status: 'REJECTED',
      error: { step: 'probe', code: 'IMAGE_TOO_LARGE', message: '62000×62000 = 3.8 Gpx exceeds the 268 Mpx limit' },
    });
    expect(asset!.steps.probe).toMatchObject({ attempts: 1 });
    expect(runtime.deliveries.get('thumbnail') ?? 0).toBe(0);
    expect(await runtime.store.count('deadLetters')).toBe(0);
  });

  it('a 121-byte SVG declaring 16000×16000 is drawn at the largest rendition size', async () => {
    runtime = await startTestRuntime({ steps: createStepRegistry([thumbnailStep]) });
    const source = path.join(scratch.path, 'huge.svg');
    await writeFile(source, '<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="16000" height="16000"/>\n<!-- x -->');
    const { asset } = await uploadAndSettle(runtime, source, 'drawings/huge.svg');
    expect(asset?.status).toBe('READY');
    expect(asset!.probe).toMatchObject({ kind: 'image', display: { width: 16_000, height: 16_000 } });
    const outputs = asset!.steps.thumbnail!.outputs as { source: { format: string; width: number }; derivatives: Derivative[] };
    expect(outputs.source).toMatchObject({ format: 'svg', width: 16_000 });
    expect(outputs.derivatives.map((d) => [d.format, d.width, d.height])).toEqual(
      [2048, 1280, 640, 320, 160].flatMap((size) => ['avif', 'webp', 'jpeg'].map((f) => [f, size, size])),
    );
  });

  it('an SVG declaring more than the pixel budget is still drawn, at the rendition sizes', async () => {
    runtime = await startTestRuntime({ steps: createStepRegistry([thumbnailStep]) });
    const source = path.join(scratch.path, 'wide.svg');
    await writeFile(source, '<svg xmlns="http://www.w3.org/2000/svg" width="40000" height="20000"><rect width="40000" height="20000" fill="#5a8cc8"/></svg>');
    const { asset } = await uploadAndSettle(runtime, source, 'wide.svg');
    expect(asset?.status).toBe('READY');
    const outputs = asset!.steps.thumbnail!.outputs as { derivatives: Derivative[] };
    expect(outputs.derivatives[0]).toMatchObject({ width: 2048, height: 1024 });
  });
});

describe('an audio upload with cover art', () => {
  it('gets the cover rendered as stills, never upscaled', async () => {
    runtime = await startTestRuntime({ steps: createStepRegistry([thumbnailStep]) });
    const source = await mp3WithCoverArt('ffmpeg', path.join(scratch.path, 'song.mp3'), { durationSeconds: 1 });
    const { asset } = await uploadAndSettle(runtime, source, 'song.mp3');
    expect(asset?.status).toBe('READY');
    const outputs = asset!.steps.thumbnail!.outputs as { mode: string; source: { format: string }; derivatives: Derivative[] };
    expect(outputs.mode).toBe('cover');
    // The cover is read from the ID3 tag as the JPEG it is, and cropped to the square sizes players show (640 skipped: never upscaled).
    expect(outputs.source.format).toBe('jpeg');
    expect(outputs.derivatives.map((d) => [d.role, d.format, d.width])).toEqual([300, 64].flatMap((w) => ['avif', 'webp', 'jpeg'].map((f) => ['cover', f, w])));
    // Read from the tag, not extracted by ffmpeg: the tools that made it are the image ones.
    expect(Object.keys(asset!.steps.thumbnail!.provenance!.tools as object)).toContain('sharp');
  });
});
