/**
 * The single-decode graph's process handling: an abort (the step's timeout) kills every ffmpeg it started, and an
 * ffmpeg that cannot run fails the render at once instead of leaving its peers waiting on a pipe.
 */
import { fileInput } from '../../shared/media/input.ts';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { render, type RenderJob } from '../../functions/audio/render.ts';
import { referenceTone } from '../../scripts/sample-media/sample-audio.ts';

const run = promisify(execFile);
let dir: string;
let tone: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'mediaflow-audio-render-'));
  tone = await referenceTone('ffmpeg', path.join(dir, 'tone.wav'), { durationSeconds: 60 });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function job(signal: AbortSignal, ffmpeg = 'ffmpeg'): RenderJob {
  return {
    ffmpeg,
    input: { source: fileInput(tone), streamIndex: 0 },
    prepFilter: '',
    channels: 2,
    analysis: true,
    waveform: { pixelsPerSecond: 100, bits: 8, pngWidth: 100, pngHeight: 50 },
    renditions: [{ name: 'aac', codec: 'aac', stereoKbps: 256, path: path.join(dir, 'aac.m4a'), branchFilter: '' }],
    signal,
    label: 'decoding graph',
  };
}

async function childFfmpegs(): Promise<string[]> {
  const { stdout } = await run('ps', ['-o', 'comm=', '--ppid', String(process.pid)]).catch(() => ({ stdout: '' }));
  return stdout.split('\n').filter((name) => name.trim() === 'ffmpeg');
}

describe('render', () => {
  it('kills the graph, the encoder and the QC process when the step is aborted, and rejects with the reason', async () => {
    const controller = new AbortController();
    const reason = new Error('step timed out');
    setTimeout(() => controller.abort(reason), 300);
    await expect(render(job(controller.signal))).rejects.toBe(reason);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await childFfmpegs()).toEqual([]);
  });

  it('fails at once when ffmpeg cannot be run', async () => {
    const started = performance.now();
    await expect(render(job(new AbortController().signal, path.join(dir, 'no-such-ffmpeg')))).rejects.toThrow(/could not run/);
    expect(performance.now() - started).toBeLessThan(5_000);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await childFfmpegs()).toEqual([]);
  });
});
