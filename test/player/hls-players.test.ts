/**
 * Real players on the pipeline's HLS (issue 14, item 8): each source goes through the production steps in the
 * embedded runtime, and Chromium plays the master playlist with hls.js in real time, to the end. What a viewer
 * would meet is asserted: it plays through without an error; no hole anywhere: hls.js never seeks over one
 * (bufferSeekOverHole), never starts later to close one, and every SourceBuffer starts at 0 (Chromium's MSE plays
 * over a start hole under a second without telling hls.js, so the buffered start is what shows those); the picture
 * has the size of the top rung the right way up; the audio tracks are those of the source, each with its language.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { productionSteps } from '../../functions/registry.ts';
import { videoWithSound } from '../../scripts/sample-media/sample-media.ts';
import { rotatedClip } from '../../scripts/sample-media/sample-video.ts';
import { interlacedBroadcastTs, pqHevcHdr10 } from '../../scripts/sample-media/sample-video-sources.ts';
import { lateAudioMp4, multiLanguageMkv } from '../../scripts/sample-media/sample-video-tracks.ts';
import type { AssetDoc } from '../../shared/domain/asset.ts';
import { BUCKETS_DIR } from '../../shared/runtime/embedded.ts';
import { startTestRuntime, type TestRuntime } from '../support/embedded.ts';
import { uploadAndSettle } from '../support/hls.ts';
import { launchPlayer, type PlaybackReport, type Player } from '../support/player.ts';
import { startPlayerServer, type PlayerServer } from '../support/player-server.ts';

const SECONDS = 3;
const WIDTH = 640;
const HEIGHT = 360;
/** Real time: at 16× Chromium starves its own buffer and hls.js's stall handling acts where no viewer would be. */
const PLAYBACK_RATE = '1';
/** A 3 s clip in real time, plus start-up on two busy cores. */
const PLAY_TIMEOUT_MS = 30_000;
const TEST_TIMEOUT_MS = 45_000;
/** One video frame at the slowest rate here (24 fps): the most a clip's length may differ from its source's. */
const FRAME_SECONDS = 1 / 24;
/** Media starts at 0 on every SourceBuffer; a microsecond absorbs the float conversion of the timescales. */
const START_TOLERANCE_SECONDS = 1e-6;

interface Case {
  readonly name: string;
  readonly file: string;
  readonly make: (out: string) => Promise<string>;
  /** Display size of the top rung, the right way up. */
  readonly display: { readonly width: number; readonly height: number };
  /** Every audio track the master offers, in order: BCP 47 language (RFC 8216 §4.3.4.1) or '' when the source has none. */
  readonly languages: readonly string[];
}

const HDR_CASE = 'an HDR10 HEVC Main10 clip (PQ, BT.2020)';
const TWO_LANGUAGE_CASE = 'a two-language MKV (eng default, fra)';
const size = { durationSeconds: SECONDS, width: WIDTH, height: HEIGHT };
const cases: readonly Case[] = [
  {
    name: 'the demo clip (H.264 + AAC in MP4)',
    file: 'demo.mp4',
    make: (out) => videoWithSound('ffmpeg', out, size),
    display: { width: WIDTH, height: HEIGHT },
    languages: [''],
  },
  {
    name: 'a phone clip with a quarter-turn display matrix',
    file: 'rotated.mp4',
    make: (out) => rotatedClip('ffmpeg', out, size),
    display: { width: HEIGHT, height: WIDTH },
    languages: [''],
  },
  {
    name: 'an Android clip whose audio starts 0.5 s after the picture',
    file: 'late-audio.mp4',
    make: (out) => lateAudioMp4('ffmpeg', out, size),
    display: { width: WIDTH, height: HEIGHT },
    languages: [''],
  },
  {
    name: 'a 25i top-field-first MPEG-2 broadcast TS',
    file: 'interlaced.ts',
    make: (out) => interlacedBroadcastTs('ffmpeg', out, size),
    display: { width: WIDTH, height: HEIGHT },
    languages: [''],
  },
  // Pictures only: the shared HDR10 generator makes no sound, so the master offers no audio track.
  { name: HDR_CASE, file: 'hdr10.mp4', make: (out) => pqHevcHdr10('ffmpeg', out, size), display: { width: WIDTH, height: HEIGHT }, languages: [] },
  {
    name: TWO_LANGUAGE_CASE,
    file: 'two-languages.mkv',
    make: (out) => multiLanguageMkv('ffmpeg', out, size),
    display: { width: WIDTH, height: HEIGHT },
    languages: ['en', 'fr'],
  },
];

let fixtures: string;
let runtime: TestRuntime;
let server: PlayerServer;
let player: Player;
const assets = new Map<string, AssetDoc>();

