/**
 * Structured logs: one JSON object per line on stderr, with the `severity` and `message` fields Cloud Logging
 * reads, so the same lines are searchable on Cloud Run and readable in a terminal.
 */
import type { LogLevel } from '../config/config.ts';

export type LogFields = Readonly<Record<string, unknown>>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

/**
 * Longest string a log field keeps. Object names, error text and event ids are a stranger's; a 2 MB object name must
 * not become a 2 MB line (Cloud Logging truncates entries past 256 KB, and bills every byte).
 */
export const MAX_LOG_STRING_CHARS = 2000;

function bounded(_key: string, value: unknown): unknown {
  return typeof value === 'string' && value.length > MAX_LOG_STRING_CHARS ? `${value.slice(0, MAX_LOG_STRING_CHARS)}… (${value.length} chars)` : value;
}

const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };
const severity = { debug: 'DEBUG', info: 'INFO', warn: 'WARNING', error: 'ERROR' } as const;

export function createLogger(level: LogLevel, base: LogFields = {}, write: (line: string) => void = (line) => process.stderr.write(`${line}\n`)): Logger {
  const emit = (at: keyof typeof severity, message: string, fields?: LogFields): void => {
    if (rank[at] < rank[level]) return;
    write(JSON.stringify({ severity: severity[at], message, time: new Date().toISOString(), ...base, ...fields }, bounded));
  };
  return {
    debug: (message, fields) => emit('debug', message, fields),
    info: (message, fields) => emit('info', message, fields),
    warn: (message, fields) => emit('warn', message, fields),
    error: (message, fields) => emit('error', message, fields),
    child: (fields) => createLogger(level, { ...base, ...fields }, write),
  };
}
