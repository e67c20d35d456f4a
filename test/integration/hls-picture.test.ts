/**
 * Issue 14's pictures through the whole HLS chain (ingest's probe and idet verdict, hls-segment, hls-package):
 * interlaced sources (flagged, unflagged, telecined) come out progressive, a flagged-but-progressive source is
 * left alone, HLG and PQ HEVC Main10 are tone-mapped to SDR BT.709, 4:4:4, full-range and BT.601 sources become
 * 8-bit 4:2:0 limited range with the right tags, and 120 fps is halved. Every rendition is measured: idet on the
 * decoded output, pix_fmt and range, the colour tags in the bitstream and in the init segment's colr box, the
 * frame rate and the duration.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bt601Clip,
  flaggedProgressiveClip,
  fullRangeMjpegAvi,
  highFrameRateClip,
  hlgHevcMov,
  interlacedBroadcastTs,
  pqHevcHdr10,
  screenCapture444,
  telecinedFilmClip,
  unflaggedInterlacedClip,
} from '../../scripts/sample-media/sample-video-sources.ts';
import type { SegmentSummary } from '../../functions/hls-segment/combine.ts';
import type { AssetDoc } from '../../shared/domain/asset.ts';
import { parseIdet } from '../../shared/media/interlace.ts';
import { startTestRuntime, type TestRuntime } from '../support/embedded.ts';
import { decodeErrors, decodeStream, ffprobeJson, hlsRegistry, readPresentation, runFfmpeg, uploadAndSettle } from '../support/hls.ts';

/** ISO/IEC 23091-2 code points, as the colr box's nclx carries them. */
const NCLX = { bt709: [1, 1, 1], smpte170m: [6, 6, 6], bt470bg: [5, 6, 5] } as const;
/** idet on a deinterlaced output: a stray frame or two may read as combed on sharp test edges, never the bulk. */
const MAX_COMBED_SHARE = 0.1;

interface Case {
  readonly name: string;
  readonly file: string;
  readonly make: (out: string) => Promise<string>;
  readonly seconds: number;
  readonly frameRate: string;
  readonly rule: string;
  readonly scan: 'tff' | 'bff' | 'progressive';
  /** Colour space of each rendition, largest first. */
  readonly spaces: readonly (keyof typeof NCLX)[];
  readonly toneMapped?: boolean;
}

