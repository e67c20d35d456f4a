/** Flags shared by every command, and how they become a Config. */
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
