/**
 * Adaptive HLS end to end in the embedded runtime: a clip with a sync mark every second goes through the audio
 * analysis, hls-segment (one work order per segment), hls-audio and hls-package, and what comes out is read back
 * as a player would: playlists parsed and checked against the segments on disk, every stream decoded, timestamps
 * continuous across segments made by different work orders, and flashes and beeps still together.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syncMarkClip } from '../../scripts/sample-media/sample-video.ts';
import { assetPath } from '../../shared/domain/asset-id.ts';
import type { AssetDoc } from '../../shared/domain/asset.ts';
import { startTestRuntime, type TestRuntime } from '../support/embedded.ts';
import { decodeErrors, decodeStream, hlsRegistry, readPresentation, runFfmpeg, uploadAndSettle, type Presentation } from '../support/hls.ts';

const SECONDS = 5;
const FPS = 30;
/** 2 s segments (TEST_HLS_SETTINGS) over 5 s: two full segments and a 1 s one. */
const SEGMENTS = 3;
const FRAME = 1 / FPS;

let fixtures: string;
let runtime: TestRuntime;
let asset: AssetDoc;
let hls: Presentation;

beforeAll(async () => {
  fixtures = await mkdtemp(path.join(os.tmpdir(), 'mediaflow-hls-'));
  const source = await syncMarkClip('ffmpeg', path.join(fixtures, 'sync.mp4'), { durationSeconds: SECONDS, width: 854, height: 480, fps: FPS });
  runtime = await startTestRuntime({ steps: hlsRegistry() });
  asset = await uploadAndSettle(runtime, source, 'clips/sync.mp4');
  hls = await readPresentation(runtime, asset);
});
afterAll(async () => {
  await runtime?.dispose();
  await rm(fixtures, { recursive: true, force: true });
});

describe('HLS from a 5 s 854×480 clip with sound', () => {
  it('fans the video out one work order per segment and writes the asset once for the step', async () => {
    expect(asset.status).toBe('READY');
    expect(asset.plan).toEqual(expect.arrayContaining(['audio', 'hls-segment', 'hls-audio', 'hls-package']));
    expect(asset.steps['hls-segment']).toMatchObject({ status: 'SUCCEEDED', shards: SEGMENTS, outputs: { segmentCount: SEGMENTS, frames: SECONDS * FPS } });
    expect(asset.steps['hls-audio']?.dependsOn).toEqual(['audio']);
    expect(await runtime.store.count(`${assetPath(asset.id)}/results`, { where: [['step', '==', 'hls-segment']] })).toBe(SEGMENTS);
    const outputs = asset.steps['hls-package']?.outputs as { validation: { passed: boolean; checks: { name: string }[] } };
    expect(outputs.validation.passed).toBe(true);
    expect(outputs.validation.checks.map((check) => check.name)).toEqual(
      expect.arrayContaining([
        'init-segments',
        'segment-durations',
        'independent-segments',
        'timestamps-continuous',
        'renditions-aligned',
        'video-duration',
        'audio-duration',
        'av-sync',
        'decodes',
      ]),
    );
  });

  it('writes a master playlist with one audio group and a measured variant per rendition', () => {
    const { master } = hls;
    expect(master.version).toBe(6);
    expect(master.independentSegments).toBe(true);
    expect(master.media).toHaveLength(1);
    expect(master.media[0]).toMatchObject({ TYPE: 'AUDIO', 'GROUP-ID': 'audio-aac', DEFAULT: 'YES', CHANNELS: '2' });
    // Only video variants: the audio is a rendition of the group, never a variant of its own.
    expect(master.variants.map((variant) => variant.attributes.RESOLUTION)).toEqual(['854x480', '640x360']);
    for (const { attributes } of master.variants) {
      expect(attributes.CODECS).toMatch(/^avc1\.[0-9a-f]{6},mp4a\.40\.2$/);
      expect(attributes['FRAME-RATE']).toBe('30.000');
      expect(attributes.AUDIO).toBe('audio-aac');
      expect(Number(attributes.BANDWIDTH)).toBeGreaterThanOrEqual(Number(attributes['AVERAGE-BANDWIDTH']));
      expect(Number(attributes['AVERAGE-BANDWIDTH'])).toBeGreaterThan(0);
    }
  });

  it('measures BANDWIDTH and AVERAGE-BANDWIDTH from the segments on disk (RFC 8216 §4.3.4.2)', async () => {
    const audioUri = hls.master.media[0]!.URI!;
    const audio = await segmentRates(audioUri, 2);
    for (const variant of hls.master.variants) {
      const video = await segmentRates(variant.uri, 2);
      expect(Number(variant.attributes['AVERAGE-BANDWIDTH'])).toBe(video.average + audio.average);
      expect(Number(variant.attributes.BANDWIDTH)).toBe(video.peak + audio.peak);
    }
  });

  it('writes VOD media playlists whose segments all last at most the target duration', () => {
    for (const [uri, { playlist }] of hls.media) {
      expect(playlist, uri).toMatchObject({ version: 6, targetDuration: 2, independentSegments: true, playlistType: 'VOD', ended: true });
      expect(playlist.mapUri).toMatch(/init\.mp4$/);
      for (const segment of playlist.segments) expect(segment.durationSeconds).toBeLessThanOrEqual(2);
    }
    const video = hls.media.get(hls.master.variants[0]!.uri)!.playlist;
    expect(video.segments.map((segment) => segment.durationSeconds)).toEqual([2, 2, 1]);
  });

  it('decodes the whole presentation without an error', async () => {
    expect(await decodeErrors(hls.root, hls.masterPath)).toBe('');
  });

  it('continues the timestamps across segments made by separate work orders, for the length of the source', async () => {
    for (const variant of hls.master.variants) {
      const video = await decodeStream(hls.root, hls.media.get(variant.uri)!.path, 'v');
      expect(video.frameTimes).toHaveLength(SECONDS * FPS);
      const steps = video.frameTimes.slice(1).map((time, i) => time - video.frameTimes[i]!);
      expect(Math.max(...steps.map((step) => Math.abs(step - FRAME)))).toBeLessThan(1e-4);
      expect(video.sampleAspectRatio ?? '1:1').toBe('1:1');
    }
  });

  it('keeps every flash with its beep to within one frame', async () => {
    const video = hls.media.get(hls.master.variants[0]!.uri)!.path;
    const audio = hls.media.get(hls.master.media[0]!.URI!)!.path;
    const flashes = await flashTimes(video);
    expect(flashes).toHaveLength(SECONDS);
    // silencedetect also reports a silence_end where the stream ends in silence: that is no onset.
    const beeps = (await beepOnsets(audio)).filter((time) => time < flashes.at(-1)! + 0.5);
    // The first burst starts the stream, so no silence precedes it.
    expect(beeps).toHaveLength(SECONDS - 1);
    for (const beep of beeps) {
      const nearest = flashes.reduce((best, flash) => (Math.abs(flash - beep) < Math.abs(best - beep) ? flash : best));
      expect(Math.abs(nearest - beep), `beep at ${beep}`).toBeLessThanOrEqual(FRAME);
    }
  });
});

