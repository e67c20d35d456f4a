/**
 * The one way ffmpeg and ffprobe are run: an argument array (never a shell), SIGKILL at the caller's deadline or
 * when its signal aborts, a bounded stderr, and an exit described in the classifier's terms (exit.ts). A failed
 * run becomes a typed error in classify.ts; this module only reports what happened. Each child's CPU is charged to
 * the step run that spawned it (usage.ts).
 */
import { spawn } from 'node:child_process';
import { succeeded, describeExit, type ToolExit, type ToolName } from './exit.ts';
import { meterChild } from './usage.ts';

/** Error reports are a few lines; 64 KiB keeps them even after a burst of decoder warnings. */
export const STDERR_TAIL_CHARS = 64 * 1024;
/** ffprobe's JSON for one file's streams is a few KiB; this bounds a hostile file with thousands of streams. */
export const STDOUT_LIMIT_CHARS = 16 * 1024 * 1024;

export interface RunOptions {
  /** Which tool runs, for the failure's codes (FFMPEG_…, PROBE_…) and the config advice; ffmpeg unless given. */
  readonly tool?: ToolName;
  /** Names the process in errors: "segment 12 encode", "720p decode check". */
  readonly label: string;
  /** The step's signal: an abort kills the process and the run rejects with the abort's reason. */
  readonly signal?: AbortSignal;
  /** The run's own deadline: past it the process is killed and the exit says `endedBy: timeout`. */
  readonly timeoutMs?: number;
  /** Capture stdout (ffprobe's JSON); otherwise it is discarded. */
  readonly stdout?: boolean;
  /**
   * Keep stderr whole, up to this many characters, ending a run that prints more (ffprobe's warnings are read
   * from the top). Unset: only the last STDERR_TAIL_CHARS are kept, which is where ffmpeg states its reason.
   */
  readonly stderrLimitChars?: number;
}

export interface ToolRun {
  readonly stdout: string;
  readonly stderr: string;
}

export interface ToolResult extends ToolRun {
  readonly exit: ToolExit;
}

/** A run that did not succeed; `exit` says how, classify.ts says what it means. */
export class ToolFailure extends Error {
  readonly exit: ToolExit;
  readonly exitCode: number | null;
  readonly exitSignal: NodeJS.Signals | null;
  readonly stderr: string;
  constructor(exit: ToolExit) {
    super(describeExit(exit), exit.spawnError ? { cause: exit.spawnError.error } : undefined);
    this.name = 'ToolFailure';
    this.exit = exit;
    this.exitCode = exit.code;
    this.exitSignal = exit.signal;
    this.stderr = exit.stderr;
  }
}

/** Resolves with the output when the tool exits 0; rejects with a ToolFailure otherwise, or the abort's reason. */
export async function runTool(binary: string, args: readonly string[], options: RunOptions): Promise<ToolRun> {
  const result = await spawnTool(binary, args, options);
  if (!succeeded(result.exit)) throw new ToolFailure(result.exit);
  return { stdout: result.stdout, stderr: result.stderr };
}

/** Resolves however the run ended (ffprobe's own exit codes carry meaning); rejects only with the abort's reason. */
export function spawnTool(binary: string, args: readonly string[], options: RunOptions): Promise<ToolResult> {
  const { signal } = options;
  signal?.throwIfAborted();
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ['ignore', options.stdout ? 'pipe' : 'ignore', 'pipe'], signal, killSignal: 'SIGKILL', windowsHide: true });
    // Its CPU is charged to the step run that spawned it (usage.ts).
    meterChild(child);
    let stdout = '';
    let stderr = '';
    let endedBy: ToolExit['endedBy'];
    let done = false;
    const end = (reason: 'timeout' | 'output-limit', limit: number): void => {
      endedBy ??= { reason, limit };
      child.kill('SIGKILL');
    };
    const timer = options.timeoutMs === undefined ? undefined : setTimeout(() => end('timeout', options.timeoutMs!), options.timeoutMs);
    const finish = (exit: Omit<ToolExit, 'tool' | 'label' | 'stderr' | 'endedBy'>): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (signal?.aborted) return reject(signal.reason as Error);
      resolve({ stdout, stderr, exit: { tool: options.tool ?? 'ffmpeg', label: options.label, stderr, ...exit, ...(endedBy ? { endedBy } : {}) } });
    };
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      if (options.stderrLimitChars === undefined) {
        stderr = (stderr + chunk).slice(-STDERR_TAIL_CHARS);
        return;
      }
      stderr += chunk;
      if (stderr.length > options.stderrLimitChars) end('output-limit', options.stderrLimitChars);
    });
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      stdout += chunk;
      if (stdout.length > STDOUT_LIMIT_CHARS) end('output-limit', STDOUT_LIMIT_CHARS);
    });
    // A spawn failure emits 'error' (and may emit 'close' after it); an abort emits 'error' and then 'close'.
    child.once('error', (error: NodeJS.ErrnoException) => {
      if (signal?.aborted || child.pid !== undefined) return;
      finish({ code: null, signal: null, spawnError: { binary, error } });
    });
    child.once('close', (code, exitSignal) => finish({ code, signal: exitSignal }));
  });
}
