import { TransientError } from '../errors.ts';

/**
 * Runs fn with an AbortSignal that fires after timeoutMs, and stops waiting at that moment even if fn ignores
 * the signal: a hung invocation must release its slot and be retried, not hold the subscription.
 */
export async function withTimeout<T>(timeoutMs: number, what: string, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new TransientError('TIMEOUT', `${what} did not finish within ${timeoutMs} ms`);
      controller.abort(error);
      reject(error);
    }, timeoutMs);
  });
  try {
    return await Promise.race([fn(controller.signal), expired]);
  } finally {
    clearTimeout(timer);
  }
}