/** RFC 8216's definitions, computed here independently from the files and EXTINF values. */
async function segmentRates(uri: string, targetDuration: number): Promise<{ peak: number; average: number }> {
  const { path: file, playlist } = hls.media.get(uri)!;
  const segments = await Promise.all(
    playlist.segments.map(async (segment) => ({
      bytes: (await stat(path.join(hls.root, path.dirname(file), segment.uri))).size,
      seconds: segment.durationSeconds,
    })),
  );
  const bytes = segments.reduce((sum, segment) => sum + segment.bytes, 0);
  const seconds = segments.reduce((sum, segment) => sum + segment.seconds, 0);
  let peak = 0;
  for (let i = 0; i < segments.length; i++) {
    let windowBytes = 0;
    let windowSeconds = 0;
    for (let j = i; j < segments.length && windowSeconds + segments[j]!.seconds <= 1.5 * targetDuration; j++) {
      windowBytes += segments[j]!.bytes;
      windowSeconds += segments[j]!.seconds;
      if (windowSeconds >= 0.5 * targetDuration) peak = Math.max(peak, (windowBytes * 8) / windowSeconds);
    }
  }
  return { peak: Math.ceil(peak), average: Math.ceil((bytes * 8) / seconds) };
}

/** Times (on the presentation timeline) of the frames that are mostly white. */
async function flashTimes(playlist: string): Promise<number[]> {
  const log = await runFfmpeg(hls.root, [
    '-v',
    'info',
    '-copyts',
    '-i',
    playlist,
    '-map',
    '0:v:0',
    '-vf',
    'signalstats,metadata=print:key=lavfi.signalstats.YAVG',
    '-f',
    'null',
    '-',
  ]);
  const times: number[] = [];
  let time = Number.NaN;
  for (const line of log.split('\n')) {
    const frame = /pts_time:([\d.]+)/.exec(line);
    if (frame) time = Number(frame[1]);
    const luma = /lavfi\.signalstats\.YAVG=([\d.]+)/.exec(line);
    if (luma && Number(luma[1]) > 128) times.push(time);
  }
  return times;
}

/** Where each tone burst starts: the end of the silence before it. */
async function beepOnsets(playlist: string): Promise<number[]> {
  const log = await runFfmpeg(hls.root, ['-v', 'info', '-copyts', '-i', playlist, '-map', '0:a:0', '-af', 'silencedetect=n=-30dB:d=0.2', '-f', 'null', '-']);
  return [...log.matchAll(/silence_end: ([\d.]+)/g)].map((match) => Number(match[1]));
}