const cases: readonly Case[] = [
  // Three seconds at 2 s segments: two shards, so the deinterlaced stream is also checked across a shard boundary.
  {
    name: '1080i25 MPEG-2 TS, TFF, AC-3',
    file: 'i1080.ts',
    make: (out) => interlacedBroadcastTs('ffmpeg', out, { durationSeconds: 3 }),
    seconds: 3,
    frameRate: '25.000',
    rule: 'deinterlaced to frame rate',
    scan: 'tff',
    spaces: ['bt709', 'bt709', 'bt709', 'bt709'],
  },
  {
    name: 'unflagged interlaced H.264',
    file: 'unflagged.mp4',
    make: (out) => unflaggedInterlacedClip('ffmpeg', out),
    seconds: 2,
    frameRate: '25.000',
    rule: 'deinterlaced to frame rate',
    scan: 'tff',
    spaces: ['smpte170m'],
  },
  {
    name: 'flagged interlaced, progressive pictures',
    file: 'flagged.ts',
    make: (out) => flaggedProgressiveClip('ffmpeg', out),
    seconds: 2,
    frameRate: '25.000',
    rule: 'kept',
    scan: 'progressive',
    spaces: ['smpte170m'],
  },
  // One shard: this MPEG-TS seeks past a segment start that falls between its keyframes (see the report of issue 14).
  {
    name: 'telecined film (29.97i carrying 23.976)',
    file: 'telecine.ts',
    make: (out) => telecinedFilmClip('ffmpeg', out, { durationSeconds: 1.5 }),
    seconds: 1.5015,
    frameRate: '29.970',
    rule: 'deinterlaced to frame rate',
    scan: 'tff',
    spaces: ['smpte170m'],
  },
  {
    name: 'HLG HEVC Main10 MOV',
    file: 'hlg.mov',
    make: (out) => hlgHevcMov('ffmpeg', out),
    seconds: 2,
    frameRate: '30.000',
    rule: 'kept',
    scan: 'progressive',
    spaces: ['bt709'],
    toneMapped: true,
  },
  {
    name: 'HDR10 PQ HEVC with mastering metadata',
    file: 'pq.mp4',
    make: (out) => pqHevcHdr10('ffmpeg', out),
    seconds: 2,
    frameRate: '24.000',
    rule: 'kept',
    scan: 'progressive',
    spaces: ['bt709'],
    toneMapped: true,
  },
  {
    name: '4:4:4 H.264 screen capture 1366×767',
    file: 'screen.mp4',
    make: (out) => screenCapture444('ffmpeg', out),
    seconds: 2,
    frameRate: '30.000',
    rule: 'kept',
    scan: 'progressive',
    spaces: ['bt709', 'bt709', 'bt709'],
  },
  {
    name: 'full-range MJPEG in AVI',
    file: 'mjpeg.avi',
    make: (out) => fullRangeMjpegAvi('ffmpeg', out),
    seconds: 2,
    frameRate: '30.000',
    rule: 'kept',
    scan: 'progressive',
    spaces: ['bt470bg'],
  },
  {
    name: 'BT.601 SD 720×480',
    file: 'sd601.mp4',
    make: (out) => bt601Clip('ffmpeg', out),
    seconds: 2,
    frameRate: '29.970',
    rule: 'kept',
    scan: 'progressive',
    spaces: ['smpte170m', 'smpte170m'],
  },
  {
    name: 'BT.601-tagged 1280×720',
    file: 'hd601.mp4',
    make: (out) => bt601Clip('ffmpeg', out, { width: 1280, height: 720 }),
    seconds: 2,
    frameRate: '29.970',
    rule: 'kept',
    scan: 'progressive',
    spaces: ['bt709', 'smpte170m', 'smpte170m'],
  },
  {
    name: '120 fps slow motion',
    file: 'hfr.mp4',
    make: (out) => highFrameRateClip('ffmpeg', out),
    seconds: 2,
    frameRate: '60.000',
    rule: 'halved',
    scan: 'progressive',
    spaces: ['smpte170m'],
  },
];

let fixtures: string;
let runtime: TestRuntime;
const assets = new Map<string, AssetDoc>();

beforeAll(async () => {
  fixtures = await mkdtemp(path.join(os.tmpdir(), 'mediaflow-hls-picture-'));
  const files = new Map<string, string>();
  for (const testCase of cases) files.set(testCase.name, await testCase.make(path.join(fixtures, testCase.file)));
  runtime = await startTestRuntime({ steps: hlsRegistry() });
  await Promise.all(
    cases.map((testCase, i) =>
      uploadAndSettle(runtime, files.get(testCase.name)!, `picture/${i}-${testCase.file}`).then((asset) => assets.set(testCase.name, asset)),
    ),
  );
});
afterAll(async () => {
  await runtime?.dispose();
  await rm(fixtures, { recursive: true, force: true });
});

