/**
 * Issue 14's HDR ladder through the whole HLS chain: PQ (HDR10, with mastering metadata) and HLG sources uploaded
 * with the `hdr` profile get HEVC Main10 renditions beside the SDR H.264 ones, tagged BT.2020 with the source's
 * transfer and listed in the master with VIDEO-RANGE; without the profile the same PQ source gets no HEVC variant.
 * Two shards per source (1 s segments), so the init segments are proven identical across shards by the package.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HDR10_MASTER_DISPLAY, HDR10_MAX_CLL, hlgHevcMov, pqHevcHdr10 } from '../../scripts/sample-media/sample-video-sources.ts';
import { uploadAssetId } from '../../shared/domain/asset-id.ts';
import type { AssetDoc } from '../../shared/domain/asset.ts';
import { PROFILE_METADATA } from '../../shared/domain/ingest-request.ts';
import type { HlsSettings } from '../../shared/media/hls/settings.ts';
import { startTestRuntime, type TestRuntime } from '../support/embedded.ts';
import { decodeErrors, decodeStream, ffprobeJson, hlsRegistry, readPresentation, TEST_HLS_SETTINGS } from '../support/hls.ts';

/** One-second segments: each 2 s clip is two shards, whose init segments the package checks are identical. */
const SETTINGS: HlsSettings = { ...TEST_HLS_SETTINGS, segmentSeconds: 1, keyframeSeconds: 1 };

interface Upload {
  readonly file: string;
  readonly make: (out: string) => Promise<string>;
  readonly profile?: string;
}

const uploads: Readonly<Record<string, Upload>> = {
  pq: { file: 'pq.mp4', make: (out) => pqHevcHdr10('ffmpeg', out), profile: 'hdr' },
  hlg: { file: 'hlg.mov', make: (out) => hlgHevcMov('ffmpeg', out), profile: 'hdr' },
  'pq, default profile': { file: 'pq-default.mp4', make: (out) => pqHevcHdr10('ffmpeg', out) },
};

let fixtures: string;
let runtime: TestRuntime;
const assets = new Map<string, AssetDoc>();

beforeAll(async () => {
  fixtures = await mkdtemp(path.join(os.tmpdir(), 'mediaflow-hls-hdr-'));
  runtime = await startTestRuntime({ steps: hlsRegistry(SETTINGS) });
  const bucket = runtime.deps.config.buckets.ingest;
  const ids = new Map<string, string>();
  for (const [name, upload] of Object.entries(uploads)) {
    const file = await upload.make(path.join(fixtures, upload.file));
    const meta = await runtime.blobs.upload(
      file,
      { bucket, name: `hdr/${upload.file}` },
      upload.profile ? { metadata: { [PROFILE_METADATA]: upload.profile } } : {},
    );
    ids.set(name, uploadAssetId(bucket, meta.name, meta.generation));
  }
  await runtime.idle();
  for (const [name, id] of ids) {
    const asset = await runtime.asset(id);
    if (!asset) throw new Error(`no asset for ${name}`);
    assets.set(name, asset);
  }
}, 300_000);
afterAll(async () => {
  await runtime?.dispose();
  await rm(fixtures, { recursive: true, force: true });
});

