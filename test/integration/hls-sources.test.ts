/**
 * The shapes a ladder must honour, through the whole HLS chain at once: anamorphic, rotated, portrait and
 * variable-frame-rate video come out at the right display aspect ratio, with square pixels, for the source's
 * length; a silent video gets HLS without an audio group; an audio-only asset gets an audio-only HLS at the
 * audio step's gain; and a video that cannot be decoded fails with a reason.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { musicLikeAudio } from '../../scripts/sample-media/sample-media.ts';
import { anamorphicClip, clipWithSound, rotatedClip, silentClip, variableFrameRateClip } from '../../scripts/sample-media/sample-video.ts';
import type { AssetDoc } from '../../shared/domain/asset.ts';
import { readBoxes } from '../../shared/media/hls/bmff.ts';
import { startTestRuntime, type TestRuntime } from '../support/embedded.ts';
import { decodeErrors, decodeStream, hlsRegistry, readPresentation, runFfmpeg, uploadAndSettle } from '../support/hls.ts';

const run = promisify(execFile);
const SECONDS = 4;

interface Case {
  readonly name: string;
  readonly make: (out: string) => Promise<string>;
  /** Display size of the single rendition these small sources get (all are at most 360 lines). */
  readonly resolution: string;
  readonly frameRate: string;
  readonly seconds: number;
}

const cases: readonly Case[] = [
  {
    name: 'anamorphic 480×360 at SAR 4:3',
    make: (out) => anamorphicClip('ffmpeg', out, { durationSeconds: SECONDS }),
    resolution: '640x360',
    frameRate: '25.000',
    seconds: SECONDS,
  },
  {
    name: 'rotated 640×360 with a quarter-turn display matrix',
    make: (out) => rotatedClip('ffmpeg', out, { durationSeconds: SECONDS }),
    resolution: '360x640',
    frameRate: '30.000',
    seconds: SECONDS,
  },
  // Shorter than one segment: a single work order, whose outputs the coordinator records without a fan-in.
  {
    name: 'portrait 360×640, 1.5 s',
    make: (out) => clipWithSound('ffmpeg', out, { durationSeconds: 1.5, width: 360, height: 640 }),
    resolution: '360x640',
    frameRate: '30.000',
    seconds: 1.5,
  },
  {
    name: 'variable frame rate (30 fps grid, 24 fps average)',
    make: (out) => variableFrameRateClip('ffmpeg', out, { durationSeconds: SECONDS }),
    resolution: '640x360',
    frameRate: '24.000',
    seconds: SECONDS,
  },
  {
    name: 'silent 640×360',
    make: (out) => silentClip('ffmpeg', out, { durationSeconds: SECONDS }),
    resolution: '640x360',
    frameRate: '30.000',
    seconds: SECONDS,
  },
];

let fixtures: string;
let runtime: TestRuntime;
const sources = new Map<string, string>();
const assets = new Map<string, AssetDoc>();

beforeAll(async () => {
  fixtures = await mkdtemp(path.join(os.tmpdir(), 'mediaflow-hls-sources-'));
  for (const [i, testCase] of cases.entries()) sources.set(testCase.name, await testCase.make(path.join(fixtures, `${i}.mp4`)));
  sources.set('audio', await musicLikeAudio('ffmpeg', path.join(fixtures, 'music.m4a'), { durationSeconds: SECONDS }));
  sources.set('corrupt', await corruptVideo(path.join(fixtures, 'corrupt.mp4')));
  runtime = await startTestRuntime({ steps: hlsRegistry() });
  // One upload after another, all settling together: the runtime interleaves their work orders.
  const uploads = [...sources].map(([name, file], i) =>
    uploadAndSettle(runtime, file, `sources/${i}${path.extname(file)}`).then((asset) => assets.set(name, asset)),
  );
  await Promise.all(uploads);
});
afterAll(async () => {
  await runtime?.dispose();
  await rm(fixtures, { recursive: true, force: true });
});

describe('video sources of every shape', () => {
  it.each(cases)('$name: the right display size, square pixels, the source duration', async (testCase) => {
    const asset = assets.get(testCase.name)!;
    expect(asset.status, JSON.stringify(asset.error)).toBe('READY');
    const hls = await readPresentation(runtime, asset);
    expect(hls.master.variants).toHaveLength(1);
    const [variant] = hls.master.variants;
    expect(variant!.attributes).toMatchObject({ RESOLUTION: testCase.resolution, 'FRAME-RATE': testCase.frameRate });
    const video = await decodeStream(hls.root, hls.media.get(variant!.uri)!.path, 'v');
    expect(`${video.width}x${video.height}`).toBe(testCase.resolution);
    expect(video.sampleAspectRatio ?? '1:1').toBe('1:1');
    const frame = 1 / Number(testCase.frameRate);
    const duration = video.frameTimes.at(-1)! + video.frameDurations.at(-1)! - video.frameTimes[0]!;
    expect(Math.abs(duration - testCase.seconds)).toBeLessThanOrEqual(frame + 1e-6);
    expect(await decodeErrors(hls.root, hls.masterPath)).toBe('');
  });

  it('turns the rotated source the way its display matrix says, as ffmpeg itself displays it', async () => {
    const name = cases[1]!.name;
    const hls = await readPresentation(runtime, assets.get(name)!);
    // Frame 30 of both at 36×64: the HLS picture must match ffmpeg's autorotated source, not its mirror image.
    const expected = await grayFrame(fixtures, sources.get(name)!, 30);
    const actual = await grayFrame(hls.root, hls.media.get(hls.master.variants[0]!.uri)!.path, 30);
    const mirrored = Buffer.from(expected).reverse();
    expect(meanDifference(actual, expected)).toBeLessThan(12);
    expect(meanDifference(actual, mirrored)).toBeGreaterThan(2 * meanDifference(actual, expected));
  });

  it('gives a silent video no audio group and video-only CODECS', async () => {
    const asset = assets.get('silent 640×360')!;
    expect(asset.plan).not.toContain('hls-audio');
    const hls = await readPresentation(runtime, asset);
    expect(hls.master.media).toEqual([]);
    expect(hls.master.variants[0]!.attributes.CODECS).toMatch(/^avc1\.[0-9a-f]{6}$/);
    expect(hls.master.variants[0]!.attributes.AUDIO).toBeUndefined();
  });
});

