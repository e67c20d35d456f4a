/**
 * The audio step end to end on the embedded runtime: generated signals with known loudness are uploaded, ingest
 * plans the step, and the asset records measurements, gain, renditions with their QC, and the waveform. All
 * fixtures go up at once and the runtime works through them together, which keeps the file's runtime short.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  digitalSilence,
  formatChangingTs,
  hotMaster,
  quietWithTransients,
  referenceTone,
  surround51,
  undecodableM4a,
} from '../../scripts/sample-media/sample-audio.ts';
import { mp3WithCoverArt, videoWithSound } from '../../scripts/sample-media/sample-media.ts';
import { uploadAssetId } from '../../shared/domain/asset-id.ts';
import type { AssetDoc } from '../../shared/domain/asset.ts';
import { PROFILE_METADATA } from '../../shared/domain/ingest-request.ts';
import { audioStep } from '../../functions/audio/step.ts';
import { startTestRuntime, withSteps, type TestRuntime } from '../support/embedded.ts';

const run = promisify(execFile);

interface Qc {
  status: string;
  integratedLufs: number | null;
  truePeakDbtp: number | null;
  playbackGainDb: number;
  playbackLufs: number | null;
  playbackTruePeakDbtp: number | null;
  targetLufs: number | null;
  reason: string | null;
}
interface Rendition {
  uri: string;
  codec: string;
  container: string;
  bitrateKbps: number;
  channels: number;
  sampleRate: number;
  bytes: number;
  durationSeconds: number;
  tags: Record<string, string>;
  qc: Qc;
}
interface AudioOutputs {
  mode: string;
  profile: string;
  channels: { source: number; output: number; sourceSampleRate: number | null; sampleRate: number; handling: string };
  measured: { integratedLufs: number | null; loudnessRangeLu: number; truePeakDbtp: number | null; samplePeakDbfs: number | null; durationSeconds: number };
  silence: { digital: boolean; unmeasurable: boolean; totalSeconds: number; passageCount: number };
  gain: { trackGainDb: number; idealGainDb: number; headroomLimited: boolean; bakedGainDb: number; limiter: boolean };
  renditions: Record<string, Rendition>;
  preview: { startSeconds: number; durationSeconds: number } | null;
  waveform: { jsonUri: string; pngUri: string; pixelsPerSecond: number; samplesPerPixel: number; bits: number; length: number };
  qc: { pass: boolean; misses: { rendition: string; status: string; reason: string }[] };
}

let fixtures: string;
let runtime: TestRuntime;
const ids = new Map<string, string>();

/** name → [generator, profile]; durations are short: the signals are steady, a few seconds measure as well as minutes. */
const uploads: Record<string, [(ffmpeg: string, out: string) => Promise<string>, string?]> = {
  'tone.wav': [(ffmpeg, out) => referenceTone(ffmpeg, out, { durationSeconds: 6 })],
  'hot.flac': [(ffmpeg, out) => hotMaster(ffmpeg, out, { durationSeconds: 8 })],
  'quiet.wav': [(ffmpeg, out) => quietWithTransients(ffmpeg, out, { durationSeconds: 10 })],
  'quiet-podcast.wav': [(ffmpeg, out) => quietWithTransients(ffmpeg, out, { durationSeconds: 10 }), 'podcast'],
  'surround.wav': [(ffmpeg, out) => surround51(ffmpeg, out, { durationSeconds: 6 })],
  'cover.mp3': [(ffmpeg, out) => mp3WithCoverArt(ffmpeg, out, { durationSeconds: 5 })],
  'silence.wav': [(ffmpeg, out) => digitalSilence(ffmpeg, out, { durationSeconds: 4 })],
  'broken.m4a': [(ffmpeg, out) => undecodableM4a(ffmpeg, out)],
  'joined.ts': [(ffmpeg, out) => formatChangingTs(ffmpeg, out)],
  'clip.mp4': [(ffmpeg, out) => videoWithSound(ffmpeg, out, { durationSeconds: 2, width: 320, height: 240, fps: 15 })],
};

beforeAll(async () => {
  fixtures = await mkdtemp(path.join(os.tmpdir(), 'mediaflow-audio-'));
  const files = await Promise.all(Object.entries(uploads).map(async ([name, [make]]) => [name, await make('ffmpeg', path.join(fixtures, name))] as const));
  // The audio step next to the orchestration steps only: no other media step spends CPU on these uploads.
  runtime = await startTestRuntime({ steps: withSteps(audioStep) });
  const bucket = runtime.deps.config.buckets.ingest;
  for (const [name, file] of files) {
    const profile = uploads[name]![1];
    const meta = await runtime.blobs.upload(file, { bucket, name }, profile ? { metadata: { [PROFILE_METADATA]: profile } } : {});
    ids.set(name, uploadAssetId(bucket, name, meta.generation));
  }
  await runtime.idle();
}, 180_000);

