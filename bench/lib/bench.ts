/**
 * What a bench is and how its figures are printed. Benches report numbers for a person to compare, always next
 * to a baseline measured in the same process, so a slow machine shows up in both columns instead of as a regression.
 */
import os from 'node:os';

export interface Bench {
  readonly name: string;
  /** Runs the workload and returns the printed report: plain-text tables, ready to paste into an issue. */
  run(): Promise<string>;
}

/** Figures only mean something next to the machine that produced them. */
export function machineContext(): string {
  const cpus = os.cpus();
  const model = cpus[0]?.model.trim() ?? 'unknown CPU';
  return `node ${process.version} · ${os.platform()} ${os.arch()} · ${cpus.length} × ${model} · ${formatFixed(os.totalmem() / 2 ** 30, 1)} GiB RAM`;
}

/** A positive integer from the environment, or the default; anything else is a typo worth stopping for. */
export function positiveIntFromEnv(key: string, fallback: number): number {
  const raw = process.env[key]?.trim();
  if (!raw) return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`${key} must be a positive integer, got '${raw}'`);
  return value;
}

export function formatCount(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

export function formatFixed(value: number, digits: number): string {
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** Milliseconds with enough digits to tell sub-millisecond hops apart, without false precision on long ones. */
export function formatMs(value: number): string {
  return formatFixed(value, value < 10 ? 2 : value < 100 ? 1 : 0);
}

/** Two significant figures: a ratio says "how many times", not a measurement to the last digit. */
export function formatRatio(value: number, baseline: number): string {
  if (!(baseline > 0) || !Number.isFinite(value)) return '–';
  const ratio = value / baseline;
  const digits = ratio >= 100 ? ratio.toFixed(0) : ratio >= 10 ? ratio.toFixed(1) : ratio >= 0.01 ? ratio.toFixed(2) : ratio.toPrecision(2);
  return `${digits}×`;
}
