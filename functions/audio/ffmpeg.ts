/**
 * Spawning ffmpeg for the audio step's process graph: argument arrays (never a shell), extra pipes on fd 3+ for the
 * streams a graph emits, stdin/stdout joined between processes, SIGKILL when the step's signal aborts (its
 * timeout), and a bounded tail of stderr for the error message and for ebur128's summary, which ffmpeg prints last.
 *
 * The shared runner (shared/media/ffmpeg/run.ts) runs one process to its end and collects its output; a graph of
 * processes streaming into each other does not fit that, so the plumbing stays here. Exits are reported in the
 * shared terms (ToolExit) and judged by the shared classifier (process.ts, and the spawn failure below).
 */
import { spawn, type StdioOptions } from 'node:child_process';
import type { Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { classifyExit } from '../../shared/media/ffmpeg/classify.ts';
import type { ToolExit } from '../../shared/media/ffmpeg/exit.ts';
// ebur128's summary is ~600 bytes: the shared tail keeps it even after a burst of warnings.
import { STDERR_TAIL_CHARS } from '../../shared/media/ffmpeg/run.ts';
import { meterChild } from '../../shared/media/ffmpeg/usage.ts';

/** Closing lines of stderr quoted in an error message: how the run ended, short enough for the asset document. */
const REASON_LINES = 2;

export interface FfmpegOptions {
  /** Names the process in errors: "analysis", "aac encoder"… */
  readonly label: string;
  readonly signal: AbortSignal;
  readonly stdin?: boolean;
  readonly stdout?: boolean;
  /** Extra output pipes, opened as fd 3, 4, … (ffmpeg writes to them as `pipe:3`…). */
  readonly outputFds?: number;
  /** 'info' where ebur128's summary is needed; 'error' keeps other processes quiet. */
  readonly logLevel?: 'error' | 'info';
}

export interface FfmpegProcess {
  readonly label: string;
  readonly stdin: Writable;
  readonly stdout: Readable;
  output(fd: number): Readable;
  /** Settles when the process has exited and its pipes are closed; rejects only if it could not run or was aborted. */
  readonly exit: Promise<ToolExit>;
}

export function startFfmpeg(ffmpeg: string, args: readonly string[], options: FfmpegOptions): FfmpegProcess {
  const { label, signal } = options;
  const stdio: StdioOptions = [
    options.stdin ? 'pipe' : 'ignore',
    options.stdout ? 'pipe' : 'ignore',
    'pipe',
    ...Array<'pipe'>(options.outputFds ?? 0).fill('pipe'),
  ];
  const child = spawn(ffmpeg, ['-hide_banner', '-nostdin', '-nostats', '-v', options.logLevel ?? 'error', ...args], {
    stdio,
    signal,
    killSignal: 'SIGKILL',
    windowsHide: true,
  });
  // The graph's processes are spawned here rather than through the one runner (they stream through pipes), so
  // their CPU is charged to the step's run here too.
  meterChild(child);
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-STDERR_TAIL_CHARS);
  });
  const exit = new Promise<ToolExit>((resolve, reject) => {
    child.once('error', (error: NodeJS.ErrnoException) => {
      if (signal.aborted) return reject(signal.reason as Error);
      // A missing binary is a ConfigError, like everywhere else ffmpeg runs.
      reject(classifyExit({ tool: 'ffmpeg', label, code: null, signal: null, stderr: '', spawnError: { binary: ffmpeg, error } }, { what: 'the audio step' }));
    });
    child.once('close', (code, exitSignal) => resolve({ tool: 'ffmpeg', label, code, signal: exitSignal, stderr }));
  });
  const pipeAt = <T>(fd: number): T => {
    const stream = child.stdio[fd];
    if (!stream) throw new Error(`${label}: fd ${fd} was not opened as a pipe`);
    return stream as T;
  };
  return {
    label,
    get stdin() {
      return pipeAt<Writable>(0);
    },
    get stdout() {
      return pipeAt<Readable>(1);
    },
    output: (fd) => pipeAt<Readable>(fd),
    exit,
  };
}

/**
 * Streams one process's output into another's input. When the reader dies, the writer fails with EPIPE and both
 * exits say so; the pipe's own error is only the symptom, so it is not reported twice.
 */
export function connect(from: Readable, to: Writable, via?: Transform): Promise<void> {
  return (via ? pipeline(from, via, to) : pipeline(from, to)).catch(() => undefined);
}

/** "aac encoder exited with code 1: <why, from stderr>" */
export function describeExit(exit: ToolExit): string {
  const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code ?? 'unknown'}`;
  const reason = reasonFrom(exit.stderr);
  return `${exit.label} ${how}${reason ? `: ${reason}` : ''}`;
}

/** Why a process failed: its most repeated error (a corrupt file repeats one per packet), then how the run ended. */
export function reasonFrom(stderr: string): string {
  const lines = messages(stderr);
  const [commonest] = errorCounts(lines);
  const tail = lines.slice(-REASON_LINES).filter((line) => line !== commonest?.[0]);
  return [...(commonest ? [counted(commonest)] : []), ...tail].join(' | ');
}

/** ffmpeg's own messages, without the indented blocks (stream listings, ebur128's summary) and "[aac @ 0x…]" prefixes. */
export function messages(stderr: string): string[] {
  return stderr
    .split('\n')
    .filter((line) => line.trim() !== '' && !/^\s/.test(line) && !line.includes('Summary:'))
    .map((line) => line.replace(/^\[[^\]]*@ 0x[0-9a-f]+\]\s*/, '').trim());
}

/** Error messages and how often each was printed, most frequent first. */
export function errorCounts(lines: readonly string[]): [string, number][] {
  const counts = new Map<string, number>();
  for (const line of lines) if (/error|invalid|corrupt/i.test(line)) counts.set(line, (counts.get(line) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1]);
}

export function counted([line, times]: readonly [string, number]): string {
  return times > 1 ? `${line} (×${times})` : line;
}

/** Filter arguments need ':' escaped; a quoted value keeps the backslash for the option parser, not the graph parser. */
export function pipeUrl(fd: number): string {
  return `'pipe\\:${fd}'`;
}