describe('pictures of every kind become progressive SDR BT.709 (or BT.601 SD) 8-bit 4:2:0 at a standard rate', () => {
  it.each(cases)('$name', async (testCase) => {
    const asset = assets.get(testCase.name)!;
    expect(asset.status, JSON.stringify(asset.error)).toBe('READY');
    const summary = asset.steps['hls-segment']?.outputs as unknown as SegmentSummary;
    expect(summary.picture?.scan.detected).toBe(testCase.scan);
    expect(summary.picture?.frameRate.rule).toBe(testCase.rule);
    expect(summary.picture?.colour.toneMap !== null).toBe(testCase.toneMapped ?? false);
    const hls = await readPresentation(runtime, asset);
    expect(hls.master.variants.map((variant) => variant.attributes['FRAME-RATE'])).toEqual(testCase.spaces.map(() => testCase.frameRate));
    for (const [i, variant] of hls.master.variants.entries()) {
      const media = hls.media.get(variant.uri)!;
      const measured = await measure(hls.root, media.path, media.playlist.mapUri!);
      const label = `${testCase.name} ${variant.attributes.RESOLUTION}`;
      expect(measured.stream, label).toMatchObject({
        pix_fmt: 'yuv420p',
        color_range: 'tv',
        color_space: testCase.spaces[i],
        color_primaries: testCase.spaces[i],
      });
      // x264 codes frames (no field pictures); ffprobe omits field_order for such an fMP4 track or says progressive.
      expect(measured.stream.field_order ?? 'progressive', label).toBe('progressive');
      expect(measured.stream.color_transfer, label).toBe(testCase.spaces[i] === 'bt709' ? 'bt709' : 'smpte170m');
      expect(measured.colr, label).toEqual({ nclx: NCLX[testCase.spaces[i]!], fullRange: false });
      // Only where there was combing to remove: on compressed progressive test pictures idet itself is noisy.
      if (testCase.scan !== 'progressive') expect(measured.combed, `${label}: idet ${JSON.stringify(measured.idet)}`).toBeLessThanOrEqual(MAX_COMBED_SHARE);
      const video = await decodeStream(hls.root, media.path, 'v');
      const frame = 1 / Number(testCase.frameRate);
      const duration = video.frameTimes.at(-1)! + video.frameDurations.at(-1)! - video.frameTimes[0]!;
      expect(Math.abs(duration - testCase.seconds), label).toBeLessThanOrEqual(frame + 1e-6);
      expect(video.frameTimes.length, label).toBe(Math.round(testCase.seconds * Number(testCase.frameRate)));
    }
    expect(await decodeErrors(hls.root, hls.masterPath)).toBe('');
  });

  it('tone-maps HLG to pictures close to the SDR original, not the dim, washed-out pass-through', async () => {
    const hls = await readPresentation(runtime, assets.get('HLG HEVC Main10 MOV')!);
    const media = hls.media.get(hls.master.variants[0]!.uri)!;
    const { stdout } = await runFfmpegOut(hls.root, [
      '-i',
      media.path,
      '-vf',
      'signalstats,metadata=print:key=lavfi.signalstats.YAVG:file=-',
      '-frames:v',
      '1',
      '-f',
      'null',
      '-',
    ]);
    const mean = Number(/YAVG=([\d.]+)/.exec(stdout)?.[1]);
    // testsrc2 through BT.709 averages a luma of about 100; HLG passed through as BT.709 would be far darker.
    expect(mean).toBeGreaterThan(60);
    expect(mean).toBeLessThan(160);
  });
});

interface Measured {
  readonly stream: Record<string, unknown>;
  readonly colr: { nclx: readonly number[]; fullRange: boolean } | undefined;
  readonly idet: ReturnType<typeof parseIdet>;
  readonly combed: number;
}

async function measure(root: string, playlist: string, mapUri: string): Promise<Measured> {
  const json = await ffprobeJson(root, playlist, [
    '-select_streams',
    'v:0',
    '-show_entries',
    'stream=pix_fmt,color_range,color_space,color_transfer,color_primaries,field_order',
  ]);
  const stream = (json.streams as Record<string, unknown>[])[0] ?? {};
  const init = await readFile(path.join(root, path.dirname(playlist), mapUri));
  const idet = parseIdet(await runFfmpeg(root, ['-v', 'info', '-i', playlist, '-map', '0:v:0', '-vf', 'idet', '-f', 'null', '-']));
  const determined = idet ? idet.tff + idet.bff + idet.progressive : 0;
  return { stream, colr: colrBox(init), idet, combed: idet && determined > 0 ? (idet.tff + idet.bff) / determined : 1 };
}

/** The init segment's colr box (ISO/IEC 14496-12 §12.1.5): 'nclx', three code points and the full-range bit. */
function colrBox(init: Buffer): { nclx: number[]; fullRange: boolean } | undefined {
  const at = init.indexOf('colrnclx', 0, 'latin1');
  if (at < 0) return undefined;
  const body = at + 8;
  return { nclx: [init.readUInt16BE(body), init.readUInt16BE(body + 2), init.readUInt16BE(body + 4)], fullRange: (init[body + 6]! & 0x80) !== 0 };
}

async function runFfmpegOut(cwd: string, args: readonly string[]): Promise<{ stdout: string }> {
  const { stdout } = await promisify(execFile)('ffmpeg', ['-nostdin', '-hide_banner', '-v', 'error', ...args], { cwd, timeout: 60_000 });
  return { stdout };
}
