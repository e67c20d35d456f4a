/**
 * Scratch space: a private folder per invocation under os.tmpdir(), removed in `finally`. On Cloud Run the
 * disk is memory, so a leaked folder is leaked RAM; a shared folder would let two invocations clobber each other.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export async function withScratchDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = path.join(os.tmpdir(), `mediaflow-${randomUUID()}`);
  await mkdir(dir, { recursive: true });
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
