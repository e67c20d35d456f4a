/**
 * Issue 13 through the embedded runtime with the audio and HLS steps: everyday lossy files whose containers
 * misstate the programme's length (LAME's delay and padding, ADTS without index or priming information, an M4A
 * whose padding ffmpeg's decoder runs past) become READY, every output has the length the audio step decoded,
 * sample for sample, and the master playlist's CHANNELS says what the rendition holds (mono, stereo, 5.1 downmixed).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adtsAac, lameCbrMp3, videoWithChannels, voiceMemoM4a } from '../../scripts/sample-media/sample-audio.ts';
import type { AssetDoc } from '../../shared/domain/asset.ts';
import { uploadAssetId } from '../../shared/domain/asset-id.ts';
import { startTestRuntime, type TestRuntime } from '../support/embedded.ts';
import { hlsRegistry, localPath, readPresentation } from '../support/hls.ts';

const run = promisify(execFile);

const SECONDS = 20;
const RATE = 48_000;
/** The waveform's default resolution: 100 px/s, 480 samples per pixel at 48 kHz. */
const SAMPLES_PER_PIXEL = 480;
/** An AAC frame: the most ffmpeg 5.1's decoder runs past an edit list's end (it trims the start only). */
const AAC_FRAME = 1024;

interface Rendition {
  samples: number;
  durationSeconds: number;
  primingSamples: number;
  paddingSamples: number;
  uri: string;
  qc: { status: string; reason: string | null };
}
interface AudioOutputs {
  decodedSamples: number;
  decodedSampleRate: number;
  decodedDurationSeconds: number;
  containerDurationSeconds: number | null;
  gaplessTrim: { startSample: number; endSample: number | null; sampleRate: number } | null;
  renditions: Record<string, Rendition>;
  waveform: { length: number; samplesPerPixel: number };
}
/** A type rather than an interface, so asset outputs convert to it. */
type Check = { name: string; detail: string };

/** name → [generator, decoded samples at 48 kHz expected, container seconds ffprobe states]. */
const audioOnly: Record<string, [(ffmpeg: string, out: string) => Promise<string>, number]> = {
  // LAME's header: the decoder trims delay and padding to exactly 882 000 samples at 44.1 kHz.
  'lame-cbr-128k.mp3': [(ffmpeg, out) => lameCbrMp3(ffmpeg, out, { durationSeconds: SECONDS }), SECONDS * RATE],
  // ADTS: the priming frame is dropped; the last frame's 688 samples of padding cannot be known, so 862 frames stay.
  'adts.aac': [(ffmpeg, out) => adtsAac(ffmpeg, out, { durationSeconds: SECONDS }), Math.round((862 * 1024 * RATE) / 44_100)],
  // The edit list's 20 s, to the sample.
  'voice-memo.m4a': [(ffmpeg, out) => voiceMemoM4a(ffmpeg, out, { durationSeconds: SECONDS }), SECONDS * RATE],
};
const videos: Record<string, [1 | 2 | 6, string]> = { 'mono.mp4': [1, '1'], 'stereo.mp4': [2, '2'], 'surround.mp4': [6, '2'] };

let fixtures: string;
let runtime: TestRuntime;
const assets = new Map<string, AssetDoc>();

beforeAll(async () => {
  fixtures = await mkdtemp(path.join(os.tmpdir(), 'mediaflow-gapless-'));
  const files = await Promise.all([
    ...Object.entries(audioOnly).map(async ([name, [make]]) => [name, await make('ffmpeg', path.join(fixtures, name))] as const),
    ...Object.entries(videos).map(
      async ([name, [channels]]) => [name, await videoWithChannels('ffmpeg', path.join(fixtures, name), { durationSeconds: 4, channels })] as const,
    ),
  ]);
  runtime = await startTestRuntime({ steps: hlsRegistry() });
  const bucket = runtime.deps.config.buckets.ingest;
  const ids = new Map<string, string>();
  for (const [name, file] of files) {
    const meta = await runtime.blobs.upload(file, { bucket, name });
    ids.set(name, uploadAssetId(bucket, name, meta.generation));
  }
  await runtime.idle();
  for (const [name, id] of ids) assets.set(name, (await runtime.asset(id))!);
}, 240_000);

afterAll(async () => {
  await runtime?.dispose();
  await rm(fixtures, { recursive: true, force: true });
});

function ready(name: string): AssetDoc {
  const asset = assets.get(name)!;
  expect(asset.status, JSON.stringify(asset.error)).toBe('READY');
  return asset;
}

function checksOf(asset: AssetDoc): Check[] {
  return (asset.steps['hls-package']!.outputs as { validation: { checks: Check[] } }).validation.checks;
}

function audioOf(asset: AssetDoc): AudioOutputs {
  return asset.steps.audio!.outputs as unknown as AudioOutputs;
}

async function ffprobeStream(file: string): Promise<{ duration_ts: number; tags?: Record<string, string> }> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-select_streams', 'a:0', '-show_entries', 'stream=duration_ts', '-print_format', 'json', file]);
  return (JSON.parse(stdout) as { streams: { duration_ts: number }[] }).streams[0]!;
}