afterAll(async () => {
  await runtime?.dispose();
  await rm(fixtures, { recursive: true, force: true });
});

async function asset(name: string): Promise<AssetDoc> {
  const doc = await runtime.asset(ids.get(name)!);
  if (!doc) throw new Error(`no asset for ${name}`);
  return doc;
}

async function audio(name: string): Promise<AudioOutputs> {
  const doc = await asset(name);
  expect(doc.steps.audio?.status, JSON.stringify(doc.steps.audio?.error)).toBe('SUCCEEDED');
  return doc.steps.audio!.outputs as unknown as AudioOutputs;
}

/** Copies a derivative out of the embedded bucket so ffprobe can read it. */
async function local(uri: string): Promise<string> {
  const [, bucket, name] = /^gs:\/\/([^/]+)\/(.+)$/.exec(uri)!;
  const file = path.join(fixtures, `check-${path.basename(name!)}`);
  await runtime.blobs.download({ bucket: bucket!, name: name! }, file);
  return file;
}

async function probe(file: string): Promise<{
  streams: { channels: number; sample_rate: string; codec_name: string; tags?: Record<string, string> }[];
  format: { tags?: Record<string, string> };
}> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-print_format', 'json', '-show_streams', '-show_format', file]);
  return JSON.parse(stdout) as never;
}

describe('the reference tone (EBU Tech 3341 case 1: 997 Hz, −23 dBFS in both channels)', () => {
  it('measures −23.0 LUFS ± 0.1 and gets +9 dB of playback gain toward −14 LUFS, nothing limited', async () => {
    const out = await audio('tone.wav');
    expect(out.measured.integratedLufs).toBeGreaterThanOrEqual(-23.1);
    expect(out.measured.integratedLufs).toBeLessThanOrEqual(-22.9);
    expect(out.measured.truePeakDbtp).toBeCloseTo(-23, 0);
    expect(out.measured.samplePeakDbfs).toBeCloseTo(-23, 0);
    expect(out.measured.loudnessRangeLu).toBeLessThan(1);
    expect(out).toMatchObject({ mode: 'tagged', profile: 'default', gain: { headroomLimited: false, bakedGainDb: 0, limiter: false } });
    expect(out.gain.trackGainDb).toBeCloseTo(9, 1);
    expect(out.silence).toMatchObject({ digital: false, unmeasurable: false, passageCount: 0 });
  });

  it('has AAC, Opus and preview renditions at the master level, each re-measured within ±0.5 LU of its target', async () => {
    const out = await audio('tone.wav');
    expect(Object.keys(out.renditions).sort()).toEqual(['aac', 'opus', 'preview']);
    expect(out.renditions.aac).toMatchObject({ codec: 'aac-lc', container: 'm4a', bitrateKbps: 256, channels: 2, sampleRate: 48000 });
    expect(out.renditions.opus).toMatchObject({ codec: 'opus', container: 'ogg', bitrateKbps: 160, channels: 2, sampleRate: 48000 });
    expect(out.renditions.preview).toMatchObject({ codec: 'aac-lc', bitrateKbps: 96 });
    for (const rendition of Object.values(out.renditions)) {
      expect(rendition.qc.status, rendition.qc.reason ?? '').toBe('pass');
      expect(rendition.qc.playbackTruePeakDbtp!).toBeLessThanOrEqual(-1);
      expect(rendition.bytes).toBeGreaterThan(0);
    }
    for (const full of [out.renditions.aac!, out.renditions.opus!]) {
      expect(Math.abs(full.qc.integratedLufs! + 23)).toBeLessThanOrEqual(0.2);
      expect(Math.abs(full.qc.playbackLufs! + 14)).toBeLessThanOrEqual(0.5);
    }
    // The 6 s tone is its own preview; its 1 s fade-in and 2 s fade-out make it quieter, and its target says by how much.
    expect(out.preview).toMatchObject({ startSeconds: 0, durationSeconds: 6 });
    expect(out.renditions.preview!.qc.targetLufs!).toBeLessThan(-14.5);
    expect(out.renditions.aac!.durationSeconds).toBeCloseTo(6, 2);
    expect(out.qc).toEqual({ pass: true, misses: [] });
  });

  it('writes the gain into the files: ReplayGain 2.0 in the M4A, R128_TRACK_GAIN (Q7.8, re −23 LUFS) in the Opus', async () => {
    const out = await audio('tone.wav');
    const m4a = await probe(await local(out.renditions.aac!.uri));
    const replayGain = Number.parseFloat(m4a.format.tags?.replaygain_track_gain ?? 'NaN');
    expect(replayGain).toBeCloseTo(-18 - out.renditions.aac!.qc.integratedLufs!, 1);
    expect(m4a.format.tags?.MEDIAFLOW_PLAYBACK_GAIN).toBe(out.renditions.aac!.tags.MEDIAFLOW_PLAYBACK_GAIN);
    const opus = await probe(await local(out.renditions.opus!.uri));
    const q78 = Number(opus.streams[0]!.tags?.R128_TRACK_GAIN);
    expect(q78 / 256).toBeCloseTo(-23 - out.renditions.opus!.qc.integratedLufs!, 1);
  });

  it('draws the waveform: audiowaveform JSON v2 at 100 px/s, and a PNG', async () => {
    const out = await audio('tone.wav');
    const json = JSON.parse(await readFile(await local(out.waveform.jsonUri), 'utf8')) as {
      version: number;
      channels: number;
      sample_rate: number;
      samples_per_pixel: number;
      bits: number;
      length: number;
      data: number[];
    };
    expect(json).toMatchObject({ version: 2, channels: 1, sample_rate: 48000, samples_per_pixel: 480, bits: 8, length: 600 });
    expect(json.data).toHaveLength(1200);
    // A −23 dBFS sine is ±0.0708 of full scale: ±9 in 8 bits, mins negative, maxes positive.
    expect(Math.max(...json.data)).toBe(9);
    expect(Math.min(...json.data)).toBe(-10);
    const png = await readFile(await local(out.waveform.pngUri));
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([1800, 280]);
  });

  it('records provenance: the ffmpeg version and the MD5 of the input as read', async () => {
    const doc = await asset('tone.wav');
    expect(doc.status).toBe('READY');
    expect(doc.steps.audio?.provenance).toMatchObject({ recipeVersion: '2', inputMd5: doc.source.md5Hash, tools: { ffmpeg: expect.any(String) as unknown } });
  });
});

