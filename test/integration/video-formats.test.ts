/**
 * Video as phones, cameras, editing suites and broadcast deliver it (test/support/everyday-video.ts), through every
 * production step on the embedded runtime. What each rendition really is comes from ffprobe and ffmpeg's idet on
 * the published segments, not from our own outputs: progressive, 4:2:0 8-bit H.264 tagged BT.709, upright, at the
 * planned frame rate; the presentation as long as the source, with its audio tracks and subtitles, and validated.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { productionSteps } from '../../functions/registry.ts';
import type { AssetDoc } from '../../shared/domain/asset.ts';
import { parseIdet } from '../../shared/media/interlace.ts';
import { startTestRuntime, uploadAndSettle, type TestRuntime } from '../support/embedded.ts';
import { everydayVideo } from '../support/everyday-video.ts';
import { ffprobeJson, readPresentation, runFfmpeg, type Presentation } from '../support/hls.ts';

/**
 * idet on a deinterlaced output finds next to no combing. It is asked only of interlaced sources: on the synthetic
 * progressive test patterns it calls up to 70 % of frames interlaced, so there it would measure idet, not us.
 */
const MAX_INTERLACED_SHARE = 0.1;
/** Rungs from 720 lines up are HD: BT.709 whatever the source; SD rungs keep the source's own, correctly tagged, system. */
const HD_LINES = 720;
/** The display aspect of every rung matches the source's to within rounding to even sizes. */
const ASPECT_TOLERANCE = 0.02;

interface RenditionFacts {
  readonly codec: string;
  readonly pixelFormat: string;
  readonly width: number;
  readonly height: number;
  readonly frameRate: string;
  readonly tags: readonly (string | undefined)[];
  readonly fieldOrder: string | undefined;
  readonly rotated: boolean;
  readonly interlacedShare: number;
}

let dir: string;
let runtime: TestRuntime;
const assets = new Map<string, AssetDoc>();
const presentations = new Map<string, Presentation>();

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'mediaflow-video-formats-'));
  runtime = await startTestRuntime({ steps: productionSteps });
  for (const source of everydayVideo) {
    const file = await source.make(dir);
    const { asset } = await uploadAndSettle(runtime, file, source.name);
    if (!asset) continue;
    assets.set(source.name, asset);
    if (asset.status === 'READY') presentations.set(source.name, await readPresentation(runtime, asset));
  }
}, 900_000);

afterAll(async () => {
  await runtime?.dispose();
  await rm(dir, { recursive: true, force: true });
});

async function facts(presentation: Presentation, variantUri: string): Promise<RenditionFacts> {
  const playlist = presentation.media.get(variantUri)!.path;
  const probe = await ffprobeJson(presentation.root, playlist, ['-select_streams', 'v:0', '-show_streams']);
  const stream = (probe.streams as Record<string, unknown>[])[0]!;
  const idet = await runFfmpeg(presentation.root, ['-i', playlist, '-map', '0:v:0', '-vf', 'idet', '-f', 'null', '-']);
  const counts = parseIdet(idet);
  const total = counts ? counts.tff + counts.bff + counts.progressive + counts.undetermined : 0;
  const sideData = (stream.side_data_list as { side_data_type?: string; rotation?: number }[] | undefined) ?? [];
  return {
    codec: String(stream.codec_name),
    pixelFormat: String(stream.pix_fmt),
    width: Number(stream.width),
    height: Number(stream.height),
    frameRate: String(stream.r_frame_rate),
    tags: [stream.color_primaries, stream.color_transfer, stream.color_space].map((tag) => (typeof tag === 'string' && tag !== 'unknown' ? tag : undefined)),
    fieldOrder: typeof stream.field_order === 'string' ? stream.field_order : undefined,
    rotated: sideData.some((data) => data.side_data_type === 'Display Matrix' && (data.rotation ?? 0) !== 0),
    interlacedShare: counts && total > 0 ? (counts.tff + counts.bff) / total : 1,
  };
}

describe.each(everydayVideo.map((source) => [source.name, source] as const))('%s', (name, source) => {
  it(`${source.what}: READY through every step, the package validated`, () => {
    const asset = assets.get(name);
    expect(asset?.error ?? null).toBeNull();
    expect(asset?.status).toBe('READY');
    expect(asset?.kind).toBe('video');
    expect((asset?.steps['hls-package']?.outputs as { validation?: { passed: boolean } }).validation?.passed).toBe(true);
  });

  it('every rendition is progressive 4:2:0 8-bit H.264 with colour tags (BT.709 for HD), upright, at the planned rate and the source’s aspect', async () => {
    const presentation = presentations.get(name)!;
    expect(presentation.master.variants.length).toBeGreaterThan(0);
    const sourceAspect = source.expect.display.width / source.expect.display.height;
    for (const variant of presentation.master.variants) {
      const rendition = await facts(presentation, variant.uri);
      expect(rendition, variant.uri).toMatchObject({ codec: 'h264', pixelFormat: 'yuv420p', frameRate: source.expect.frameRate, rotated: false });
      // Flagged progressive, or not flagged at all (ffprobe reading through the HLS demuxer may not say): never a field order.
      expect([undefined, 'progressive'], `${variant.uri}: field order`).toContain(rendition.fieldOrder);
      if (rendition.height >= HD_LINES) expect(rendition.tags, variant.uri).toEqual(['bt709', 'bt709', 'bt709']);
      else
        expect(
          rendition.tags.every((tag) => tag !== undefined),
          `${variant.uri}: ${rendition.tags.join('/')}`,
        ).toBe(true);
      if (source.expect.interlaced)
        expect(rendition.interlacedShare, `${variant.uri}: share of frames idet finds interlaced`).toBeLessThanOrEqual(MAX_INTERLACED_SHARE);
      expect(Math.abs(rendition.width / rendition.height / sourceAspect - 1), `${variant.uri}: ${rendition.width}×${rendition.height}`).toBeLessThanOrEqual(
        ASPECT_TOLERANCE,
      );
      expect(rendition.height).toBeLessThanOrEqual(source.expect.display.height);
    }
  });

  it('lasts as long as the source, and carries its audio tracks and subtitles', () => {
    const asset = assets.get(name)!;
    const packaged = asset.steps['hls-package']?.outputs as { durationSeconds: number };
    expect(Math.abs(packaged.durationSeconds - source.expect.seconds)).toBeLessThanOrEqual(0.1);
    const { master } = presentations.get(name)!;
    const audio = master.media.filter((entry) => entry.TYPE === 'AUDIO');
    expect(audio.map((entry) => entry.LANGUAGE ?? 'und')).toEqual(source.expect.audio);
    if (audio.length > 1) expect(audio.filter((entry) => entry.DEFAULT === 'YES')).toHaveLength(1);
    const subtitles = master.media.filter((entry) => entry.TYPE === 'SUBTITLES');
    expect(subtitles.map((entry) => entry.LANGUAGE)).toEqual(source.expect.subtitles ?? []);
  });
});