beforeAll(async () => {
  // The browser first: without Chromium the suite fails at once with the install command, before any encoding.
  player = await launchPlayer();
  fixtures = await mkdtemp(path.join(os.tmpdir(), 'mediaflow-player-'));
  runtime = await startTestRuntime({ steps: productionSteps });
  const { derivatives } = runtime.deps.config.buckets;
  server = await startPlayerServer(derivatives, path.join(runtime.dataDir, BUCKETS_DIR, derivatives));
  const sources = await Promise.all(cases.map(async (testCase) => [testCase.name, await testCase.make(path.join(fixtures, testCase.file))] as const));
  await Promise.all(sources.map(async ([name, file]) => assets.set(name, await uploadAndSettle(runtime, file, `player/${path.basename(file)}`))));
});
afterAll(async () => {
  await player?.close();
  await server?.close();
  await runtime?.dispose();
  if (fixtures) await rm(fixtures, { recursive: true, force: true });
});

function masterUri(name: string): string {
  const asset = assets.get(name);
  const uri = asset?.steps['hls-package']?.outputs?.masterUri;
  if (typeof uri !== 'string') throw new Error(`${name}: no master playlist (status ${asset?.status}, error ${JSON.stringify(asset?.error)})`);
  return uri;
}

async function play(name: string, query: Readonly<Record<string, string>> = {}): Promise<PlaybackReport & { timedOut: boolean }> {
  return player.play(server.pageUrl(masterUri(name), { rate: PLAYBACK_RATE, ...query }), PLAY_TIMEOUT_MS);
}

/** What every clip owes a viewer, whatever its source. Soft: one run names every way a clip falls short. */
function expectCleanPlaybackToTheEnd(report: PlaybackReport & { timedOut: boolean }): void {
  expect.soft(report.errors, 'hls.js errors').toEqual([]);
  expect.soft(report.videoError, '<video> error').toBeNull();
  expect.soft(report.holes, 'holes hls.js seeked over (bufferSeekOverHole)').toEqual([]);
  expect.soft(report.startAdjustments, 'start holes hls.js closed by starting later').toEqual([]);
  for (const [buffer, start] of Object.entries(report.firstBuffered))
    expect.soft(start, `${buffer} SourceBuffer starts at`).toBeLessThanOrEqual(START_TOLERANCE_SECONDS);
  expect.soft(Object.keys(report.firstBuffered).length, 'SourceBuffers').toBeGreaterThan(0);
  expect.soft(report.timedOut, 'playback finished').toBe(false);
  expect.soft(report.ended, "'ended' fired").toBe(true);
  expect.soft(Math.abs(report.duration - SECONDS), `duration ${report.duration}`).toBeLessThanOrEqual(FRAME_SECONDS);
  expect.soft(Math.abs(report.currentTime - report.duration), `currentTime ${report.currentTime} at the end`).toBeLessThanOrEqual(FRAME_SECONDS);
}

describe('hls.js in headless Chromium plays the pipeline’s HLS to the end', () => {
  for (const testCase of cases) {
    it(testCase.name, { timeout: TEST_TIMEOUT_MS }, async () => {
      const report = await play(testCase.name);
      expectCleanPlaybackToTheEnd(report);
      const top = report.levels.reduce((best, level) => (level.width * level.height > best.width * best.height ? level : best));
      expect.soft({ width: top.width, height: top.height }, 'top rung in the master').toEqual(testCase.display);
      expect.soft(report.sizes.at(-1), 'displayed videoWidth×videoHeight').toMatchObject(testCase.display);
      expect
        .soft(
          report.audioTracks.map((track) => track.lang),
          'audio track languages',
        )
        .toEqual(testCase.languages);
      expect.soft(new Set(report.audioTracks.map((track) => track.name)).size, 'distinct audio track names').toBe(report.audioTracks.length);
    });
  }

  it('offers an HDR source as SDR H.264 (8-bit, no PQ or HLG VIDEO-RANGE)', { timeout: TEST_TIMEOUT_MS }, async () => {
    const report = await play(HDR_CASE);
    expect(report.levels.length, 'levels in the master').toBeGreaterThan(0);
    for (const level of report.levels) {
      expect.soft(['', 'SDR'], `VIDEO-RANGE of ${level.width}x${level.height}`).toContain(level.videoRange);
      // avc1.64 (High), .4d (Main), .42 (Baseline): 8-bit profiles; High 10 (avc1.6e) would mean PQ passed through.
      expect.soft(level.videoCodec, `codec of ${level.width}x${level.height}`).toMatch(/^avc1\.(64|4d|42)/);
    }
  });

  it('plays the second language when the viewer picks it', { timeout: TEST_TIMEOUT_MS }, async () => {
    const report = await play(TWO_LANGUAGE_CASE, { audioTrack: '1' });
    expectCleanPlaybackToTheEnd(report);
    expect.soft(report.selectedAudioTrack, 'hls.audioTrack after the switch').toBe(1);
    expect.soft(report.playedAudioTracks, 'audio tracks fragments were buffered from').toContain(1);
    expect.soft(report.audioTracks[1]?.lang).toBe('fr');
  });
});