describe('a hot master around −9 LUFS at 44.1 kHz', () => {
  it('is turned down (a negative gain is never limited), resampled to 48 kHz, and every rendition plays at −14 LUFS under −1 dBTP', async () => {
    const out = await audio('hot.flac');
    expect(out.measured.integratedLufs!).toBeGreaterThan(-10);
    expect(out.measured.integratedLufs!).toBeLessThan(-8);
    expect(out.gain.trackGainDb).toBeCloseTo(-14 - out.measured.integratedLufs!, 1);
    expect(out.gain.headroomLimited).toBe(false);
    expect(out.channels).toMatchObject({ sourceSampleRate: 44100, sampleRate: 48000, output: 2 });
    for (const rendition of Object.values(out.renditions)) {
      expect(rendition.qc.status, rendition.qc.reason ?? '').toBe('pass');
      expect(rendition.qc.playbackTruePeakDbtp!).toBeLessThanOrEqual(-1);
    }
  });
});

describe('quiet material with sharp transients', () => {
  it('tagged (music): the positive gain stops at the true-peak headroom, and each rendition says so', async () => {
    const out = await audio('quiet.wav');
    expect(out.gain.headroomLimited).toBe(true);
    expect(out.gain.idealGainDb).toBeGreaterThan(10);
    expect(out.gain.trackGainDb).toBeCloseTo(-1 - out.measured.truePeakDbtp!, 1);
    for (const rendition of Object.values(out.renditions)) {
      expect(rendition.qc.status).toBe('headroom-limited');
      expect(rendition.qc.reason).toMatch(/gain limited to .* true peak/);
      expect(rendition.qc.playbackTruePeakDbtp!).toBeLessThanOrEqual(-1);
    }
    // A documented headroom limit is recorded, not a failure.
    expect(out.qc.pass).toBe(true);
    expect(out.qc.misses.map((miss) => miss.rendition).sort()).toEqual(['aac', 'opus', 'preview']);
    expect((await asset('quiet.wav')).status).toBe('READY');
  });

  it('normalized (podcast, −16 LUFS): the full gain is baked in and the true-peak limiter runs, keeping every rendition under −1 dBTP', async () => {
    const out = await audio('quiet-podcast.wav');
    expect(out).toMatchObject({ mode: 'normalized', profile: 'podcast', gain: { limiter: true } });
    expect(out.gain.bakedGainDb).toBeCloseTo(-16 - out.measured.integratedLufs!, 1);
    for (const rendition of Object.values(out.renditions)) {
      expect(rendition.qc.playbackGainDb).toBe(0);
      expect(rendition.qc.playbackTruePeakDbtp!).toBeLessThanOrEqual(-1);
      // The limiter takes some loudness with the clicks; a miss must say so.
      if (rendition.qc.status !== 'pass') expect(rendition.qc.reason).toMatch(/limiter/);
    }
    expect(Math.abs(out.renditions.aac!.qc.integratedLufs! + 16)).toBeLessThanOrEqual(0.5);
  });
});

