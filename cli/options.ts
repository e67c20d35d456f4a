/** Flags shared by every command, and how they become a Config. */
import os from 'node:os';
import { loadConfig, type Config } from '../shared/config/config.ts';

export const DEFAULT_OUT_DIR = 'mediaflow-data';

export function cliConfig(out: string | undefined, verbose: boolean): Config {
  return loadConfig(
    { ...process.env, MEDIAFLOW_LOG_LEVEL: process.env.MEDIAFLOW_LOG_LEVEL ?? (verbose ? 'info' : 'error') },
    { dataDir: out ?? process.env.MEDIAFLOW_DATA_DIR ?? DEFAULT_OUT_DIR },
  );
}

/** A usage problem: printed without a stack, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** `--since`: an ISO 8601 date or time, or a span back from now (`90m`, `24h`, `7d`). */
export function parseSince(value: string | undefined, now: Date): Date | undefined {
  if (value === undefined) return undefined;
  const span = /^(\d+)([mhd])$/.exec(value.trim());
  if (span) {
    const unitMs = { m: 60_000, h: 3_600_000, d: 86_400_000 }[span[2] as 'm' | 'h' | 'd'];
    return new Date(now.getTime() - Number(span[1]) * unitMs);
  }
  const date = new Date(value);
  if (Number.isNaN(date.getTime()))
    throw new UsageError(`--since must be a date or time (ISO 8601, e.g. 2026-12-06T15:00:00Z) or a span (24h, 7d), got '${value}'`);
  return date;
}

/** Who runs a command that changes assets (a replay, a reprocess), as records and asset histories name them. */
export function operator(): string {
  let user: string;
  try {
    user = os.userInfo().username;
  } catch {
    user = process.env.USER ?? 'unknown';
  }
  return `${user}@${os.hostname()}`;
}
