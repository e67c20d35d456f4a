/**
 * Peak memory of this process's descendants (ffprobe, ffmpeg) while a test runs, read from /proc: every few
 * milliseconds the descendants are found through /proc/<pid>/stat and their VmHWM (the kernel's own high-water
 * mark of resident memory) is read. A child that lives shorter than one interval can be missed, so this is a
 * budget guard for the long, hungry runs the hostile suite is about, not a measurement.
 */
import { readdir, readFile } from 'node:fs/promises';

const SAMPLE_INTERVAL_MS = 20;

export interface MemoryWatch {
  /** Stops sampling; the largest VmHWM of any descendant seen, in MiB. */
  stop(): Promise<number>;
}

export function watchChildMemory(root = process.pid): MemoryWatch {
  let peakKiB = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      for (const pid of await descendants(root)) peakKiB = Math.max(peakKiB, await highWaterKiB(pid));
      await new Promise((resolve) => setTimeout(resolve, SAMPLE_INTERVAL_MS));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return peakKiB / 1024;
    },
  };
}

async function descendants(root: number): Promise<number[]> {
  const parents = new Map<number, number>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    // pid (comm) state ppid …; comm may hold spaces and parentheses, so read after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[1]) parents.set(Number(entry), Number(fields[1]));
  }
  const found: number[] = [];
  const frontier = [root];
  while (frontier.length > 0) {
    const parent = frontier.pop()!;
    for (const [pid, ppid] of parents) {
      if (ppid === parent) {
        found.push(pid);
        frontier.push(pid);
      }
    }
  }
  return found;
}

async function highWaterKiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  return Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1] ?? 0);
}
