/**
 * The audio step's measurement plumbing on hand-written ffmpeg output: ebur128's metadata stream and summary,
 * BS.1770 gating, the preview window, and the silence summary.
 */
import { describe, expect, it } from 'vitest';
import { gatedLoudness, LoudnessCollector, parseSummary, refinePeak, toEnergy, toLufs } from '../../functions/audio/loudness.ts';
import { choosePreviewWindow, fadeFilter, fadeGain } from '../../functions/audio/preview.ts';
import { summarizeSilence } from '../../functions/audio/silence.ts';

const SUMMARY = `[Parsed_ebur128_0 @ 0x55] Summary:

  Integrated loudness:
    I:         -23.0 LUFS
    Threshold: -33.0 LUFS

  Loudness range:
    LRA:         0.0 LU
    Threshold:   0.0 LUFS
    LRA low:     0.0 LUFS
    LRA high:    0.0 LUFS

  Sample peak:
    Peak:      -23.0 dBFS

  True peak:
    Peak:      -22.9 dBFS
`;

/** ametadata's print format: one frame header, then key=value lines. */
function frames(values: { M: number; I: number; tp?: number; sp?: number; extra?: string }[]): string {
  return values
    .map((v, k) =>
      [
        `frame:${k}    pts:${k * 4800}    pts_time:${(k / 10).toFixed(1)}`,
        `lavfi.r128.M=${v.M.toFixed(3)}`,
        `lavfi.r128.S=${v.M.toFixed(3)}`,
        `lavfi.r128.I=${v.I.toFixed(3)}`,
        'lavfi.r128.LRA=0.000',
        `lavfi.r128.sample_peak=${(v.sp ?? 0.071).toFixed(3)}`,
        `lavfi.r128.true_peak=${(v.tp ?? 0.071).toFixed(3)}`,
        ...(v.extra ? [v.extra] : []),
      ].join('\n'),
    )
    .join('\n');
}

describe('LoudnessCollector', () => {
  it('keeps the three-decimal integrated loudness, drops the three zero-filled first blocks, and reads the summary peaks', () => {
    const collector = new LoudnessCollector();
    const text = frames([
      { M: -120.691, I: -70 },
      { M: -120.691, I: -70 },
      { M: -120.691, I: -70 },
      { M: -23.01, I: -23.01 },
      { M: -23, I: -23.006 },
    ]);
    // Chunks split anywhere, even inside a line.
    collector.push(text.slice(0, 37));
    collector.push(text.slice(37));
    const measurement = collector.finish(SUMMARY);
    expect(measurement.integratedLufs).toBe(-23.006);
    expect(Array.from(measurement.blocks)).toEqual([-23.01, -23]);
    expect(measurement.durationSeconds).toBe(0.5);
    expect(measurement.samplePeakDbfs).toBe(-23);
    // 0.071 is under 0.1 (−20 dBFS), where three decimals are coarser than the summary's one decimal of dB.
    expect(measurement.truePeakDbtp).toBe(-22.9);
  });

  it('reports digital silence as null loudness and peaks, not −70 or −∞', () => {
    const collector = new LoudnessCollector();
    collector.push(
      `${frames([
        { M: -120.7, I: -70, tp: 0, sp: 0 },
        { M: -120.7, I: -70, tp: 0, sp: 0 },
      ])}\n`,
    );
    const silent = SUMMARY.replace('I:         -23.0', 'I:         -70.0').replaceAll(/Peak:\s+-2\d\.\d dBFS/g, 'Peak:       -inf dBFS');
    expect(collector.finish(silent)).toMatchObject({ integratedLufs: null, truePeakDbtp: null, samplePeakDbfs: null });
  });

  it('pairs silencedetect starts and ends, and closes a silence that runs to the end', () => {
    const collector = new LoudnessCollector();
    const values = Array.from({ length: 80 }, (_, k) => ({
      M: -20,
      I: -20,
      extra:
        k === 19
          ? 'lavfi.silence_start=1'
          : k === 35
            ? 'lavfi.silence_end=3.50002\nlavfi.silence_duration=2.5'
            : k === 69
              ? 'lavfi.silence_start=6'
              : undefined,
    }));
    collector.push(frames(values));
    const measurement = collector.finish(SUMMARY);
    expect(measurement.silences).toEqual([
      { start: 1, end: 3.50002 },
      { start: 6, end: 8 },
    ]);
    expect(summarizeSilence(measurement)).toMatchObject({ passageCount: 2, totalSeconds: 4.5, leadingSeconds: 0, trailingSeconds: 2 });
  });
});

