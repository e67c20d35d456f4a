/**
 * Loudness measurement with ffmpeg's ebur128 filter (ITU-R BS.1770-4 / EBU R128, Tech 3341 and 3342), read two ways:
 *  - metadata=1 splits the stream into 100 ms frames tagged with momentary (400 ms), integrated and LRA values to
 *    three decimals; ametadata prints them on a pipe. The momentary values are BS.1770's gating blocks (400 ms,
 *    75 % overlap), which is what the preview window is chosen from;
 *  - the summary on stderr carries the true peak (4× oversampled) and sample peak in dB, including "-inf" for
 *    digital silence, which the three-decimal linear metadata cannot express.
 * silencedetect rides in the same chain, so one pass measures everything.
 */
import { pipeUrl } from './ffmpeg.ts';

/** Below −60 dBFS on every channel for 2 s counts as a silent passage (room tone of a quiet recording sits above). */
export const SILENCE_NOISE_DB = -60;
export const SILENCE_MIN_SECONDS = 2;
/** ebur128's metadata frames and BS.1770's block hop: 100 ms. */
export const BLOCK_HOP_SECONDS = 0.1;
/** BS.1770 gating block length. */
export const BLOCK_SECONDS = 0.4;
/** BS.1770-4 absolute gate: blocks below −70 LUFS never count. ebur128 reports exactly this when none passes. */
export const ABSOLUTE_GATE_LUFS = -70;
/** ebur128's three-decimal linear peaks resolve 0.01 dB near full scale but only ~0.5 dB at −40 dBFS; trust them above −20. */
const PRECISE_LINEAR_PEAK = 0.1;

/** A type rather than an interface, so it is a DocData value as it is. */
export type SilenceRange = {
  readonly start: number;
  readonly end: number;
};

export interface LoudnessMeasurement {
  /** null when no block passes the absolute gate: digital silence, or too short or too quiet to measure. */
  readonly integratedLufs: number | null;
  readonly loudnessRangeLu: number;
  /** null for digital silence (−∞). */
  readonly truePeakDbtp: number | null;
  readonly samplePeakDbfs: number | null;
  /** Momentary loudness of the 400 ms block starting at k × 100 ms. */
  readonly blocks: Float64Array;
  /** Seconds the filter saw, to 100 ms. */
  readonly durationSeconds: number;
  readonly silences: readonly SilenceRange[];
}

export interface LoudnessFilterOptions {
  /** A mono rendition plays on two speakers: measure it as dual mono (+3 dB), as ebur128's dualmono does. */
  readonly dualMono: boolean;
  readonly silence: boolean;
  /** The process fd the metadata is printed to. */
  readonly fd: number;
}

/** The filter chain (no trailing sink) that measures and prints to `pipe:<fd>`. */
export function loudnessFilter(options: LoudnessFilterOptions): string {
  const ebur128 = `ebur128=peak=true+sample:metadata=1:framelog=verbose${options.dualMono ? ':dualmono=true' : ''}`;
  const silence = options.silence ? `,silencedetect=noise=${SILENCE_NOISE_DB}dB:duration=${SILENCE_MIN_SECONDS}` : '';
  return `${ebur128}${silence},ametadata=mode=print:file=${pipeUrl(options.fd)}`;
}

/** Reads ametadata's print stream line by line, keeping only what the measurement needs. */
export class LoudnessCollector {
  #partial = '';
  #frames = 0;
  #momentary: number[] = [];
  #integrated: number | undefined;
  #range = 0;
  #truePeak = 0;
  #samplePeak = 0;
  #openSilence: number | undefined;
  #silences: SilenceRange[] = [];

  push(chunk: string): void {
    const text = this.#partial + chunk;
    const lines = text.split('\n');
    this.#partial = lines.pop() ?? '';
    for (const line of lines) this.#line(line);
  }

