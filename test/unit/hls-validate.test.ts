import { describe, expect, it } from 'vitest';
import type { MeasuredSegment, MeasuredTrack } from '../../functions/hls-package/measure.ts';
import type { PackageParams } from '../../functions/hls-package/params.ts';
import { failureMessage, trailingEmpty, validate, type Measured } from '../../functions/hls-package/validate.ts';

const VIDEO_SCALE = 15_360;
const FRAME = 512; // 1/30 s
const AUDIO_SCALE = 48_000;
const AAC = 1024;
const INIT = 'a'.repeat(64);

/** The tests bend one measured field at a time. */
type Editable = { -readonly [K in keyof MeasuredSegment]: MeasuredSegment[K] };

/** 20 s of 30 fps video: three 6 s segments and a 2 s one, one second into the timeline, first frames at their tfdt. */
function videoTrack(name: string, edit: (segments: Editable[]) => void = () => undefined): MeasuredTrack {
  const frames = [180, 180, 180, 60];
  let frame = 30;
  const segments = frames.map((count, index) => {
    const segment = {
      index,
      bytes: 100_000 * count,
      decodeTime: frame * FRAME,
      duration: count * FRAME,
      presentationStart: frame * FRAME,
      samples: count,
      startsWithSync: true,
      internalGaps: 0,
    };
    frame += count;
    return segment;
  });
  edit(segments);
  return track(name, 'video', VIDEO_SCALE, segments);
}

/**
 * 20 s of AAC after the priming frame: 281-frame segments. With `samples`, the last frame lasts only the encoder's
 * remainder, as ffmpeg's fragmented muxer writes it, so the track holds exactly that many samples after the priming.
 */
function audioTrack(edit: (segments: Editable[]) => void = () => undefined, samples?: number): MeasuredTrack {
  const total = Math.ceil((samples ?? 20 * AUDIO_SCALE) / AAC) + 1;
  const segments: Editable[] = [];
  let at = AUDIO_SCALE - AAC;
  for (let index = 0, left = total; left > 0; index++) {
    const count = Math.min(281, left);
    const short = samples !== undefined && count === left ? (total - 1) * AAC - samples : 0;
    segments.push({
      index,
      bytes: 20_000,
      decodeTime: at,
      duration: count * AAC - short,
      presentationStart: at,
      samples: count,
      startsWithSync: true,
      internalGaps: 0,
    });
    at += count * AAC - short;
    left -= count;
  }
  edit(segments);
  return track('aac', 'audio', AUDIO_SCALE, segments);
}

function track(name: string, kind: 'video' | 'audio', timescale: number, segments: MeasuredSegment[]): MeasuredTrack {
  const audio = kind === 'audio' ? { channels: 2, channelConfiguration: 2 } : {};
  return {
    spec: { name, kind, step: kind === 'video' ? 'hls-segment' : 'hls-audio', segmentCount: segments.length },
    info: {
      trackId: 1,
      handler: kind === 'video' ? 'vide' : 'soun',
      timescale,
      defaultDuration: 0,
      defaultSize: 0,
      defaultFlags: 0,
      codec: kind === 'video' ? 'avc1.640028' : 'mp4a.40.2',
      ...audio,
    },
    initSha256: INIT,
    segments,
    decodeErrors: [],
  };
}

const params: PackageParams = {
  targetDuration: 6,
  sourceSeconds: 20,
  video: {
    segmentCount: 4,
    emptySegments: [],
    frameRate: { num: 30, den: 1 },
    offsetSeconds: 1,
    sourceSeconds: 20,
    renditions: [
      { name: '720p', initSha256: [INIT] },
      { name: '360p', initSha256: [INIT] },
    ],
  },
  audio: {
    rendition: 'aac',
    segmentCount: 4,
    initSha256: INIT,
    gainDb: -2,
    gainSource: 'audio',
    primingSeconds: AAC / AUDIO_SCALE,
    channels: 2,
    sourceSeconds: 20,
    decodedSamples: null,
    decodedSampleRate: null,
    durationSource: 'container',
    sourceAudioStart: 0,
    sourceVideoStart: 0,
  },
};

/** An audio-only asset whose audio step counted the decoded samples, with the container's (estimated) duration beside it. */
function audioOnly(decodedSamples: number, containerSeconds: number): PackageParams {
  return {
    targetDuration: 6,
    sourceSeconds: containerSeconds,
    video: null,
    audio: { ...params.audio!, sourceSeconds: containerSeconds, decodedSamples, decodedSampleRate: AUDIO_SCALE, durationSource: 'decoded' },
  };
}