async function decodedCount(file: string): Promise<number> {
  const { stdout } = await run('ffmpeg', ['-v', 'error', '-i', file, '-map', '0:a:0', '-ac', '1', '-c:a', 'pcm_s16le', '-f', 's16le', '-'], {
    encoding: 'buffer',
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout.length / 2;
}

async function iTunSmpb(file: string): Promise<string | undefined> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-show_entries', 'format_tags', '-print_format', 'json', file]);
  const tags = (JSON.parse(stdout) as { format: { tags?: Record<string, string> } }).format.tags ?? {};
  return Object.entries(tags).find(([key]) => key.toLowerCase() === 'itunsmpb')?.[1];
}

describe.each(Object.entries(audioOnly))('%s (audio only)', (name, [, expected]) => {
  it('is READY, with the length it decodes to recorded sample-accurately', () => {
    const out = audioOf(ready(name));
    // One sample either way: the resampler rounds the 48 kHz length of a count that is not a whole multiple.
    expect(Math.abs(out.decodedSamples - expected)).toBeLessThanOrEqual(1);
    expect(out.decodedSampleRate).toBe(RATE);
    expect(out.decodedDurationSeconds).toBeCloseTo(out.decodedSamples / RATE, 6);
  });

  it('has renditions of exactly that length, which state it for gapless playback', async () => {
    const out = audioOf(ready(name));
    for (const rendition of [out.renditions.aac!, out.renditions.opus!]) {
      expect(rendition.samples).toBe(out.decodedSamples);
      expect(rendition.qc.status, rendition.qc.reason ?? '').not.toBe('fail');
    }
    const m4a = localPath(runtime, out.renditions.aac!.uri);
    // The edit list: ffprobe's stream length is the programme's, to the sample, after 1024 samples of priming.
    expect((await ffprobeStream(m4a)).duration_ts).toBe(out.decodedSamples);
    expect(out.renditions.aac).toMatchObject({ primingSamples: AAC_FRAME, paddingSamples: (AAC_FRAME - (out.decodedSamples % AAC_FRAME)) % AAC_FRAME });
    const smpb = (await iTunSmpb(m4a))?.trim().split(' ');
    expect(smpb?.slice(1, 4).map((field) => Number.parseInt(field, 16))).toEqual([AAC_FRAME, out.renditions.aac!.paddingSamples, out.decodedSamples]);
    // ffmpeg 5.1 honours the edit list's start but decodes the last frame whole: the padding, and nothing else.
    expect(await decodedCount(m4a)).toBe(out.decodedSamples + out.renditions.aac!.paddingSamples);
    // Ogg Opus ends at the final granule position, which ffmpeg honours: exactly the source's samples.
    expect(await decodedCount(localPath(runtime, out.renditions.opus!.uri))).toBe(out.decodedSamples);
  });

  it('draws a waveform of that length: 100 px a second', () => {
    const out = audioOf(ready(name));
    expect(out.waveform.length).toBe(Math.ceil(out.decodedSamples / SAMPLES_PER_PIXEL));
    if (expected === SECONDS * RATE) expect(out.waveform.length).toBe(SECONDS * 100);
  });

  it('has an HLS audio track of the decoded length, checked against it rather than the container', () => {
    const asset = ready(name);
    const out = audioOf(asset);
    const hls = asset.steps['hls-audio']!.outputs as { samples: number };
    expect(Math.abs(hls.samples - out.decodedSamples)).toBeLessThanOrEqual(1);
    const checks = checksOf(asset);
    expect(checks.find((check) => check.name === 'audio-duration')?.detail).toMatch(/the audio step decoded from the source/);
    expect(checks.find((check) => check.name === 'total-duration')?.detail).toMatch(/decoded from the source/);
    expect((asset.steps['hls-package']!.outputs as { audio: { channels: number } }).audio.channels).toBe(name === 'voice-memo.m4a' ? 1 : 2);
  });
});

describe('the trims that make those lengths', () => {
  it('cut the M4A at its edit list, drop the ADTS priming frame, and leave the MP3 to its LAME header', () => {
    expect(audioOf(ready('voice-memo.m4a')).gaplessTrim).toMatchObject({ startSample: 0, endSample: SECONDS * 16_000, sampleRate: 16_000 });
    expect(audioOf(ready('adts.aac')).gaplessTrim).toMatchObject({ startSample: AAC_FRAME, endSample: null });
    const mp3 = audioOf(ready('lame-cbr-128k.mp3'));
    expect(mp3.gaplessTrim).toBeNull();
    // The container's estimate, kept for comparison: LAME's delay and padding counted.
    expect(mp3.containerDurationSeconds).toBeCloseTo(20.035918, 5);
  });
});

describe.each(Object.entries(videos))('%s: CHANNELS from the AudioSpecificConfig', (name, [, channels]) => {
  it(`declares CHANNELS="${channels}" and checks the audio against its decoded length`, async () => {
    const asset = ready(name);
    const { master } = await readPresentation(runtime, asset);
    expect(master.media).toHaveLength(1);
    expect(master.media[0]!.CHANNELS).toBe(channels);
    const checks = checksOf(asset);
    expect(checks.find((check) => check.name === 'audio-channels')?.detail).toContain(`states ${channels} channels`);
    expect(checks.find((check) => check.name === 'audio-duration')?.detail).toMatch(/the audio step decoded from the source/);
  });
});