describe('an audio-only asset', () => {
  it('gets an audio-only HLS: one audio variant, no video, no group', async () => {
    const asset = assets.get('audio')!;
    expect(asset.status, JSON.stringify(asset.error)).toBe('READY');
    expect(asset.plan).not.toContain('hls-segment');
    const hls = await readPresentation(runtime, asset);
    expect(hls.master.media).toEqual([]);
    expect(hls.master.variants).toHaveLength(1);
    expect(hls.master.variants[0]!.attributes).toMatchObject({ CODECS: 'mp4a.40.2' });
    expect(hls.master.variants[0]!.attributes.RESOLUTION).toBeUndefined();
    const audio = await decodeStream(hls.root, hls.media.get(hls.master.variants[0]!.uri)!.path, 'a');
    const duration = audio.frameTimes.at(-1)! + audio.frameDurations.at(-1)! - audio.frameTimes[0]!;
    // The encoder's priming frame and the padded last frame: at most two AAC frames over.
    expect(duration - SECONDS).toBeGreaterThanOrEqual(0);
    expect(duration - SECONDS).toBeLessThanOrEqual((2 * 1024) / 48_000 + 1e-6);
    expect(await decodeErrors(hls.root, hls.masterPath)).toBe('');
  });

  it("plays at the audio step's gain", async () => {
    const asset = assets.get('audio')!;
    const gain = (asset.steps.audio?.outputs as { gain: { trackGainDb: number } }).gain.trackGainDb;
    expect(asset.steps['hls-audio']?.outputs).toMatchObject({ gainDb: gain, gainSource: 'audio' });
    const hls = await readPresentation(runtime, asset);
    const before = await integratedLoudness(fixtures, sources.get('audio')!);
    const after = await integratedLoudness(hls.root, hls.media.get(hls.master.variants[0]!.uri)!.path);
    expect(Math.abs(after - before - gain)).toBeLessThan(0.5);
  });
});

describe('a video that cannot be decoded', () => {
  it('fails the asset permanently, saying so', () => {
    const asset = assets.get('corrupt')!;
    expect(asset.status).toBe('FAILED');
    expect(asset.error).toMatchObject({ step: 'hls-segment', code: 'CORRUPT_MEDIA' });
    expect(asset.error?.message).toMatch(/could not be decoded/);
  });
});

/** A silent clip whose mdat is overwritten with noise: the headers (and so the probe) are intact, no frame decodes. */
async function corruptVideo(out: string): Promise<string> {
  await silentClip('ffmpeg', out, { durationSeconds: SECONDS, width: 320, height: 240 });
  const bytes = await readFile(out);
  let state = 12_345;
  for (const box of readBoxes(bytes).filter((candidate) => candidate.type === 'mdat')) {
    for (let i = box.body; i < box.end; i++) {
      state = (state * 1_103_515_245 + 12_345) & 0x7fffffff;
      bytes[i] = (state >> 16) & 0xff;
    }
  }
  await writeFile(out, bytes);
  return out;
}

async function grayFrame(cwd: string, input: string, index: number): Promise<Buffer> {
  const { stdout } = await run(
    'ffmpeg',
    ['-nostdin', '-v', 'error', '-i', input, '-vf', `select=eq(n\\,${index}),scale=36:64,format=gray`, '-frames:v', '1', '-f', 'rawvideo', 'pipe:1'],
    {
      cwd,
      encoding: 'buffer',
      timeout: 60_000,
    },
  );
  return stdout;
}

function meanDifference(a: Buffer, b: Buffer): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - (b[i] ?? 0));
  return sum / a.length;
}

/** ITU-R BS.1770 integrated loudness, as ffmpeg's ebur128 filter reports it in its summary. */
async function integratedLoudness(cwd: string, input: string): Promise<number> {
  const log = await runFfmpeg(cwd, ['-v', 'info', '-i', input, '-map', '0:a:0', '-af', 'ebur128', '-f', 'null', '-']);
  const match = /Integrated loudness:\s+I:\s+(-?[\d.]+) LUFS/.exec(log);
  if (!match) throw new Error(`no loudness summary in ${log.slice(-500)}`);
  return Number(match[1]);
}