const good = (): Measured => ({ video: [videoTrack('720p'), videoTrack('360p')], audio: [audioTrack()] });

function failing(measured: Measured, changed: PackageParams = params): Record<string, string> {
  return Object.fromEntries(
    validate(changed, measured)
      .filter((check) => !check.passed)
      .map((check) => [check.name, check.detail]),
  );
}

describe('HLS validation', () => {
  it('passes a consistent presentation, naming every check', () => {
    const checks = validate(params, good());
    expect(checks.filter((check) => !check.passed)).toEqual([]);
    expect(checks.map((check) => check.name)).toEqual([
      'init-segments',
      'no-empty-segments',
      'segment-durations',
      'independent-segments',
      'timestamps-continuous',
      'video-starts-at-tfdt',
      'no-start-hole',
      'renditions-aligned',
      'audio-channels',
      'video-duration',
      'audio-duration',
      'total-duration',
      'av-sync',
      'decodes',
    ]);
  });

  it('fails a segment over the target duration', () => {
    const measured = { ...good(), video: [videoTrack('720p', (s) => void Object.assign(s[3]!, { duration: 7 * VIDEO_SCALE })), videoTrack('360p')] };
    expect(failing(measured)['segment-durations']).toBe('720p segment 3 lasts 7.000000 s, over the 6 s target');
  });

  it('fails a gap and an overlap between segments, to the tick', () => {
    const gap = failing({ ...good(), audio: [audioTrack((s) => void ((s[2]!.decodeTime += AAC), (s[2]!.presentationStart += AAC)))] });
    expect(gap['timestamps-continuous']).toMatch(/^aac segment 2: gap of 21\.333 ms after segment 1/);
    const overlap = failing({ ...good(), video: [videoTrack('720p', (s) => void (s[1]!.presentationStart -= 1)), videoTrack('360p')] });
    expect(overlap['timestamps-continuous']).toMatch(/720p segment 1: overlap/);
  });

  it('fails a segment that does not start with a sync sample, which EXT-X-INDEPENDENT-SEGMENTS would misstate', () => {
    expect(failing({ ...good(), video: [videoTrack('720p', (s) => void (s[2]!.startsWithSync = false)), videoTrack('360p')] })['independent-segments']).toBe(
      '720p segment 2 does not start with a sync sample',
    );
  });

  it('fails init segments that differ between shards or from what is stored', () => {
    const split: PackageParams = {
      ...params,
      video: {
        ...params.video!,
        renditions: [
          { name: '720p', initSha256: [INIT, 'b'.repeat(64)] },
          { name: '360p', initSha256: ['c'.repeat(64)] },
        ],
      },
    };
    expect(failing(good(), split)['init-segments']).toBe(
      '720p: the shards wrote 2 different init segments; 360p: the stored init segment is not the one the shards wrote',
    );
  });

  it('fails renditions that do not cut at the same instants', () => {
    const shifted = videoTrack('360p', (s) => {
      s[0]!.duration -= FRAME;
      for (const later of s.slice(1)) later.presentationStart -= FRAME;
      for (const later of s.slice(1)) later.decodeTime -= FRAME;
    });
    expect(failing({ ...good(), video: [videoTrack('720p'), shifted] })['renditions-aligned']).toMatch(/^360p segment 0 is not aligned with 720p/);
  });

  it('fails a duration more than a frame from the source', () => {
    const long: PackageParams = { ...params, video: { ...params.video!, sourceSeconds: 19.9 } };
    expect(failing(good(), long)['video-duration']).toBe('20.000000 s of video for 19.900000 s in the source (+100.000 ms; tolerance one frame, 33.333 ms)');
    const short: PackageParams = { ...params, sourceSeconds: 20.1 };
    expect(failing(good(), short)['total-duration']).toMatch(/^20\.0\d{5} s of presentation for 20\.100000 s in the source \(−\d+\.\d{3} ms/);
  });

  it('checks only the whole presentation where the container states no per-stream durations (Matroska)', () => {
    const matroska: PackageParams = {
      ...params,
      sourceSeconds: 20.021,
      video: { ...params.video!, sourceSeconds: null },
      audio: { ...params.audio!, sourceSeconds: null },
    };
    const checks = validate(matroska, good());
    expect(checks.map((check) => check.name)).not.toContain('video-duration');
    expect(checks.find((check) => check.name === 'total-duration')).toMatchObject({ passed: true });
  });

  it('fails audio more than a frame away from where the source put it', () => {
    const late = failing({
      ...good(),
      audio: [audioTrack((s) => s.forEach((segment) => void ((segment.decodeTime += 2 * 1600), (segment.presentationStart += 2 * 1600))))],
    });
    expect(late['av-sync']).toBe(
      'aac: the first audio sample plays +66.667 ms from the first video frame, the source +0.000 ms: off by +66.667 ms (one frame is 33.333 ms)',
    );
    // The same offset in the source is in sync.
    expect(
      failing(
        { ...good(), audio: [audioTrack((s) => s.forEach((segment) => void ((segment.decodeTime += 3200), (segment.presentationStart += 3200))))] },
        { ...params, audio: { ...params.audio!, sourceAudioStart: 3200 / AUDIO_SCALE } },
      )['av-sync'],
    ).toBeUndefined();
  });

  it('fails when ffmpeg could not decode a slice, quoting it', () => {
    const broken = { ...good(), audio: [{ ...audioTrack(), decodeErrors: ['aac segments 0–3: Invalid data found when processing input'] }] };
    const message = failureMessage(validate(params, broken));
    expect(message).toBe('decodes: aac segments 0–3: Invalid data found when processing input');
  });

  it('leaves out empty shards past the end, and fails an empty one in the middle', () => {
    const trailing: PackageParams = { ...params, video: { ...params.video!, segmentCount: 6, emptySegments: [4, 5] } };
    expect(trailingEmpty(trailing)).toBe(2);
    expect(failing(good(), trailing)['no-empty-segments']).toBeUndefined();
    const hole: PackageParams = { ...params, video: { ...params.video!, segmentCount: 6, emptySegments: [2, 5] } };
    expect(trailingEmpty(hole)).toBe(1);
    expect(failing(good(), hole)['no-empty-segments']).toBe('segment 2 has no frame');
  });

  it("checks audio against the decoded length, to the sample, not against a container's estimate (issue 13)", () => {
    // A 20 s LAME MP3: its Xing/LAME header makes the container say 20.035918 s; the decode is 960 000 samples.
    const exact = audioTrack(undefined, 960_000);
    expect(
      failing(
        { video: [], audio: [exact] },
        {
          ...audioOnly(960_000, 20.035918),
          audio: { ...audioOnly(960_000, 20.035918).audio!, durationSource: 'container', decodedSamples: null, decodedSampleRate: null },
        },
      )['audio-duration'],
    ).toBe('20.000000 s of audio for 20.035918 s in the source (−35.918 ms; tolerance one frame, 21.333 ms)');
    const checks = validate(audioOnly(960_000, 20.035918), { video: [], audio: [exact] });
    expect(checks.filter((check) => !check.passed)).toEqual([]);
    expect(checks.find((check) => check.name === 'audio-duration')?.detail).toBe(
      '960000 samples (20.000000 s) of audio for the 960000 (20.000000 s) the audio step decoded from the source (+0 at 48000 Hz; tolerance 1 sample: each step resamples on its own)',
    );
    expect(checks.find((check) => check.name === 'total-duration')?.detail).toBe(
      '20.000000 s of presentation for 20.000000 s decoded from the source (+0.000 ms; tolerance 1 sample, 0.021 ms)',
    );
  });

  it('allows the one sample two resamplers may round apart, and no more', () => {
    expect(failing({ video: [], audio: [audioTrack(undefined, 960_001)] }, audioOnly(960_000, 20))).toEqual({});
    expect(failing({ video: [], audio: [audioTrack(undefined, 959_999)] }, audioOnly(960_000, 20))).toEqual({});
    const long = failing({ video: [], audio: [audioTrack(undefined, 960_002)] }, audioOnly(960_000, 20));
    expect(long['audio-duration']).toMatch(/^960002 samples .* \(\+2 at 48000 Hz;/);
    // A whole last frame, as a muxer that ignored the encoder's remainder would write: 937.5 frames are 938, 512 samples too many.
    expect(failing({ video: [], audio: [audioTrack()] }, audioOnly(960_000, 20))['audio-duration']).toMatch(/^960512 samples .* \(\+512 at 48000 Hz;/);
  });

  it('uses the decoded length for the audio of a video too, and the container for the rest (issue 14 does the video)', () => {
    const decoded: PackageParams = {
      ...params,
      audio: { ...params.audio!, decodedSamples: 960_000, decodedSampleRate: AUDIO_SCALE, durationSource: 'decoded' },
    };
    const checks = validate(decoded, { ...good(), audio: [audioTrack(undefined, 960_000)] });
    expect(checks.filter((check) => !check.passed)).toEqual([]);
    expect(checks.find((check) => check.name === 'audio-duration')?.detail).toMatch(/the audio step decoded from the source/);
    expect(checks.find((check) => check.name === 'total-duration')?.detail).toMatch(/in the source/);
  });

  it('checks the channels the AudioSpecificConfig states against the plan, and reports a configuration it cannot read', () => {
    const mono: PackageParams = { ...params, audio: { ...params.audio!, channels: 1 } };
    expect(failing(good(), mono)['audio-channels']).toBe('aac: the AudioSpecificConfig states 2 channels (channelConfiguration 2); 1 were planned');
    const pce = audioTrack();
    const unreadable = { ...pce, info: { ...pce.info, channels: undefined, channelConfiguration: 0 } };
    expect(failing({ ...good(), audio: [unreadable] })['audio-channels']).toBe(
      'aac: the AudioSpecificConfig states channelConfiguration 0, which names no channel count (a program_config_element would); 2 were planned',
    );
  });

  it('fails a video segment whose first presented frame is not at its tfdt: the start hole players seek over (issue 14)', () => {
    const reordered = failing({
      ...good(),
      video: [videoTrack('720p', (s) => s.forEach((segment) => void (segment.decodeTime -= 2 * FRAME))), videoTrack('360p')],
    });
    expect(reordered['video-starts-at-tfdt']).toMatch(/^720p segment 0 presents its first frame \+66\.667 ms from its tfdt/);
  });

  it('counts the frames produced against the planned grid, not the container duration (issue 14)', () => {
    const planned: PackageParams = { ...params, video: { ...params.video!, plannedFrames: 600, sourceSeconds: 3.84 } };
    expect(failing(good(), planned)['video-duration']).toBeUndefined();
    expect(failing(good(), { ...planned, video: { ...planned.video!, plannedFrames: 601 } })['video-duration']).toBe(
      '720p: 600 frames produced for the 601 the timeline planned (20.000000 s)',
    );
  });

  it('checks every audio rendition: its init, channels, and A/V sync against its own source start (issue 14)', () => {
    const second = { ...params.audio!, rendition: 'aac-1', name: 'French', language: 'fr', default: false, sourceAudioStart: 0.5 };
    const withSecond: PackageParams = { ...params, moreAudio: [second] };
    const late = audioTrack((s) => s.forEach((segment) => void ((segment.decodeTime += AUDIO_SCALE / 2), (segment.presentationStart += AUDIO_SCALE / 2))));
    const renamed = { ...late, spec: { ...late.spec, name: 'aac-1' } };
    const checks = validate(withSecond, { ...good(), audio: [audioTrack(), renamed] });
    // In sync, but starting after the first frame: the hole hls-audio now pads (see 'no start hole' below).
    expect(checks.filter((check) => !check.passed).map((check) => check.name)).toEqual(['no-start-hole', 'total-duration']);
    expect(checks.find((check) => check.name === 'av-sync aac-1')?.detail).toBe(
      'aac-1: the first audio sample plays +500.000 ms from the first video frame, the source +500.000 ms: off by +0.000 ms (one frame is 33.333 ms)',
    );
    expect(failing({ ...good(), audio: [audioTrack(), { ...audioTrack(), spec: renamed.spec }] }, withSecond)['av-sync aac-1']).toMatch(/off by −500\.000 ms/);
  });
});

/** Half a second of leading silence at 48 kHz: an Android clip's audio, padded back to the first frame. */
const PAD = AUDIO_SCALE / 2;

/** A rendition shifted by `ticks` on the timeline (decode and presentation alike), named `name`. */
function shiftedAudio(ticks: number, name = 'aac', samples?: number): MeasuredTrack {
  const shifted = audioTrack((s) => s.forEach((segment) => void ((segment.decodeTime += ticks), (segment.presentationStart += ticks))), samples);
  return { ...shifted, spec: { ...shifted.spec, name } };
}

describe('no start hole: audio starting after the first frame is padded with silence (issue 14)', () => {
  const lateSource: PackageParams = { ...params, audio: { ...params.audio!, sourceAudioStart: 0.5, sourceSeconds: 19.5 } };
  const padded: PackageParams = { ...lateSource, audio: { ...lateSource.audio!, leadingSilenceSamples: PAD } };

  it("passes a late source's audio that starts at the first frame behind its recorded silence, in sync", () => {
    const checks = validate(padded, good());
    expect(checks.filter((check) => !check.passed)).toEqual([]);
    expect(checks.find((check) => check.name === 'no-start-hole')?.detail).toBe(
      "no track starts after the presentation's zero, the first video frame or audio sample (720p +0.000 ms, 360p +0.000 ms, aac −21.333 ms)",
    );
    expect(checks.find((check) => check.name === 'av-sync')?.detail).toBe(
      'aac: the first audio sample plays +500.000 ms from the first video frame (after 24000 samples of leading silence), the source +500.000 ms: off by +0.000 ms (one frame is 33.333 ms)',
    );
  });

  it('fails audio that starts after the first frame, in sync or not', () => {
    // Where hls-audio put it before the pad: in sync with the source, and a hole of 478.667 ms at every start.
    const unpadded = failing({ ...good(), audio: [shiftedAudio(PAD)] }, lateSource);
    expect(unpadded['no-start-hole']).toBe("aac starts +478.667 ms after the presentation's zero (its first sample), a hole players start behind");
    expect(unpadded['av-sync']).toBeUndefined();
    // One sample late is a hole too.
    expect(failing({ ...good(), audio: [shiftedAudio(AAC + 1)] })['no-start-hole']).toMatch(/^aac starts \+0\.021 ms after/);
    // Starting before the zero (audio leading the picture, or the priming frame) is no hole.
    expect(failing({ ...good(), audio: [shiftedAudio(-AUDIO_SCALE / 5)] })['no-start-hole']).toBeUndefined();
  });

  it('fails a video rendition that starts after the others, and an audio-only rendition after the first', () => {
    const later = videoTrack('360p', (s) => s.forEach((segment) => void ((segment.decodeTime += FRAME), (segment.presentationStart += FRAME))));
    expect(failing({ ...good(), video: [videoTrack('720p'), later] })['no-start-hole']).toBe(
      "360p starts +33.333 ms after the presentation's zero (its first frame), a hole players start behind",
    );
    const audioOnlyTwo: PackageParams = { ...audioOnly(960_000, 20), moreAudio: [{ ...params.audio!, rendition: 'aac-1' }] };
    expect(failing({ video: [], audio: [audioTrack(undefined, 960_000), shiftedAudio(AAC, 'aac-1', 960_000)] }, audioOnlyTwo)['no-start-hole']).toBe(
      "aac-1 starts +21.333 ms after the presentation's zero (its first sample), a hole players start behind",
    );
  });

  it("fails a pad that moves the programme audio off the source's start, or that is not recorded", () => {
    const wrongPad = failing(good(), { ...padded, audio: { ...padded.audio!, leadingSilenceSamples: PAD + 2 * 1600 } });
    expect(wrongPad['av-sync']).toMatch(/off by \+66\.667 ms/);
    expect(failing(good(), lateSource)['av-sync']).toMatch(
      /the first audio sample plays \+0\.000 ms from the first video frame, the source \+500\.000 ms: off by −500\.000 ms/,
    );
  });

  it("leaves the silence out of an audio-only presentation's length", () => {
    const padded = (pad: number): PackageParams => ({ ...audioOnly(936_000, 19.5), audio: { ...audioOnly(936_000, 19.5).audio!, leadingSilenceSamples: pad } });
    const checks = validate(padded(PAD), { video: [], audio: [audioTrack(undefined, 960_000)] });
    expect(checks.filter((check) => !check.passed)).toEqual([]);
    expect(checks.find((check) => check.name === 'total-duration')?.detail).toBe(
      '19.500000 s of presentation for 19.500000 s decoded from the source (+0.000 ms; tolerance 1 sample, 0.021 ms)',
    );
  });

  it('counts the silence in the audio-duration check: decoded samples plus the pad, to the sample', () => {
    const decoded = (pad: number | undefined): PackageParams => ({
      ...lateSource,
      audio: {
        ...lateSource.audio!,
        decodedSamples: 936_000,
        decodedSampleRate: AUDIO_SCALE,
        durationSource: 'decoded',
        ...(pad === undefined ? {} : { leadingSilenceSamples: pad }),
      },
    });
    const track = { ...good(), audio: [audioTrack(undefined, 960_000)] };
    const checks = validate(decoded(PAD), track);
    expect(checks.find((check) => check.name === 'audio-duration')).toEqual({
      name: 'audio-duration',
      passed: true,
      detail:
        '960000 samples (20.000000 s) of audio for the 936000 (19.500000 s) the audio step decoded from the source and 24000 of leading silence (+0 at 48000 Hz; tolerance 1 sample: each step resamples on its own)',
    });
    expect(failing(track, decoded(PAD + 1))['audio-duration']).toBeUndefined();
    expect(failing(track, decoded(PAD - 2))['audio-duration']).toMatch(/\(\+2 at 48000 Hz;/);
    // Silence nobody recorded is audio the source does not have.
    expect(failing(track, decoded(undefined))['audio-duration']).toMatch(/\(\+24000 at 48000 Hz;/);
  });
});
