/**
 * Every everyday audio format through the whole pipeline (every production step, the embedded runtime), made the
 * way the encoders people use make them (test/support/everyday-audio.ts). Each file holds exactly 8 s of a tone
 * that measures −23.0 LUFS, so one truth serves every row: READY, the decoded length, the loudness, renditions and
 * HLS audio exactly as long as the decode, a waveform of 100 px a second, CHANNELS from the stream. Bad files
 * made the same way end REJECTED with a reason that names the problem.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { productionSteps } from '../../functions/registry.ts';
import { uploadAssetId } from '../../shared/domain/asset-id.ts';
import type { AssetDoc } from '../../shared/domain/asset.ts';
import { parseGsUri } from '../../shared/domain/ingest-request.ts';
import { startTestRuntime, type TestRuntime } from '../support/embedded.ts';
import { everydayAudio } from '../support/everyday-audio.ts';

const SECONDS = 8;
const PCM_RATE = 48_000;
const TONE_LUFS = -23;
/** Lossy coding of a pure tone moves its loudness by a few tenths at most. */
const LOUDNESS_TOLERANCE_LU = 0.5;
const WAVEFORM_PIXELS_PER_SECOND = 100;

/**
 * Where the decoded length may differ from what was encoded, and why; every other format decodes to the sample.
 * ADTS carries no padding information (up to one AAC frame stays); ffmpeg's WMA v2 codec pair loses 1360 samples.
 */
const DECODE_SLACK_SECONDS: Readonly<Record<string, number>> = { 'adts.aac': 1024 / 44_100, 'wma2.wma': 1400 / 44_100, 'eac3.mp4': 0.006 };

type AudioOutputs = {
  decodedSamples: number;
  decodedSampleRate: number;
  measured: { integratedLufs: number };
  renditions: Record<string, { samples: number; channels: number }>;
  waveform: { length: number };
};

let dir: string;
let runtime: TestRuntime;
const assets = new Map<string, AssetDoc>();

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'mediaflow-everyday-'));
  runtime = await startTestRuntime({ steps: productionSteps });
  const ids = new Map<string, string>();
  for (const format of everydayAudio) {
    const file = await format.make(dir, SECONDS);
    const meta = await runtime.blobs.upload(file, { bucket: runtime.deps.config.buckets.ingest, name: format.name });
    ids.set(format.name, uploadAssetId(meta.bucket, meta.name, meta.generation));
  }
  await runtime.idle();
  for (const [name, id] of ids) {
    const asset = await runtime.asset(id);
    if (asset) assets.set(name, asset);
  }
}, 600_000);

afterAll(async () => {
  await runtime?.dispose();
  await rm(dir, { recursive: true, force: true });
});

function outputs(name: string, step: string): Record<string, unknown> {
  return assets.get(name)?.steps[step]?.outputs ?? {};
}

async function derivativeText(uri: string): Promise<string> {
  return (await runtime.blobs.read(parseGsUri(uri))).toString('utf8');
}

describe.each(everydayAudio.map((format) => [format.name, format] as const))('%s', (name, format) => {
  it(`${format.what}: READY through every step`, () => {
    const asset = assets.get(name);
    expect(asset?.error ?? null).toBeNull();
    expect(asset?.status).toBe('READY');
    expect(asset?.kind).toBe('audio');
  });

  it('decodes to the programme’s length, and every rendition and the HLS audio is exactly that long', () => {
    const audio = outputs(name, 'audio') as unknown as AudioOutputs;
    expect(audio.decodedSampleRate).toBe(PCM_RATE);
    const slack = DECODE_SLACK_SECONDS[name] ?? 1 / PCM_RATE;
    expect(Math.abs(audio.decodedSamples / PCM_RATE - SECONDS)).toBeLessThanOrEqual(slack);
    for (const rendition of Object.values(audio.renditions).filter((item) => item.samples !== undefined)) {
      if (rendition === audio.renditions.preview) continue;
      expect(rendition.samples).toBe(audio.decodedSamples);
    }
    const hls = outputs(name, 'hls-audio') as { samples: number };
    expect(Math.abs(hls.samples - audio.decodedSamples)).toBeLessThanOrEqual(1);
    // One pixel per started hundredth of a second.
    expect(audio.waveform.length).toBe(Math.ceil((audio.decodedSamples / PCM_RATE) * WAVEFORM_PIXELS_PER_SECOND));
  });

  it('measures the tone’s loudness: −23 LUFS', () => {
    const audio = outputs(name, 'audio') as unknown as AudioOutputs;
    expect(Math.abs(audio.measured.integratedLufs - TONE_LUFS)).toBeLessThanOrEqual(LOUDNESS_TOLERANCE_LU);
  });

  it('declares the HLS audio’s real channel count, read from the AudioSpecificConfig', async () => {
    const hlsPackage = outputs(name, 'hls-package') as { masterUri: string; audio: { channels: number; codecs: string } };
    // Mono stays mono; 5.1 is folded down to stereo for HLS.
    const expected = format.channels === 1 ? 1 : 2;
    expect(hlsPackage.audio.channels).toBe(expected);
    const master = await derivativeText(hlsPackage.masterUri);
    expect(master).toContain(`CODECS="${hlsPackage.audio.codecs}"`);
  });
});

