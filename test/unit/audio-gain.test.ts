/**
 * The audio step's decisions as pure functions: playback gain and its headroom limit, the limiter trigger, the
 * tags each format gets, the downmix matrix, and the QC verdicts.
 */
import { describe, expect, it } from 'vitest';
import { channelPlan, downmixMatrix, MINUS_3_DB, panFilter } from '../../functions/audio/downmix.ts';
import { formatDb, mp4LoudnessTags, needsLimiter, opusLoudnessTags, playbackGain, q78 } from '../../functions/audio/gain.ts';
import type { LoudnessMeasurement } from '../../functions/audio/loudness.ts';
import { judge } from '../../functions/audio/qc.ts';

describe('playbackGain (Spotify: positive gain only up to the true-peak headroom)', () => {
  it.each([
    ['a loud master is turned down, never limited', -9, 0.5, { gainDb: -5, idealGainDb: -5, headroomLimited: false }],
    ['a quiet one is turned up while the peaks allow', -20, -8, { gainDb: 6, idealGainDb: 6, headroomLimited: false }],
    ['the peaks stop it short', -28, -5, { gainDb: 4, idealGainDb: 14, headroomLimited: true }],
    ['peaks already over the ceiling: 0 dB, never a cut', -16, 0.3, { gainDb: 0, idealGainDb: 2, headroomLimited: true }],
  ])('%s', (_what, integrated, truePeak, expected) => {
    expect(playbackGain(-14, integrated, truePeak, -1)).toEqual(expected);
  });

  it('gives silence 0 dB: no measurement, no gain, and never an infinite one', () => {
    expect(playbackGain(-14, null, null, -1)).toEqual({ gainDb: 0, idealGainDb: 0, headroomLimited: false });
  });
});

describe('needsLimiter', () => {
  it('triggers when peak plus gain passes the ceiling less the codec headroom (1 dB)', () => {
    expect(needsLimiter(-6, 3.9, -1)).toBe(false);
    expect(needsLimiter(-6, 4.1, -1)).toBe(true);
    expect(needsLimiter(null, 40, -1)).toBe(false);
  });
});

describe('loudness tags', () => {
  it('Opus: R128_TRACK_GAIN in Q7.8 to −23 LUFS (RFC 7845 §5.2.1), no ReplayGain', () => {
    expect(q78(-9)).toBe(-2304);
    expect(q78(1000)).toBe(32767);
    expect(opusLoudnessTags({ integratedLufs: -14, truePeakDbtp: -1.5, playbackGainDb: 0, targetLufs: -14 })).toEqual({
      R128_TRACK_GAIN: '-2304',
      MEDIAFLOW_PLAYBACK_GAIN: '+0.00 dB',
      MEDIAFLOW_TARGET_LOUDNESS: '-14.0 LUFS',
    });
  });

  it('M4A: ReplayGain 2.0 to −18 LUFS with the true peak as a linear amplitude', () => {
    expect(mp4LoudnessTags({ integratedLufs: -23, truePeakDbtp: -6.02, playbackGainDb: 4.5, targetLufs: -14 })).toEqual({
      replaygain_track_gain: '+5.00 dB',
      replaygain_track_peak: '0.500035',
      MEDIAFLOW_PLAYBACK_GAIN: '+4.50 dB',
      MEDIAFLOW_TARGET_LOUDNESS: '-14.0 LUFS',
    });
    expect(formatDb(-0.5)).toBe('-0.50 dB');
  });

  it('silence gets no loudness tags at all', () => {
    expect(opusLoudnessTags({ integratedLufs: null, truePeakDbtp: null, playbackGainDb: 0, targetLufs: -14 })).toEqual({});
    expect(mp4LoudnessTags({ integratedLufs: null, truePeakDbtp: null, playbackGainDb: 0, targetLufs: -14 })).toEqual({});
  });
});

