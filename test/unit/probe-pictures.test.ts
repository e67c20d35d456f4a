/**
 * The probe on pictures: the kind comes from the content, and a picture's size from its header, so no picture is
 * decoded (or an SVG rendered) at ingest. ffprobe runs behind a meter that records the peak resident memory
 * (VmHWM, sampled from /proc while it runs) of every run, so "did not decode" is measured, not assumed.
 */
import { chmod, copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pngBomb } from '../../scripts/sample-media/sample-images.ts';
import * as samples from '../../scripts/sample-media/sample-media.ts';
import { probeFile } from '../../shared/media/probe.ts';
import { resolveMediaTools, type MediaTools } from '../../shared/media/tools.ts';

const MB = 1024 * 1024;
/** Far above what parsing a header costs ffprobe (~55 MB), far below rendering a 16000² SVG (~1 GB). */
const PROBE_PEAK_LIMIT_BYTES = 200 * MB;
const SAMPLE_INTERVAL_MS = 5;

let dir: string;
let tools: MediaTools;
let meterLog: string;
let metered: Pick<MediaTools, 'ffprobe'>;

/** A stand-in ffprobe that runs the real one and appends the peak VmHWM (kB) of each run to a log. */
function meterScript(real: string, log: string): string {
  return `#!${process.execPath}
const { spawn } = require('node:child_process');
const { appendFileSync, readFileSync } = require('node:fs');
const child = spawn(${JSON.stringify(real)}, process.argv.slice(2), { stdio: 'inherit' });
let peak = 0;
const sample = () => {
  try {
    const match = /VmHWM:\\s+(\\d+) kB/.exec(readFileSync('/proc/' + child.pid + '/status', 'utf8'));
    if (match) peak = Math.max(peak, Number(match[1]));
  } catch {}
};
const timer = setInterval(sample, ${SAMPLE_INTERVAL_MS});
sample();
child.on('exit', (code, signal) => {
  clearInterval(timer);
  appendFileSync(${JSON.stringify(log)}, peak + '\\n');
  process.exit(code ?? (signal ? 128 : 1));
});
`;
}

/** Peak bytes of each ffprobe run since the log was last read. */
async function ffprobeRuns(): Promise<number[]> {
  const text = await readFile(meterLog, 'utf8').catch(() => '');
  await writeFile(meterLog, '');
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => Number(line) * 1024);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mediaflow-probe-pictures-'));
  tools = await resolveMediaTools(process.env);
  meterLog = join(dir, 'ffprobe-peaks.log');
  const meter = join(dir, 'ffprobe-meter.cjs');
  await writeFile(meter, meterScript(tools.ffprobe, meterLog));
  await chmod(meter, 0o755);
  metered = { ffprobe: meter };
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the meter', () => {
  it('records what an ffprobe run that decodes costs', async () => {
    const clip = await samples.videoWithSound(tools.ffmpeg, join(dir, 'clip.mp4'), { durationSeconds: 1, width: 320, height: 180 });
    await ffprobeRuns();
    await probeFile(clip, metered);
    const runs = await ffprobeRuns();
    expect(runs).toHaveLength(1);
    expect(runs[0]).toBeGreaterThan(5 * MB);
  });
});