describe('5.1 surround', () => {
  it('is folded to stereo with ITU-R BS.775 coefficients (centre and surround −3 dB, LFE dropped): −19.0 LUFS', async () => {
    const out = await audio('surround.wav');
    expect(out.channels).toMatchObject({ source: 6, output: 2 });
    expect(out.channels.handling).toMatch(/BS\.775/);
    expect(out.measured.integratedLufs).toBeGreaterThanOrEqual(-19.1);
    expect(out.measured.integratedLufs).toBeLessThanOrEqual(-18.9);
    expect(out.renditions.opus!.channels).toBe(2);
  });
});

describe('a mono 22.05 kHz MP3 with cover art', () => {
  it('stays mono at half the stereo bitrates, comes out at 48 kHz, and is measured as dual mono', async () => {
    const doc = await asset('cover.mp3');
    expect(doc.kind).toBe('audio');
    const out = await audio('cover.mp3');
    expect(out.channels).toMatchObject({ source: 1, output: 1, sourceSampleRate: 22050, sampleRate: 48000, handling: 'mono kept as mono' });
    expect(out.renditions).toMatchObject({ aac: { bitrateKbps: 128, channels: 1 }, opus: { bitrateKbps: 80, channels: 1 }, preview: { bitrateKbps: 48 } });
    // A 330 Hz sine at −18 dBFS: −21 LUFS as one channel, −18 as dual mono (what two speakers play).
    expect(out.measured.integratedLufs!).toBeGreaterThan(-19.5);
    expect(out.measured.integratedLufs!).toBeLessThan(-17.5);
    for (const rendition of Object.values(out.renditions)) expect(rendition.qc.status, rendition.qc.reason ?? '').toBe('pass');
    const opus = await probe(await local(out.renditions.opus!.uri));
    expect(opus.streams).toHaveLength(1);
    expect(opus.streams[0]).toMatchObject({ codec_name: 'opus', channels: 1, sample_rate: '48000' });
  });
});

describe('digital silence', () => {
  it('is flagged, gets 0 dB (never an infinite gain), and still gets its renditions', async () => {
    const out = await audio('silence.wav');
    expect(out.silence).toMatchObject({ digital: true, unmeasurable: true, passageCount: 1 });
    expect(out.silence.totalSeconds).toBeCloseTo(4, 1);
    expect(out.measured).toMatchObject({ integratedLufs: null, truePeakDbtp: null, samplePeakDbfs: null });
    expect(out.gain).toMatchObject({ trackGainDb: 0, idealGainDb: 0, headroomLimited: false });
    expect(Object.keys(out.renditions).sort()).toEqual(['aac', 'opus', 'preview']);
    for (const rendition of Object.values(out.renditions)) {
      expect(rendition.qc.status).toBe('silent');
      expect(rendition.tags).toEqual({});
    }
    expect(out.qc.pass).toBe(true);
  });
});

describe('an M4A whose audio cannot be decoded', () => {
  it("fails the asset permanently, at the first attempt, with ffmpeg's reason", async () => {
    const doc = await asset('broken.m4a');
    expect(doc.status).toBe('FAILED');
    expect(doc.error).toMatchObject({ step: 'audio', code: 'AUDIO_UNDECODABLE' });
    expect(doc.error?.message).toMatch(/could not be decoded: .*Invalid data found/);
    expect(doc.steps.audio).toMatchObject({ status: 'FAILED', attempts: 1 });
  });
});

describe('audio whose format changes mid-stream', () => {
  it('fails permanently rather than measuring only the last stretch', async () => {
    const doc = await asset('joined.ts');
    expect(doc.status).toBe('FAILED');
    expect(doc.error).toMatchObject({ step: 'audio', code: 'AUDIO_FORMAT_CHANGES' });
    expect(doc.error?.message).toMatch(/changes sample rate or channel layout mid-stream/);
  });
});

describe('a video', () => {
  it('gets the same analysis and waveform, and the gain the HLS step will reuse, without audio renditions', async () => {
    const out = await audio('clip.mp4');
    expect(out.renditions).toEqual({});
    expect(out.preview).toBeNull();
    expect(out.measured.integratedLufs).not.toBeNull();
    expect(out.gain.trackGainDb).toBeCloseTo(Math.min(-14 - out.measured.integratedLufs!, -1 - out.measured.truePeakDbtp!), 1);
    expect(out.waveform.length).toBeGreaterThan(150);
    expect((await asset('clip.mp4')).status).toBe('READY');
  });
});
