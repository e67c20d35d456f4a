/**
 * Issue 14, timelines and tracks, through the embedded runtime: every stream starts without a hole (the first
 * video tfdt is the first presented frame), A/V sync is the source's whatever its streams' starts (B-frames,
 * audio starting 0.5 s after the video, a transport stream whose PTS start apart), every audio stream is a
 * rendition with its language and name, and a text subtitle track becomes segmented WebVTT.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bFrameMp4, lateAudioMp4, multiLanguageMkv, offsetStartsTs } from '../../scripts/sample-media/sample-video-tracks.ts';
import { audioStep } from '../../functions/audio/step.ts';
import { createHlsAudioStep } from '../../functions/hls-audio/step.ts';
import { createPackageStep } from '../../functions/hls-package/step.ts';
import { createSegmentStep } from '../../functions/hls-segment/step.ts';
import { createSubtitlesStep } from '../../functions/hls-subtitles/step.ts';
import type { AssetDoc } from '../../shared/domain/asset.ts';
import { createStepRegistry } from '../../shared/domain/step.ts';
import { childBoxes, readBoxes, versionAndFlags } from '../../shared/media/hls/bmff.ts';
import { parseInit, parseSegment } from '../../shared/media/hls/fmp4.ts';
import { startTestRuntime, type TestRuntime } from '../support/embedded.ts';
import { readPresentation, TEST_HLS_SETTINGS, uploadAndSettle, type Presentation } from '../support/hls.ts';

const SECONDS = 3;
const FPS = 25;
const FRAME = 1 / FPS;
const AUDIO_RATE = 48_000;
/** The encoder delay the AAC renditions keep before their first sample (functions/hls-audio/params.ts). */
const AAC_PRIMING = 1024;

let fixtures: string;
let runtime: TestRuntime;
const assets = new Map<string, AssetDoc>();
const presentations = new Map<string, Presentation>();

beforeAll(async () => {
  fixtures = await mkdtemp(path.join(os.tmpdir(), 'mediaflow-hls-tracks-'));
  const sources: Record<string, string> = {
    mkv: await multiLanguageMkv('ffmpeg', path.join(fixtures, 'languages.mkv'), { durationSeconds: SECONDS }),
    bframes: await bFrameMp4('ffmpeg', path.join(fixtures, 'bframes.mp4'), { durationSeconds: SECONDS }),
    android: await lateAudioMp4('ffmpeg', path.join(fixtures, 'android.mp4'), { durationSeconds: SECONDS, audioDelaySeconds: 0.5 }),
    ts: await offsetStartsTs('ffmpeg', path.join(fixtures, 'capture.ts'), { durationSeconds: SECONDS, videoDelaySeconds: 0.2 }),
  };
  const settings = TEST_HLS_SETTINGS;
  runtime = await startTestRuntime({
    steps: createStepRegistry([
      audioStep,
      createSegmentStep(settings),
      createHlsAudioStep(settings),
      createSubtitlesStep(settings),
      createPackageStep(settings),
    ]),
  });
  await Promise.all(
    Object.entries(sources).map(async ([name, file]) => {
      const asset = await uploadAndSettle(runtime, file, `tracks/${path.basename(file)}`);
      assets.set(name, asset);
      if (asset.status === 'READY') presentations.set(name, await readPresentation(runtime, asset));
    }),
  );
}, 240_000);
afterAll(async () => {
  await runtime?.dispose();
  await rm(fixtures, { recursive: true, force: true });
});

function ready(name: string): Presentation {
  const asset = assets.get(name)!;
  expect(asset.status, JSON.stringify(asset.error)).toBe('READY');
  return presentations.get(name)!;
}

function check(name: string, check: string): string | undefined {
  const outputs = assets.get(name)!.steps['hls-package']?.outputs as { validation: { checks: { name: string; detail: string }[] } };
  return outputs.validation.checks.find((entry) => entry.name === check)?.detail;
}

/** The init segment and first media segment of a media playlist, read back from the bucket folder. */
async function firstSegment(hls: Presentation, uri: string): Promise<{ init: Buffer; segment: Buffer }> {
  const { path: file, playlist } = hls.media.get(uri)!;
  const dir = path.join(hls.root, path.dirname(file));
  return { init: await readFile(path.join(dir, playlist.mapUri!)), segment: await readFile(path.join(dir, playlist.segments[0]!.uri)) };
}

