/**
 * Error taxonomy. Throw means retry, return means ack: anything that is not a PermanentError is treated as
 * transient by the edge, which lets the bus redeliver it with backoff until the subscription dead-letters it.
 */

/** Codes a PermanentError may carry. They are stable strings: ops filter on them in the Firestore console. */
export const PermanentErrorCode = {
  EMPTY_OBJECT: 'EMPTY_OBJECT',
  UNSUPPORTED_MEDIA: 'UNSUPPORTED_MEDIA',
  CORRUPT_MEDIA: 'CORRUPT_MEDIA',
  SOURCE_NOT_FOUND: 'SOURCE_NOT_FOUND',
  SOURCE_CHANGED: 'SOURCE_CHANGED',
  INTEGRITY_MISMATCH: 'INTEGRITY_MISMATCH',
  IMAGE_TOO_LARGE: 'IMAGE_TOO_LARGE',
  INVALID_EVENT: 'INVALID_EVENT',
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
  RETRIES_EXHAUSTED: 'RETRIES_EXHAUSTED',
  STEP_FAILED: 'STEP_FAILED',
} as const;
export type PermanentErrorCode = (typeof PermanentErrorCode)[keyof typeof PermanentErrorCode] | (string & {});

/** A fault that no retry can fix: it is recorded on the asset and the message is acked. */
export class PermanentError extends Error {
  readonly code: PermanentErrorCode;
  readonly retryable = false;
  constructor(code: PermanentErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PermanentError';
    this.code = code;
  }
}

/** A fault worth retrying. Only needed where a plain Error would hide why; the edge retries any non-permanent error. */
export class TransientError extends Error {
  readonly code: string;
  readonly retryable = true;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TransientError';
    this.code = code;
  }
}

/** Configuration that cannot work. Raised at cold start so a bad deploy fails loudly instead of per message. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export function isPermanent(error: unknown): error is PermanentError {
  return error instanceof PermanentError;
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