describe('probeFile decides the kind from the content', () => {
  it('rejects text named .jpg at the probe, which ffprobe alone takes for a JPEG', async () => {
    const path = join(dir, 'notes.jpg');
    await writeFile(path, 'these are not the pixels you are looking for\nbut ffprobe goes by the name.\n');
    const error = await probeFile(path, metered).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'UNSUPPORTED_MEDIA', message: 'the file is text, not an image' });
  });

  it('rejects binary data named .jpg that is not a JPEG, saying what it starts with', async () => {
    const path = join(dir, 'data.jpg');
    await writeFile(path, Buffer.from([0x00, 0x13, 0x37, 0x80, 0xfe, 0x01, 0x02, 0x03, ...Array<number>(200).fill(7)]));
    const error = await probeFile(path, metered).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'UNSUPPORTED_MEDIA', message: 'content is not a JPEG image (starts with 00 13 37 80 fe 01 02 03)' });
  });

  it('reads a PNG named .jpg as the PNG it is', async () => {
    const png = await samples.pngWithAlpha(tools.ffmpeg, join(dir, 'logo.png'));
    const misnamed = join(dir, 'logo.jpg');
    await copyFile(png, misnamed);
    const summary = await probeFile(misnamed, metered);
    expect(summary).toMatchObject({ kind: 'image', formatName: 'png_pipe', durationSeconds: null, animated: false });
    expect(summary.streams).toEqual([expect.objectContaining({ type: 'video', codec: 'png', pixelFormat: 'rgba' })]);
  });

  it('still reads audio and video with ffprobe', async () => {
    const song = await samples.mp3WithCoverArt(tools.ffmpeg, join(dir, 'song.mp3'), { durationSeconds: 1 });
    await ffprobeRuns();
    expect(await probeFile(song, metered)).toMatchObject({ kind: 'audio' });
    expect(await ffprobeRuns()).toHaveLength(1);
  });
});

describe('probeFile reads pictures from their headers', () => {
  it('probes a 121-byte 16000×16000 SVG as a 16000×16000 image without rendering it', async () => {
    const path = join(dir, 'huge.svg');
    await writeFile(path, '<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="16000" height="16000"/>\n<!-- x -->');
    await ffprobeRuns();
    const summary = await probeFile(path, metered);
    expect(summary).toMatchObject({ kind: 'image', formatName: 'svg_pipe', display: { width: 16_000, height: 16_000 } });
    expect(summary.streams[0]).toMatchObject({ codec: 'svg', width: 16_000, height: 16_000 });
    const peaks = await ffprobeRuns();
    expect(Math.max(0, ...peaks)).toBeLessThan(PROBE_PEAK_LIMIT_BYTES);
  });

  it('probes a 2 MB 16-bit RGBA PNG of 16000×16000 without decoding it', async () => {
    const path = await pngBomb(tools.ffmpeg, join(dir, 'rgba16.png'), { width: 16_000, height: 16_000, pixels: 'rgba16' });
    await ffprobeRuns();
    const summary = await probeFile(path, metered);
    expect(summary.streams[0]).toMatchObject({ codec: 'png', width: 16_000, height: 16_000, pixelFormat: 'rgba64be' });
    expect(Math.max(0, ...(await ffprobeRuns()))).toBeLessThan(PROBE_PEAK_LIMIT_BYTES);
  });

  it('rejects a picture over the pixel budget from its header, on the first attempt, without ffprobe', async () => {
    const path = await pngBomb(tools.ffmpeg, join(dir, 'tall.png'), { width: 16_000, height: 20_000 });
    await ffprobeRuns();
    const started = performance.now();
    const error = await probeFile(path, metered).catch((e: unknown) => e);
    const elapsed = performance.now() - started;
    expect(error).toMatchObject({ code: 'IMAGE_TOO_LARGE', message: '16000×20000 = 320 Mpx exceeds the 268 Mpx limit' });
    expect(await ffprobeRuns()).toEqual([]);
    expect(elapsed).toBeLessThan(1000);
  });

  it('checks a JPEG against the budget before ffprobe parses it', async () => {
    // A JPEG's frame header declaring 65535×65535 (4.3 Gpx) after SOI: nothing else is needed to refuse it.
    const path = join(dir, 'huge.jpg');
    await writeFile(
      path,
      Buffer.from([0xff, 0xd8, 0xff, 0xc0, 0x00, 0x11, 0x08, 0xff, 0xff, 0xff, 0xff, 0x03, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1, 0xff, 0xd9]),
    );
    await ffprobeRuns();
    const error = await probeFile(path, metered).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'IMAGE_TOO_LARGE', message: '65535×65535 = 4.3 Gpx exceeds the 268 Mpx limit' });
    expect(await ffprobeRuns()).toEqual([]);
  });
});