describe('timelines start at zero, without a hole (issue 14)', () => {
  it.each(['bframes', 'android', 'ts', 'mkv'])(
    '%s: every video segment presents its first frame at its tfdt, through negative composition offsets',
    async (name) => {
      const hls = ready(name);
      for (const variant of hls.master.variants) {
        const { init, segment } = await firstSegment(hls, variant.uri);
        const [track] = parseInit(init);
        const timing = parseSegment(segment, track!);
        expect(timing.presentationStart).toBe(timing.decodeTime);
        // x264's B-frames are still there: trun version 1 with some negative offsets.
        const traf = childBoxes(
          segment,
          readBoxes(segment).find((box) => box.type === 'moof')!,
        ).find((box) => box.type === 'traf')!;
        const trun = childBoxes(segment, traf).find((box) => box.type === 'trun')!;
        expect(versionAndFlags(segment, trun).version).toBe(1);
      }
      expect(check(name, 'video-starts-at-tfdt')).toMatch(/^every video segment presents its first frame at its tfdt/);
    },
  );

  it('B-frames: audio and video start together, to the frame', () => {
    ready('bframes');
    expect(check('bframes', 'av-sync')).toMatch(/the source \+0\.000 ms: off by [+−]\d+\.\d+ ms/);
  });

  it('Android: audio starting 0.5 s after the video stays 0.5 s after it, behind silence from the first frame', async () => {
    const hls = ready('android');
    const outputs = assets.get('android')!.steps['hls-audio']?.outputs as { leadingSilenceSamples?: number };
    // The MP4's edit list puts the audio 478 ms in (-itsoffset 0.5 less the source encoder's priming, rounded).
    const pad = outputs.leadingSilenceSamples ?? 0;
    expect(Math.abs(pad / AUDIO_RATE - 0.478)).toBeLessThanOrEqual(FRAME);
    expect(check('android', 'av-sync')).toMatch(
      /the first audio sample plays \+4\d\d\.\d+ ms from the first video frame \(after \d+ samples of leading silence\), the source \+4\d\d\.\d+ ms/,
    );
    expect(check('android', 'audio-duration')).toMatch(new RegExp(`the audio step decoded from the source and ${pad} of leading silence`));
    expect(check('android', 'no-start-hole')).toMatch(/^no track starts after the presentation's zero/);
    const video = await firstSegment(hls, hls.master.variants[0]!.uri);
    const audio = await firstSegment(hls, hls.master.media[0]!.URI!);
    const videoTrack = parseInit(video.init)[0]!;
    const videoStart = parseSegment(video.segment, videoTrack).decodeTime / videoTrack.timescale;
    const audioTrack = parseInit(audio.init)[0]!;
    const firstSample = (parseSegment(audio.segment, audioTrack).decodeTime + AAC_PRIMING) / audioTrack.timescale;
    // The rendition's first sample (after the priming) is the first frame's instant, to the sample below it.
    expect(firstSample - videoStart).toBeLessThanOrEqual(0);
    expect(firstSample - videoStart).toBeGreaterThan(-1 / AUDIO_RATE);
    // The programme audio, after the silence, starts where the source puts it.
    expect(Math.abs(firstSample + pad / audioTrack.timescale - videoStart - 0.5)).toBeLessThanOrEqual(FRAME);
  });

  it('TS: audio and video PTS that start apart keep their distance, and the durations compare decoded truth', () => {
    ready('ts');
    expect(check('ts', 'av-sync')).toMatch(/from the first video frame, the source −2\d\d\.\d+ ms/);
    expect(check('ts', 'video-duration')).toMatch(/frames produced for the \d+ the timeline planned/);
    expect(check('ts', 'audio-duration')).toMatch(/the audio step decoded from the source/);
  });

  it('TS: audio leading the picture keeps every sample before the zero; no track starts after it', () => {
    ready('ts');
    const outputs = assets.get('ts')!.steps['hls-audio']?.outputs as { leadingSilenceSamples?: number };
    expect(outputs.leadingSilenceSamples).toBe(0);
    // The zero is the first frame, where players start: what leads it is cut by the player, no hole is left.
    expect(check('ts', 'no-start-hole')).toMatch(
      /^no track starts after the presentation's zero, the first video frame or audio sample \(240p \+0\.000 ms, aac −2\d\d\.\d{3} ms\)$/,
    );
  });
});

describe('more tracks (issue 14)', () => {
  it("makes every audio stream a rendition of the group, with LANGUAGE, NAME and the source's default", () => {
    const hls = ready('mkv');
    const audio = hls.master.media.filter((media) => media.TYPE === 'AUDIO');
    expect(audio).toEqual([
      expect.objectContaining({ 'GROUP-ID': 'audio-aac', NAME: 'English', LANGUAGE: 'en', DEFAULT: 'YES', URI: 'aac.m3u8' }),
      expect.objectContaining({ 'GROUP-ID': 'audio-aac', NAME: 'Français (doublage)', LANGUAGE: 'fr', DEFAULT: 'NO', URI: 'aac-1.m3u8' }),
    ]);
    expect(check('mkv', 'av-sync aac-1')).toBeDefined();
  });

  it('makes the SRT track a SUBTITLES group of segmented WebVTT aligned with the video, mapped to the timeline', async () => {
    const hls = ready('mkv');
    const subtitles = hls.master.media.filter((media) => media.TYPE === 'SUBTITLES');
    expect(subtitles).toEqual([
      expect.objectContaining({ 'GROUP-ID': 'subs', NAME: 'English', LANGUAGE: 'en', DEFAULT: 'NO', FORCED: 'NO', URI: 'subs-0.m3u8' }),
    ]);
    for (const variant of hls.master.variants) expect(variant.attributes.SUBTITLES).toBe('subs');
    const vtt = hls.media.get('subs-0.m3u8')!;
    const video = hls.media.get(hls.master.variants[0]!.uri)!;
    expect(vtt.playlist.segments.map((segment) => segment.durationSeconds)).toEqual(video.playlist.segments.map((segment) => segment.durationSeconds));
    const texts = await Promise.all(vtt.playlist.segments.map((segment) => readFile(path.join(hls.root, path.dirname(vtt.path), segment.uri), 'utf8')));
    for (const text of texts) expect(text).toMatch(/^WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:90000,LOCAL:00:00:00\.000\n/);
    // The Matroska muxer moved every stream 21 ms later (the AAC priming); the cues keep their place beside the video.
    expect(texts[0]).toBe(
      'WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:90000,LOCAL:00:00:00.000\n\n00:00:00.121 --> 00:00:00.921\nLine 1\n\n00:00:01.121 --> 00:00:01.921\nLine 2\n',
    );
    expect(texts[1]).toContain('00:00:02.121 --> 00:00:02.921\nLine 3');
  });
});