describe('parseSummary and refinePeak', () => {
  it('reads -inf as −∞ and takes the precise linear peak only where it agrees with the summary', () => {
    expect(parseSummary(SUMMARY)).toEqual({ integrated: -23, samplePeak: -23, truePeak: -22.9 });
    expect(parseSummary('no summary here')).toEqual({});
    expect(refinePeak(-1, 0.891)).toBe(-1);
    expect(refinePeak(-1, 0.89)).toBe(-1.01);
    expect(refinePeak(Number.NEGATIVE_INFINITY, 0)).toBeNull();
    // Below 0.1 (−20 dBFS) three decimals are too coarse; the summary's one decimal is better.
    expect(refinePeak(-44.1, 0.006)).toBe(-44.1);
    expect(refinePeak(undefined, 0.5)).toBe(-6.02);
  });
});

describe('gatedLoudness (BS.1770-4 §2.7)', () => {
  it('drops blocks under −70 LUFS, then blocks 10 LU under the ungated mean', () => {
    expect(gatedLoudness([-23, -23, -23])).toBeCloseTo(-23, 6);
    expect(gatedLoudness([-23, -80, -23])).toBeCloseTo(-23, 6);
    // −40 is more than 10 LU under the mean of {−20, −40}, so only −20 counts.
    expect(gatedLoudness([-20, -40])).toBeCloseTo(-20, 6);
    expect(gatedLoudness([-75, -90])).toBeNull();
  });

  it('weights scale block energy before gating, as a fade would', () => {
    expect(gatedLoudness([-20, -20], [1, 0.5])).toBeCloseTo(toLufs((toEnergy(-20) * 1.5) / 2), 6);
  });
});

describe('choosePreviewWindow', () => {
  const settings = { seconds: 30, kbps: 96, fadeInSeconds: 1, fadeOutSeconds: 2 };

  it('finds the loud section: 40 s of verse at −24, a 30 s chorus at −14, more verse', () => {
    const blocks = [...new Array<number>(400).fill(-24), ...new Array<number>(300).fill(-14), ...new Array<number>(500).fill(-24)];
    const window = choosePreviewWindow(blocks, 120.3, settings);
    expect(window).toMatchObject({ startSeconds: 40, durationSeconds: 30, fadeInSeconds: 1, fadeOutSeconds: 2 });
    expect(window.sourceLufs!).toBeCloseTo(-14, 1);
    // Fading 3 s of a steady 30 s programme costs a little over 0.2 LU.
    expect(window.expectedLufs!).toBeLessThan(-14.1);
    expect(window.expectedLufs!).toBeGreaterThan(-14.5);
  });

  it('prefers a sustained loud window to one loud hit, and music to silence', () => {
    const hit = [...new Array<number>(100).fill(-60), -3, ...new Array<number>(99).fill(-60), ...new Array<number>(400).fill(-20)];
    expect(choosePreviewWindow(hit, 60.3, { ...settings, seconds: 10 }).startSeconds).toBeGreaterThanOrEqual(20);
  });

  it('takes the whole of a short track, with fades shrunk to half of it', () => {
    const window = choosePreviewWindow(new Array<number>(37).fill(-20), 4, settings);
    expect(window).toMatchObject({ startSeconds: 0, durationSeconds: 4, fadeInSeconds: 0.67, fadeOutSeconds: 1.33 });
    expect(fadeFilter(window)).toBe('afade=t=in:st=0:d=0.67:curve=qsin,afade=t=out:st=2.67:d=1.33:curve=qsin');
  });

  it("models afade's qsin curve", () => {
    expect(fadeGain(0, 30, 1, 2)).toBe(0);
    expect(fadeGain(0.5, 30, 1, 2)).toBeCloseTo(Math.SQRT1_2, 6);
    expect(fadeGain(15, 30, 1, 2)).toBe(1);
    expect(fadeGain(29, 30, 1, 2)).toBeCloseTo(Math.SQRT1_2, 6);
    expect(fadeGain(30, 30, 1, 2)).toBe(0);
  });
});
