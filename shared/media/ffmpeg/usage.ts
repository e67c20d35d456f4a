/**
 * The CPU a step run used, its own and its tools', in a process that may run several steps at once (the embedded
 * runtime does; a Cloud Run worker runs one at a time, concurrency 1).
 *
 * - **Child processes** (ffmpeg, ffprobe, the heif tools) are measured per child, exactly: when the kernel reaps a
 *   child it adds the child's user + system time to the parent's `cutime`/`cstime` (/proc/self/stat), and libuv
 *   reaps it just before Node emits 'exit'. So the growth of that counter read in the child's 'exit' listener is
 *   that child's CPU, charged to the run that spawned it (AsyncLocalStorage). Children reaped in the same event-loop
 *   pass share the growth in proportion to their wall time. A child spawned elsewhere than through `meterChild`
 *   is charged to the next reading: a metered child's exit, or the end of a run (its own, when nothing else runs).
 *   Measured against the alternative, sampling /proc/<pid>/stat while the child runs: sampling every 50 ms missed 3%
 *   of a 1.3 CPU-second x264 encode and a third of a 0.06 s one; every 250 ms, 6% and all of it. The reaped counter
 *   missed nothing (its resolution is one clock tick, 10 ms, per reading, and it never drifts).
 * - **The process's own CPU** (JavaScript, libvips' threads for sharp, hashing) cannot be told apart per run:
 *   `process.cpuUsage()` is the whole process. It is shared evenly among the runs in flight between two readings
 *   (a run starting or ending), so the shares add up to the process's CPU; alone, a run gets exactly its own. In the
 *   embedded runtime that share also carries whatever else the process did meanwhile (the bus, the coordinator).
 *
 * Off Linux there is no /proc: child CPU reads as 0 and only the process's own CPU is recorded.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Linux reports CPU times in USER_HZ ticks: 100 a second on every architecture Node ships for. */
const USER_HZ = 100;

export interface CpuUsage {
  /** processCpuSeconds + childCpuSeconds. */
  readonly cpuSeconds: number;
  /** This run's share of the process's own CPU. */
  readonly processCpuSeconds: number;
  /** CPU of the child processes this run spawned. */
  readonly childCpuSeconds: number;
  readonly wallSeconds: number;
}

/** One run's meter: start it, run the work inside it, stop it (in `finally`, so a failed run is measured too). */
export class UsageMeter {
  #processMicros = 0;
  #childSeconds = 0;
  readonly #startedAt = performance.now();
  #stopped: CpuUsage | undefined;

  /** Runs `work` with this meter current, so the children it spawns are charged to it. */
  run<T>(work: () => Promise<T>): Promise<T> {
    return current.run(this, work);
  }

  /** Ends the measurement; a second call returns the same figures. */
  stop(): CpuUsage {
    if (this.#stopped) return this.#stopped;
    settleReaped();
    shareProcessCpu();
    inFlight.delete(this);
    // Children nobody metered, reaped since the last reading: most likely this run's own (alone, certainly).
    this.#childSeconds += takeChildSeconds();
    const processCpuSeconds = this.#processMicros / 1e6;
    this.#stopped = {
      cpuSeconds: processCpuSeconds + this.#childSeconds,
      processCpuSeconds,
      childCpuSeconds: this.#childSeconds,
      wallSeconds: (performance.now() - this.#startedAt) / 1000,
    };
    return this.#stopped;
  }

  /** @internal */
  addProcessMicros(micros: number): void {
    this.#processMicros += micros;
  }

  /** @internal */
  addChildSeconds(seconds: number): void {
    if (!this.#stopped) this.#childSeconds += seconds;
  }
}

const current = new AsyncLocalStorage<UsageMeter>();
const inFlight = new Set<UsageMeter>();
let lastProcessCpu = process.cpuUsage();
let lastChildSeconds: number | undefined;

/** Starts a meter; what children reaped before now used is charged to nobody. */
export function startMeter(): UsageMeter {
  settleReaped();
  shareProcessCpu();
  takeChildSeconds();
  const meter = new UsageMeter();
  inFlight.add(meter);
  return meter;
}

/** Charges `child`'s CPU to the run it was spawned in (if any). Call right after spawn, before it can exit. */
export function meterChild(child: ChildProcess): void {
  const meter = current.getStore();
  const spawnedAt = performance.now();
  child.once('exit', () => {
    if (!reaped) {
      reaped = { seconds: takeChildSeconds(), children: [] };
      setImmediate(settleReaped);
    }
    reaped.children.push({ meter, weight: Math.max(performance.now() - spawnedAt, 1e-3) });
  });
}

/** Children whose 'exit' came in one pass of the event loop, and the CPU reaped with them. */
let reaped: { seconds: number; children: { meter: UsageMeter | undefined; weight: number }[] } | undefined;

function settleReaped(): void {
  const batch = reaped;
  reaped = undefined;
  if (!batch || batch.seconds === 0) return;
  const total = batch.children.reduce((sum, child) => sum + child.weight, 0);
  for (const child of batch.children) child.meter?.addChildSeconds((batch.seconds * child.weight) / total);
}

function shareProcessCpu(): void {
  const now = process.cpuUsage();
  const micros = now.user - lastProcessCpu.user + (now.system - lastProcessCpu.system);
  lastProcessCpu = now;
  if (inFlight.size === 0 || micros <= 0) return;
  for (const meter of inFlight) meter.addProcessMicros(micros / inFlight.size);
}

/** CPU of the children reaped since the last call. */
function takeChildSeconds(): number {
  const now = reapedChildrenCpuSeconds();
  if (now === undefined) return 0;
  const since = lastChildSeconds === undefined ? 0 : Math.max(0, now - lastChildSeconds);
  lastChildSeconds = now;
  return since;
}

let procUnavailable = false;

/** cutime + cstime of this process: the CPU of every child it has reaped (and of theirs), in seconds. */
export function reapedChildrenCpuSeconds(): number | undefined {
  if (procUnavailable) return undefined;
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    // Fields after the command name, which is in parentheses and may contain spaces: state is field 3, cutime 16, cstime 17.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[13]) + Number(fields[14]);
    return Number.isFinite(ticks) ? ticks / USER_HZ : undefined;
  } catch {
    procUnavailable = true;
    return undefined;
  }
}
