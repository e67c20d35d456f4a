/**
 * CPU affinity of the bench process, inherited by everything it spawns afterwards. A configuration of "W workers
 * of one vCPU each" gets exactly W cores: without it, the one-worker run borrows the idle second core for a
 * concurrent step or the package step's parallel decoders (os.availableParallelism() follows the affinity), which
 * flatters T(1) and so understates every scaling efficiency measured against it.
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';

/** Pins this process and all its threads to the first `cores` CPUs it may use; false when taskset is unavailable. */
export function pinToCores(cores: number): boolean {
  const last = Math.min(cores, os.cpus().length) - 1;
  try {
    // -a: every thread, so libuv's pool and V8's helpers follow, and the children they start.
    execFileSync('taskset', ['-a', '-p', '-c', last === 0 ? '0' : `0-${last}`, String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Gives the process every CPU back. */
export function unpin(): void {
  pinToCores(os.cpus().length);
}
