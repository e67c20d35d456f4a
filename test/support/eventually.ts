/** Polling for what another process (a function behind Pub/Sub, an emulator) makes true, with its logs when it never does. */
import { setTimeout as sleep } from 'node:timers/promises';

export interface EventuallyOptions {
  readonly timeoutMs: number;
  /** What to print beside the timeout: the functions' recent output, say. */
  readonly diagnose?: () => string;
  readonly intervalMs?: number;
}

/** Reads until `read` gives a value; throws naming `what`, with the diagnosis, once the timeout has passed. */
export async function eventually<T>(what: string, read: () => Promise<T | undefined>, options: EventuallyOptions): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const value = await read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${options.diagnose ? `\n${options.diagnose()}` : ''}`);
    await sleep(options.intervalMs ?? 250);
  }
}