  #line(line: string): void {
    if (line.startsWith('frame:')) {
      this.#frames++;
      return;
    }
    const equals = line.indexOf('=');
    if (equals < 0) return;
    const key = line.slice(0, equals);
    const value = Number.parseFloat(line.slice(equals + 1));
    if (!Number.isFinite(value)) return;
    switch (key) {
      case 'lavfi.r128.M':
        this.#momentary.push(value);
        break;
      case 'lavfi.r128.I':
        this.#integrated = value;
        break;
      case 'lavfi.r128.LRA':
        this.#range = value;
        break;
      case 'lavfi.r128.true_peak':
        this.#truePeak = Math.max(this.#truePeak, value);
        break;
      case 'lavfi.r128.sample_peak':
        this.#samplePeak = Math.max(this.#samplePeak, value);
        break;
      case 'lavfi.silence_start':
        this.#openSilence = value;
        break;
      case 'lavfi.silence_end':
        this.#silences.push({ start: this.#openSilence ?? 0, end: value });
        this.#openSilence = undefined;
        break;
    }
  }

  /** stderr: the process's output, whose ebur128 summary gives the peaks in dB. */
  finish(stderr: string): LoudnessMeasurement {
    if (this.#partial !== '') this.#line(this.#partial);
    this.#partial = '';
    const durationSeconds = round(this.#frames * BLOCK_HOP_SECONDS, 1);
    const summary = parseSummary(stderr);
    const integrated = this.#integrated ?? summary.integrated;
    const silences = [...this.#silences];
    // silencedetect reports no end for silence that lasts to the end of the stream.
    if (this.#openSilence !== undefined) silences.push({ start: this.#openSilence, end: durationSeconds });
    return {
      integratedLufs: integrated === undefined || integrated <= ABSOLUTE_GATE_LUFS ? null : integrated,
      loudnessRangeLu: this.#range,
      truePeakDbtp: refinePeak(summary.truePeak, this.#truePeak),
      samplePeakDbfs: refinePeak(summary.samplePeak, this.#samplePeak),
      // ebur128 starts printing momentary values at the first 100 ms; the first three fill its 400 ms window
      // with zeros, so they are not blocks (BS.1770 blocks start at t = 0 and span 400 ms).
      blocks: Float64Array.from(this.#momentary.slice(BLOCK_SECONDS / BLOCK_HOP_SECONDS - 1)),
      durationSeconds,
      silences,
    };
  }
}

interface Summary {
  readonly integrated?: number;
  /** dB; -Infinity for "-inf"; undefined when ffmpeg printed no summary. */
  readonly truePeak?: number;
  readonly samplePeak?: number;
}

/** The last "Summary:" block ebur128 printed (a process that measured one stream prints one). */
export function parseSummary(stderr: string): Summary {
  const at = stderr.lastIndexOf('Summary:');
  if (at < 0) return {};
  const text = stderr.slice(at);
  const number = (pattern: RegExp): number | undefined => {
    const match = pattern.exec(text)?.[1];
    if (match === undefined) return undefined;
    return match === '-inf' ? Number.NEGATIVE_INFINITY : Number.parseFloat(match);
  };
  return {
    integrated: number(/Integrated loudness:\s+I:\s+(-?[\d.]+|-inf) LUFS/),
    samplePeak: number(/Sample peak:\s+Peak:\s+(-?[\d.]+|-inf) dBFS/),
    truePeak: number(/True peak:\s+Peak:\s+(-?[\d.]+|-inf) dBFS/),
  };
}

/**
 * The summary's dB value (one decimal, and the only one that covers the stream's last partial 100 ms), sharpened
 * by the metadata's linear peak where that is precise and agrees with it to the summary's rounding.
 */
export function refinePeak(summaryDb: number | undefined, linear: number): number | null {
  const fromLinear = linear > 0 ? 20 * Math.log10(linear) : Number.NEGATIVE_INFINITY;
  if (summaryDb === undefined) return Number.isFinite(fromLinear) ? round(fromLinear, 2) : null;
  if (!Number.isFinite(summaryDb)) return null;
  if (linear >= PRECISE_LINEAR_PEAK && Math.abs(fromLinear - summaryDb) <= 0.05) return round(fromLinear, 2);
  return summaryDb;
}

/**
 * Integrated loudness of blocks (LUFS each) per BS.1770-4 §2.7: absolute gate −70, then relative gate −10 LU.
 * weights scale each block's energy first (a fade's mean square gain over the block), as if the audio had been faded.
 */
export function gatedLoudness(blocks: ArrayLike<number>, weights?: ArrayLike<number>): number | null {
  const energies: number[] = [];
  for (let i = 0; i < blocks.length; i++) {
    const energy = toEnergy(blocks[i]!) * (weights ? weights[i]! : 1);
    if (toLufs(energy) > ABSOLUTE_GATE_LUFS) energies.push(energy);
  }
  if (energies.length === 0) return null;
  const relativeGate = toLufs(mean(energies)) - 10;
  const gated = energies.filter((energy) => toLufs(energy) > relativeGate);
  return gated.length > 0 ? toLufs(mean(gated)) : null;
}

/** BS.1770: L = −0.691 + 10·log10(Σ G·z); the inverse gives the block's weighted mean square. */
export function toEnergy(lufs: number): number {
  return 10 ** ((lufs + 0.691) / 10);
}

export function toLufs(energy: number): number {
  return energy > 0 ? -0.691 + 10 * Math.log10(energy) : Number.NEGATIVE_INFINITY;
}

function mean(values: readonly number[]): number {
  let sum = 0;
  for (const value of values) sum += value;
  return sum / values.length;
}

export function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
