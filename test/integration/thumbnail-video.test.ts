/**
 * Video posters and storyboards end to end on the embedded runtime: ffprobe's geometry planned into the work
 * order, ffmpeg frames, sharp renditions. Poster choice, sample aspect ratio and rotation are checked on the
 * stored files.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sharp } from '../../functions/thumbnail/sharp.ts';
import { thumbnailStep } from '../../functions/thumbnail/step.ts';
import { anamorphicVideo, fadeVideo, hlgVideo, rotatedVideo } from '../../scripts/sample-media/sample-images.ts';
import type { AssetDoc } from '../../shared/domain/asset.ts';
import { uploadAssetId } from '../../shared/domain/asset-id.ts';
import { createStepRegistry } from '../../shared/domain/step.ts';
import { startTestRuntime, type TestRuntime } from '../support/embedded.ts';

type Derivative = { uri: string; role: string; width: number; height: number; format: string };
type VideoOutputs = {
  mode: string;
  hdrToneMapped: boolean;
  display: { width: number; height: number };
  poster: { timeSeconds: number; width: number; height: number };
  storyboard: {
    vttUri: string;
    sprites: { uri: string; width: number; height: number }[];
    tileWidth: number;
    tileHeight: number;
    intervalSeconds: number;
    tiles: number;
  } | null;
  derivatives: Derivative[];
};

let fixtures: string;
let runtime: TestRuntime | undefined;

beforeAll(async () => {
  fixtures = await mkdtemp(path.join(os.tmpdir(), 'thumbnail-video-'));
});
afterAll(async () => {
  await rm(fixtures, { recursive: true, force: true });
});
afterEach(async () => {
  await runtime?.dispose();
  runtime = undefined;
});

async function process(file: string, name: string): Promise<{ asset: AssetDoc; outputs: VideoOutputs }> {
  runtime = await startTestRuntime({ steps: createStepRegistry([thumbnailStep]) });
  const meta = await runtime.blobs.upload(file, { bucket: runtime.deps.config.buckets.ingest, name });
  await runtime.idle();
  const asset = await runtime.asset(uploadAssetId(meta.bucket, meta.name, meta.generation));
  expect(asset?.status, JSON.stringify(asset?.error)).toBe('READY');
  return { asset: asset!, outputs: asset!.steps.thumbnail!.outputs as unknown as VideoOutputs };
}

async function read(uri: string): Promise<Buffer> {
  const [, bucket, name] = /^gs:\/\/([^/]+)\/(.+)$/.exec(uri)!;
  return runtime!.blobs.read({ bucket: bucket!, name: name! });
}

describe('a video', () => {
  it('gets a poster from the middle, away from the black and the fades, and a storyboard with a WebVTT track', async () => {
    const { outputs } = await process(await fadeVideo('ffmpeg', path.join(fixtures, 'fades.mp4'), { durationSeconds: 9 }), 'fades.mp4');
    // Black until 2 s, fading in until 3 s, testsrc2 until 6 s, fading out until 7 s, then black.
    expect(outputs.poster.timeSeconds).toBeGreaterThanOrEqual(3);
    expect(outputs.poster.timeSeconds).toBeLessThanOrEqual(6);
    expect(outputs.derivatives.map((d) => [d.role, d.format, d.width, d.height])).toEqual(
      [
        [320, 180],
        [160, 90],
      ].flatMap(([w, h]) => ['avif', 'webp', 'jpeg'].map((f) => ['poster', f, w, h])),
    );
    const poster = await sharp(await read(outputs.derivatives.find((d) => d.format === 'jpeg')!.uri)).stats();
    expect(poster.channels[0]!.mean).toBeGreaterThan(60);
    expect(poster.channels[0]!.stdev).toBeGreaterThan(30);

    const board = outputs.storyboard!;
    expect(board).toMatchObject({ tileWidth: 160, tileHeight: 90, intervalSeconds: 1, tiles: 9 });
    expect(board.sprites.map((s) => [s.width, s.height])).toEqual([[1440, 90]]);
    const sprite = await sharp(await read(board.sprites[0]!.uri)).metadata();
    expect([sprite.width, sprite.height, sprite.format]).toEqual([1440, 90, 'jpeg']);
    const vtt = (await read(board.vttUri)).toString('utf8').split('\n');
    expect(vtt.slice(0, 5)).toEqual(['WEBVTT', '', '00:00:00.000 --> 00:00:01.000', 'storyboard-0.jpg#xywh=0,0,160,90', '']);
    expect(vtt).toContain('storyboard-0.jpg#xywh=1280,0,160,90');
    expect(vtt.filter((line) => line.includes('-->'))).toHaveLength(9);
  });

  it('honours a non-square sample aspect ratio: 720×480 at 32:27 is shown at 853×480', async () => {
    const { asset, outputs } = await process(await anamorphicVideo('ffmpeg', path.join(fixtures, 'dvd.mp4')), 'dvd.mp4');
    expect(asset.probe).toMatchObject({ display: { width: 853, height: 480 } });
    expect(outputs.display).toEqual({ width: 853, height: 480 });
    expect(outputs.poster).toMatchObject({ width: 853, height: 480 });
    expect(outputs.derivatives.filter((d) => d.format === 'webp').map((d) => [d.width, d.height])).toEqual([
      [853, 480],
      [640, 360],
      [320, 180],
      [160, 90],
    ]);
    expect(outputs.storyboard).toMatchObject({ tileWidth: 160, tileHeight: 90 });
    const stored = await sharp(await read(outputs.derivatives[0]!.uri)).metadata();
    expect([stored.width, stored.height]).toEqual([853, 480]);
  });

  it('honours the rotation side data: a landscape-stored phone clip becomes a portrait poster, turned the right way', async () => {
    const { asset, outputs } = await process(await rotatedVideo('ffmpeg', path.join(fixtures, 'phone.mp4')), 'phone.mp4');
    const rotation = (asset.probe as { streams: { rotation?: number }[] }).streams[0]!.rotation;
    expect([90, 270]).toContain(rotation);
    expect(outputs.display).toEqual({ width: 180, height: 320 });
    expect(outputs.poster).toMatchObject({ width: 180, height: 320 });
    expect(outputs.storyboard).toMatchObject({ tileWidth: 90, tileHeight: 160 });
    // The stored frame's white top half ends up on the right after a clockwise quarter turn, on the left otherwise.
    const { data, info } = await sharp(await read(outputs.derivatives.find((d) => d.format === 'jpeg')!.uri))
      .raw()
      .toBuffer({ resolveWithObject: true });
    const luma = (x: number) => data[(Math.floor(info.height / 2) * info.width + Math.floor(x * info.width)) * info.channels]!;
    const [white, other] = rotation === 90 ? [luma(0.9), luma(0.1)] : [luma(0.1), luma(0.9)];
    expect(white).toBeGreaterThan(240);
    expect(other).toBeLessThan(200);
  });

  it('runs an HLG clip through the tone-mapping chain (zscale + Hable) and records that it did', async () => {
    const { outputs } = await process(await hlgVideo('ffmpeg', path.join(fixtures, 'hlg.mp4')), 'hlg.mp4');
    expect(outputs.hdrToneMapped).toBe(true);
    expect(outputs.poster).toMatchObject({ width: 320, height: 180 });
    // The colour bars survive the trip through linear light: full-range channels, not a grey wash.
    const { channels } = await sharp(await read(outputs.derivatives.find((d) => d.format === 'jpeg')!.uri)).stats();
    for (const channel of channels) expect([channel.min < 30, channel.max > 200]).toEqual([true, true]);
  });
});