describe('tags, chapters and cover art', () => {
  it('the ID3v2.3 tags and the APIC cover: tags on the asset, square cover crops', () => {
    const metadata = (assets.get('id3-cover.mp3')?.probe as { audioMetadata?: { tags: Record<string, unknown> } }).audioMetadata;
    expect(metadata?.tags).toMatchObject({ title: 'Test Tone', artist: 'mediaflow', album: 'Everyday Formats', track: { no: 3, of: 12 } });
    const thumbnail = outputs('id3-cover.mp3', 'thumbnail') as { mode: string; sizes: number[] };
    expect(thumbnail).toMatchObject({ mode: 'cover', sizes: [300, 64] });
  });

  it('the ID3 chapters: three {title, start, end} entries', () => {
    const metadata = (assets.get('podcast-chapters.mp3')?.probe as { audioMetadata?: { chapters: { title: string; start: number; end: number }[] } })
      .audioMetadata;
    expect(metadata?.chapters.map((chapter) => chapter.title)).toEqual(['Intro', 'Interview', 'Outro']);
    expect(metadata?.chapters[0]?.start).toBe(0);
    expect(metadata?.chapters[2]?.end).toBeCloseTo(SECONDS, 1);
  });
});

describe('bad files made the same way stay bad', () => {
  async function refused(file: string, name: string): Promise<AssetDoc | undefined> {
    const meta = await runtime.blobs.upload(file, { bucket: runtime.deps.config.buckets.ingest, name });
    await runtime.idle();
    return runtime.asset(uploadAssetId(meta.bucket, meta.name, meta.generation));
  }

  it.each([
    [
      'a truncated LAME MP3 (its Xing header counts the whole file)',
      'cut.mp3',
      /^truncated MP3: its header counts 8\.05 s of audio, the file holds about 3\.\d+ s/,
      'CORRUPT_MEDIA',
    ],
    ['an MP3 that is only an ID3 tag', 'tag-only.mp3', /^the file is an ID3 tag of \d+ bytes with no audio after it/, 'CORRUPT_MEDIA'],
    ['a text file named .mp3', 'notes.mp3', /text, not media/, 'UNSUPPORTED_MEDIA'],
  ])('%s: REJECTED at the probe on the first attempt', async (_case, name, reason, code) => {
    const source = path.join(dir, name);
    if (name === 'cut.mp3') await writeFile(source, (await readFile(path.join(dir, 'lame-cbr-128k.mp3'))).subarray(0, 50_000));
    if (name === 'tag-only.mp3')
      await writeFile(
        source,
        (await readFile(path.join(dir, 'podcast-chapters.mp3'))).subarray(0, id3Length(await readFile(path.join(dir, 'podcast-chapters.mp3')))),
      );
    if (name === 'notes.mp3') await writeFile(source, 'episode notes: remember to thank the sponsors\n');
    const asset = await refused(source, name);
    expect(asset).toMatchObject({ status: 'REJECTED', error: { step: 'probe', code } });
    expect(asset?.error?.message).toMatch(reason);
    expect(asset?.steps.probe?.attempts).toBe(1);
  });
});

/** The ID3v2 tag's length, so a fixture can keep only the tag of a real tagged file. */
function id3Length(bytes: Buffer): number {
  return 10 + (((bytes[6]! & 0x7f) << 21) | ((bytes[7]! & 0x7f) << 14) | ((bytes[8]! & 0x7f) << 7) | (bytes[9]! & 0x7f));
}
