/**
 * CPU time of this process and every process it started, read from /proc. With the pipeline spread over
 * function processes, emulators and the ffprobe they spawn, the bench process's own CPU time says nothing
 * about what a run cost; the whole tree's does, for the embedded runtime and the local cloud alike.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** USER_HZ, the unit of the times in /proc/<pid>/stat: 100 on every Linux architecture Node supports. */
const TICKS_PER_SECOND = 100;

interface ProcStat {
  readonly ppid: number;
  readonly ticks: number;
}

function readStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    // Exited since the directory was listed; its time now sits in its parent's cutime/cstime.
    return undefined;
  }
  // The command name is parenthesised and may hold spaces; the numeric fields follow its closing parenthesis.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // state ppid … utime stime cutime cstime: the 2nd, and the 12th to 15th fields after the name.
  const ticks = [11, 12, 13, 14].reduce((sum, index) => sum + Number(fields[index]), 0);
  return { ppid: Number(fields[1]), ticks };
}

/**
 * Seconds of CPU used so far by this process, its live descendants, and every child any of them has reaped
 * (ffprobe, for instance). Undefined where there is no /proc. Take the difference of two calls around a run.
 */
export function processTreeCpuSeconds(): number | undefined {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return undefined;
  }
  const stats = new Map<number, ProcStat>();
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (stat) stats.set(Number(entry), stat);
  }
  const children = new Map<number, number[]>();
  for (const [pid, stat] of stats) children.set(stat.ppid, [...(children.get(stat.ppid) ?? []), pid]);
  let ticks = 0;
  const pending = [process.pid];
  for (let pid = pending.pop(); pid !== undefined; pid = pending.pop()) {
    ticks += stats.get(pid)?.ticks ?? 0;
    pending.push(...(children.get(pid) ?? []));
  }
  return ticks / TICKS_PER_SECOND;
}
