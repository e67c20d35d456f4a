/**
 * Waveform peaks in BBC audiowaveform's JSON format, version 2 (what peaks.js reads): per pixel a min and a max
 * over `samples_per_pixel` samples, for one channel mixed down as audiowaveform does by default. Built from a
 * 16-bit mono PCM stream that the single-decode graph emits, so it costs no decode of its own.
 */
import type { WaveformSettings } from './profiles.ts';

/** audiowaveform's JSON layout, version 2. */
export interface WaveformJson {
  readonly version: 2;
  readonly channels: 1;
  readonly sample_rate: number;
  readonly samples_per_pixel: number;
  readonly bits: 8 | 16;
  readonly length: number;
  /** min, max per pixel. */
  readonly data: number[];
}

export function samplesPerPixel(sampleRate: number, settings: Pick<WaveformSettings, 'pixelsPerSecond'>): number {
  return Math.max(1, Math.round(sampleRate / settings.pixelsPerSecond));
}

/** Mixes channels to one by averaging, as audiowaveform does without --split-channels. */
export function monoMixFilter(channels: 1 | 2): string {
  return channels === 2 ? 'pan=mono|c0=0.5*c0+0.5*c1' : 'anull';
}

export class PeakAccumulator {
  readonly #samplesPerPixel: number;
  readonly #mins: number[] = [];
  readonly #maxes: number[] = [];
  #carry: Buffer | undefined;
  #count = 0;
  #min = 0;
  #max = 0;
  #samples = 0;

  constructor(samplesPerPixel: number) {
    this.#samplesPerPixel = samplesPerPixel;
  }

  /** Signed 16-bit little-endian samples; a chunk may end inside a sample. */
  push(chunk: Buffer): void {
    const data = this.#carry ? Buffer.concat([this.#carry, chunk]) : chunk;
    const whole = data.length - (data.length % 2);
    this.#carry = whole < data.length ? Buffer.from(data.subarray(whole)) : undefined;
    for (let offset = 0; offset < whole; offset += 2) {
      const sample = data.readInt16LE(offset);
      if (this.#count === 0) {
        this.#min = sample;
        this.#max = sample;
      } else if (sample < this.#min) {
        this.#min = sample;
      } else if (sample > this.#max) {
        this.#max = sample;
      }
      if (++this.#count === this.#samplesPerPixel) this.#flush();
    }
    this.#samples += whole / 2;
  }

  get samples(): number {
    return this.#samples;
  }

  #flush(): void {
    this.#mins.push(this.#min);
    this.#maxes.push(this.#max);
    this.#count = 0;
  }

  /** audiowaveform's 8-bit data is the 16-bit value shifted right by 8. */
  finish(sampleRate: number, bits: 8 | 16): WaveformJson {
    if (this.#count > 0) this.#flush();
    const scale = (value: number): number => (bits === 8 ? value >> 8 : value);
    const data: number[] = [];
    for (let i = 0; i < this.#mins.length; i++) data.push(scale(this.#mins[i]!), scale(this.#maxes[i]!));
    return { version: 2, channels: 1, sample_rate: sampleRate, samples_per_pixel: this.#samplesPerPixel, bits, length: this.#mins.length, data };
  }
}