describe('channel plan', () => {
  it('folds 5.1 to Lo/Ro with ITU-R BS.775 coefficients and drops the LFE', () => {
    expect(downmixMatrix('5.1')).toEqual([
      ['FL', 1, 0],
      ['FR', 0, 1],
      ['FC', MINUS_3_DB, MINUS_3_DB],
      ['LFE', 0, 0],
      ['BL', MINUS_3_DB, 0],
      ['BR', 0, MINUS_3_DB],
    ]);
    expect(channelPlan(6, '5.1(side)', 'keep').filter).toBe('pan=stereo|c0=1*c0+0.707107*c2+0.707107*c4|c1=1*c1+0.707107*c2+0.707107*c5');
    expect(panFilter(['FL', 'FR', 'FC', 'LFE', 'BC'])).toBe('pan=stereo|c0=1*c0+0.707107*c2+0.5*c4|c1=1*c1+0.707107*c2+0.5*c4');
  });

  it('keeps mono unless the profile asks for two channels, and leaves stereo alone', () => {
    expect(channelPlan(1, 'mono', 'keep')).toMatchObject({ outputChannels: 1, filter: '' });
    expect(channelPlan(1, 'mono', 'stereo')).toMatchObject({ outputChannels: 2, filter: 'pan=stereo|c0=c0|c1=c0' });
    expect(channelPlan(2, 'stereo', 'keep')).toMatchObject({ outputChannels: 2, filter: '' });
  });

  it("assumes ffmpeg's default layout for an unlabelled stream, and lets libswresample fold exotic ones", () => {
    expect(channelPlan(6, undefined, 'keep').description).toMatch(/^5\.1 downmixed/);
    expect(channelPlan(24, '22.2', 'keep').filter).toMatch(/^aresample=out_chlayout=stereo:.*lfe_mix_level=0$/);
  });
});

describe('judge (QC after encode)', () => {
  const measured = (integratedLufs: number | null, truePeakDbtp: number | null): LoudnessMeasurement => ({
    integratedLufs,
    truePeakDbtp,
    samplePeakDbfs: truePeakDbtp,
    loudnessRangeLu: 0,
    blocks: new Float64Array(),
    durationSeconds: 10,
    silences: [],
  });
  const tagged = { targetLufs: -14, achievableLufs: -14, playbackGainDb: 9, idealGainDb: 9, ceilingDbtp: -1 };

  it('passes a rendition within ±0.5 LU of its target and under the ceiling, judged at playback', () => {
    expect(judge(measured(-23.4, -14), tagged)).toMatchObject({ status: 'pass', playbackLufs: -14.4, playbackTruePeakDbtp: -5, reason: null });
  });

  it('calls a gain held back by headroom what it is, with the numbers', () => {
    const verdict = judge(measured(-28, -5), {
      ...tagged,
      achievableLufs: -24,
      playbackGainDb: 4,
      idealGainDb: 14,
      limitedBecause: "the source's true peak (-5 dBTP)",
    });
    expect(verdict.status).toBe('headroom-limited');
    expect(verdict.reason).toBe("gain limited to 4.0 dB (of 14.0 dB) by the source's true peak (-5 dBTP); plays at -24.0 LUFS instead of -14.0");
  });

  it('fails a rendition that misses without a reason, or peaks over the ceiling', () => {
    expect(judge(measured(-24, -14), tagged)).toMatchObject({ status: 'fail', reason: 'plays at -15.0 LUFS, -1.0 LU from the -14.0 LUFS target (±0.5)' });
    expect(judge(measured(-14, -0.6), { ...tagged, playbackGainDb: 0, idealGainDb: 0 })).toMatchObject({
      status: 'fail',
      reason: 'true peak -0.6 dBTP at playback is above the -1.0 dBTP ceiling',
    });
  });

  it('marks silence as silent rather than failing it', () => {
    expect(judge(measured(null, null), { ...tagged, targetLufs: null, achievableLufs: null, playbackGainDb: 0, idealGainDb: 0 })).toMatchObject({
      status: 'silent',
    });
  });
});
