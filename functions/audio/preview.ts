/**
 * The preview clip: the loudest window of the track by mean block energy, which favours a sustained loud section
 * (a chorus) over a single hit, and a window of music over one that starts or ends in silence. Computed from the
 * BS.1770 gating blocks the measurement already has, so choosing it costs no extra decode.
 */
import { ABSOLUTE_GATE_LUFS, BLOCK_HOP_SECONDS, BLOCK_SECONDS, gatedLoudness, round, toEnergy } from './loudness.ts';
import type { PreviewSettings } from './profiles.ts';

/** Points per 400 ms block when averaging a fade's gain: 10 ms steps, far finer than a 1 s fade changes. */
const FADE_SAMPLES_PER_BLOCK = 40;
/** Relative difference below which two windows count as equally loud. */
const TIE_TOLERANCE = 1e-9;
/** Fades never take more than half the clip, so a clip of a short track still has a body. */
const MAX_FADE_SHARE = 0.5;

export interface PreviewWindow {
  readonly startSeconds: number;
  readonly durationSeconds: number;
  readonly fadeInSeconds: number;
  readonly fadeOutSeconds: number;
  /** Integrated loudness of the window in the source, and what the clip should measure once faded. */
  readonly sourceLufs: number | null;
  readonly expectedLufs: number | null;
}

export function choosePreviewWindow(blocks: ArrayLike<number>, trackSeconds: number, settings: PreviewSettings): PreviewWindow {
  const duration = round(Math.min(settings.seconds, Math.max(trackSeconds, 0)), 1);
  const perWindow = Math.floor(round((duration - BLOCK_SECONDS) / BLOCK_HOP_SECONDS, 6)) + 1;
  const lastStart = Math.floor(round((trackSeconds - duration) / BLOCK_HOP_SECONDS, 6));
  let best = 0;
  if (perWindow > 0 && lastStart > 0) {
    // Prefix sums of gated block energy: every window's mean in O(1). Blocks under the absolute gate count as 0.
    const prefix = new Float64Array(blocks.length + 1);
    for (let i = 0; i < blocks.length; i++) prefix[i + 1] = prefix[i]! + (blocks[i]! > ABSOLUTE_GATE_LUFS ? toEnergy(blocks[i]!) : 0);
    let bestSum = -1;
    for (let start = 0; start <= lastStart && start + perWindow <= blocks.length; start++) {
      const sum = prefix[start + perWindow]! - prefix[start]!;
      // Equal windows differ in the last bits of a prefix sum; only a real gain moves the choice, so ties go early.
      if (sum > bestSum * (1 + TIE_TOLERANCE)) {
        bestSum = sum;
        best = start;
      }
    }
  }
  const startSeconds = round(best * BLOCK_HOP_SECONDS, 1);
  const fades = fitFades(duration, settings.fadeInSeconds, settings.fadeOutSeconds);
  const inside = Array.from(blocks).slice(best, best + Math.max(perWindow, 0));
  const weights = inside.map((_, i) => meanSquareGain(i * BLOCK_HOP_SECONDS, duration, fades.fadeIn, fades.fadeOut));
  return {
    startSeconds,
    durationSeconds: duration,
    fadeInSeconds: fades.fadeIn,
    fadeOutSeconds: fades.fadeOut,
    sourceLufs: roundOrNull(gatedLoudness(inside)),
    expectedLufs: roundOrNull(gatedLoudness(inside, weights)),
  };
}

function fitFades(duration: number, fadeIn: number, fadeOut: number): { fadeIn: number; fadeOut: number } {
  const total = fadeIn + fadeOut;
  const room = duration * MAX_FADE_SHARE;
  if (total <= room || total === 0) return { fadeIn, fadeOut };
  const scale = room / total;
  return { fadeIn: round(fadeIn * scale, 2), fadeOut: round(fadeOut * scale, 2) };
}

/** afade's qsin curve: gain = sin(progress · π/2), with progress counting down through a fade-out. */
export function fadeGain(t: number, duration: number, fadeIn: number, fadeOut: number): number {
  let gain = 1;
  if (fadeIn > 0 && t < fadeIn) gain *= Math.sin((Math.max(t, 0) / fadeIn) * (Math.PI / 2));
  const outStart = duration - fadeOut;
  if (fadeOut > 0 && t > outStart) gain *= Math.sin((Math.max(duration - t, 0) / fadeOut) * (Math.PI / 2));
  return gain;
}

function meanSquareGain(blockStart: number, duration: number, fadeIn: number, fadeOut: number): number {
  let sum = 0;
  for (let i = 0; i < FADE_SAMPLES_PER_BLOCK; i++) {
    const gain = fadeGain(blockStart + ((i + 0.5) / FADE_SAMPLES_PER_BLOCK) * BLOCK_SECONDS, duration, fadeIn, fadeOut);
    sum += gain * gain;
  }
  return sum / FADE_SAMPLES_PER_BLOCK;
}

/** The fade filters for a clip that starts at 0 (after atrim/asetpts, or an input seek). */
export function fadeFilter(window: PreviewWindow): string {
  const filters: string[] = [];
  if (window.fadeInSeconds > 0) filters.push(`afade=t=in:st=0:d=${window.fadeInSeconds}:curve=qsin`);
  if (window.fadeOutSeconds > 0) {
    filters.push(`afade=t=out:st=${round(window.durationSeconds - window.fadeOutSeconds, 3)}:d=${window.fadeOutSeconds}:curve=qsin`);
  }
  return filters.join(',');
}

function roundOrNull(value: number | null): number | null {
  return value === null ? null : round(value, 2);
}
