/**
 * What the audio step writes: waveform peaks and their PNG, and the loudness tags it edits into M4A and Ogg Opus
 * files after encoding, checked with ffprobe and by decoding: the audio must come out bit-identical.
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { inflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeMp4FreeformTags } from '../../functions/audio/mp4-tags.ts';
import { oggCrc, writeOpusComments } from '../../functions/audio/opus-tags.ts';
import { PeakAccumulator, samplesPerPixel } from '../../functions/audio/waveform.ts';
import { renderWaveformPng } from '../../functions/audio/waveform-png.ts';

const run = promisify(execFile);
let dir: string;
let m4a: string;
let opus: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'mediaflow-audio-files-'));
  m4a = path.join(dir, 'tone.m4a');
  opus = path.join(dir, 'tone.opus');
  const tone = ['-f', 'lavfi', '-i', 'sine=frequency=997:sample_rate=48000:duration=1'];
  const bitexact = ['-fflags', '+bitexact', '-flags:a', '+bitexact', '-map_metadata', '-1'];
  await run('ffmpeg', ['-v', 'error', '-y', ...tone, '-c:a', 'aac', '-b:a', '128k', ...bitexact, '-movflags', '+faststart', '-f', 'ipod', m4a]);
  await run('ffmpeg', ['-v', 'error', '-y', ...tone, '-c:a', 'libopus', '-b:a', '64k', ...bitexact, '-f', 'ogg', opus]);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function tags(file: string): Promise<Record<string, string>> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', file]);
  const parsed = JSON.parse(stdout) as { format: { tags?: Record<string, string> }; streams: { tags?: Record<string, string> }[] };
  return { ...parsed.format.tags, ...parsed.streams[0]?.tags };
}

async function decodedMd5(file: string): Promise<string> {
  const { stdout } = await run('ffmpeg', ['-v', 'error', '-i', file, '-f', 'md5', '-']);
  return stdout.trim();
}

describe('writeMp4FreeformTags', () => {
  it('adds iTunes freeform tags into the faststart moov, moves the chunk offsets, and leaves the audio as it was', async () => {
    const file = path.join(dir, 'tagged.m4a');
    await copyFile(m4a, file);
    const before = await decodedMd5(file);
    await writeMp4FreeformTags(file, { replaygain_track_gain: '-5.12 dB', replaygain_track_peak: '0.891251' });
    await writeMp4FreeformTags(file, { replaygain_track_gain: '-5.13 dB' });
    expect(await tags(file)).toMatchObject({ replaygain_track_gain: '-5.13 dB', replaygain_track_peak: '0.891251' });
    expect(await decodedMd5(file)).toBe(before);
    expect((await stat(file)).size).toBeGreaterThan((await stat(m4a)).size);
  });
});

describe('writeOpusComments', () => {
  it('rewrites OpusTags with fresh page CRCs, replacing a comment of the same name, and leaves the audio as it was', async () => {
    const file = path.join(dir, 'tagged.opus');
    await copyFile(opus, file);
    const before = await decodedMd5(file);
    await writeOpusComments(file, { R128_TRACK_GAIN: '-1234', MEDIAFLOW_PLAYBACK_GAIN: '+1.00 dB' });
    await writeOpusComments(file, { r128_track_gain: '-1235' });
    const written = await tags(file);
    expect(written).toMatchObject({ MEDIAFLOW_PLAYBACK_GAIN: '+1.00 dB' });
    expect(
      Object.entries(written)
        .filter(([key]) => key.toUpperCase() === 'R128_TRACK_GAIN')
        .map(([, value]) => value),
    ).toEqual(['-1235']);
    expect(await decodedMd5(file)).toBe(before);
    // Every page's CRC checks out (RFC 3533 §6), not just the rewritten one.
    const bytes = await readFile(file);
    for (let offset = 0; offset < bytes.length;) {
      const segments = bytes[offset + 26]!;
      const body = bytes.subarray(offset + 27, offset + 27 + segments).reduce((sum, value) => sum + value, 0);
      const page = bytes.subarray(offset, offset + 27 + segments + body);
      expect(oggCrc(page)).toBe(page.readUInt32LE(22));
      offset += page.length;
    }
  });
});

describe('PeakAccumulator', () => {
  it('takes min and max per pixel across chunk boundaries that split a sample, and shifts to 8 bits as audiowaveform does', () => {
    const samples = Int16Array.from([100, -200, 300, 32767, -32768, 5, 7]);
    const bytes = Buffer.from(samples.buffer);
    const peaks = new PeakAccumulator(3);
    peaks.push(bytes.subarray(0, 5));
    peaks.push(bytes.subarray(5));
    expect(peaks.samples).toBe(7);
    expect(peaks.finish(48000, 16)).toEqual({
      version: 2,
      channels: 1,
      sample_rate: 48000,
      samples_per_pixel: 3,
      bits: 16,
      length: 3,
      data: [-200, 300, -32768, 32767, 7, 7],
    });
    const eight = new PeakAccumulator(3);
    eight.push(bytes);
    expect(eight.finish(48000, 8).data).toEqual([-1, 1, -128, 127, 0, 0]);
    expect(samplesPerPixel(48000, { pixelsPerSecond: 100 })).toBe(480);
  });
});

describe('renderWaveformPng', () => {
  it('draws an RGBA PNG of the requested size with the waveform in the middle rows', () => {
    const png = renderWaveformPng(
      { version: 2, channels: 1, sample_rate: 48000, samples_per_pixel: 480, bits: 8, length: 4, data: [-64, 64, -64, 64, 0, 0, -128, 127] },
      4,
      9,
    );
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(png.toString('latin1', 12, 16)).toBe('IHDR');
    expect([png.readUInt32BE(16), png.readUInt32BE(20), png[24], png[25]]).toEqual([4, 9, 8, 6]);
    const idat = png.indexOf('IDAT');
    const raster = inflateSync(png.subarray(idat + 4, idat + 4 + png.readUInt32BE(idat - 4)));
    const opaque = (x: number, y: number): boolean => raster[y * (4 * 4 + 1) + 1 + x * 4 + 3] === 0xff;
    // Column 0 spans ±half scale: rows 2..6 of 9; column 2 is silence: the centre row only; column 3 is full scale.
    expect([0, 1, 2, 3, 4, 5, 6, 7, 8].map((y) => opaque(0, y))).toEqual([false, false, true, true, true, true, true, false, false]);
    expect([0, 1, 2, 3, 4, 5, 6, 7, 8].map((y) => opaque(2, y))).toEqual([false, false, false, false, true, false, false, false, false]);
    expect([0, 8].map((y) => opaque(3, y))).toEqual([true, true]);
  });
});