describe('the hdr profile adds an HEVC Main10 ladder to PQ and HLG sources', () => {
  it.each([
    { name: 'pq', range: 'PQ', transfer: 'smpte2084' },
    { name: 'hlg', range: 'HLG', transfer: 'arib-std-b67' },
  ])('$name: SDR H.264 first, then HEVC Main10 hvc1 BT.2020 $transfer with VIDEO-RANGE=$range', async ({ name, range, transfer }) => {
    const asset = assets.get(name)!;
    expect(asset.status, JSON.stringify(asset.error)).toBe('READY');
    const hls = await readPresentation(runtime, asset);
    const variants = hls.master.variants.map((variant) => variant.attributes);
    expect(variants.map((variant) => variant['VIDEO-RANGE'])).toEqual(['SDR', range]);
    // The PQ clip is silent, the HLG one has a tone.
    expect(variants[0]!.CODECS).toMatch(/^avc1\.[0-9a-f]{6}(,mp4a\.40\.2)?$/);
    expect(variants[1]!.CODECS).toMatch(/^hvc1\.2\.4\.L\d+(\.[0-9A-F]{1,2})*(,mp4a\.40\.2)?$/);
    // Same rung, never upscaled: the 640×360 source gives one size to both ladders.
    expect(variants.map((variant) => variant.RESOLUTION)).toEqual(['640x360', '640x360']);
    expect(variants.every((variant) => Number(variant.BANDWIDTH) >= Number(variant['AVERAGE-BANDWIDTH']) && Number(variant['AVERAGE-BANDWIDTH']) > 0)).toBe(
      true,
    );
    const media = hls.media.get(hls.master.variants[1]!.uri)!;
    const json = await ffprobeJson(hls.root, media.path, [
      '-select_streams',
      'v:0',
      '-show_entries',
      'stream=codec_name,codec_tag_string,profile,pix_fmt,color_range,color_space,color_transfer,color_primaries',
    ]);
    expect((json.streams as Record<string, unknown>[])[0]).toMatchObject({
      codec_name: 'hevc',
      codec_tag_string: 'hvc1',
      profile: 'Main 10',
      pix_fmt: 'yuv420p10le',
      color_range: 'tv',
      color_space: 'bt2020nc',
      color_primaries: 'bt2020',
      color_transfer: transfer,
    });
    const sdr = await decodeStream(hls.root, hls.media.get(hls.master.variants[0]!.uri)!.path, 'v');
    const hdr = await decodeStream(hls.root, media.path, 'v');
    // ffmpeg 5.1's mov demuxer shifts each track by its own reorder delay (shared/media/hls/ffmpeg.ts), which differs
    // between x264 and x265: the frame count and the span are compared; the package checked the tfdt alignment.
    expect(hdr.frameTimes.length).toBe(sdr.frameTimes.length);
    const span = (times: readonly number[]): number => times.at(-1)! - times[0]!;
    expect(span(hdr.frameTimes)).toBeCloseTo(span(sdr.frameTimes), 5);
    const checks = (asset.steps['hls-package']?.outputs?.validation as { checks: { name: string; detail: string }[] }).checks;
    expect(checks.find((check) => check.name === 'init-segments')?.detail).toContain('-hdr');
    expect(await decodeErrors(hls.root, hls.masterPath)).toBe('');
  });

  it("carries the PQ source's HDR10 mastering display and content light level into the HEVC renditions", async () => {
    const hls = await readPresentation(runtime, assets.get('pq')!);
    const media = hls.media.get(hls.master.variants[1]!.uri)!;
    const json = await ffprobeJson(hls.root, media.path, [
      '-select_streams',
      'v:0',
      '-read_intervals',
      '%+#1',
      '-show_frames',
      '-show_entries',
      'frame=side_data_list',
    ]);
    const side = (json.frames as { side_data_list?: Record<string, unknown>[] }[])[0]?.side_data_list ?? [];
    const display = side.find((entry) => entry.side_data_type === 'Mastering display metadata');
    const light = side.find((entry) => entry.side_data_type === 'Content light level metadata');
    const [g, b, r, wp, l] = [...HDR10_MASTER_DISPLAY.matchAll(/\((\d+),(\d+)\)/g)].map((match) => [Number(match[1]), Number(match[2])]);
    expect(display).toMatchObject({
      green_x: `${g![0]}/50000`,
      blue_y: `${b![1]}/50000`,
      red_x: `${r![0]}/50000`,
      white_point_y: `${wp![1]}/50000`,
      max_luminance: `${l![0]}/10000`,
    });
    expect(light).toMatchObject({ max_content: Number(HDR10_MAX_CLL.split(',')[0]), max_average: Number(HDR10_MAX_CLL.split(',')[1]) });
  });

  it('without the profile, the PQ source gets the SDR ladder only, without VIDEO-RANGE', async () => {
    const asset = assets.get('pq, default profile')!;
    expect(asset.status, JSON.stringify(asset.error)).toBe('READY');
    const hls = await readPresentation(runtime, asset);
    expect(hls.master.variants.map((variant) => [variant.attributes.CODECS?.split('.')[0], variant.attributes['VIDEO-RANGE']])).toEqual([['avc1', undefined]]);
  });
});
