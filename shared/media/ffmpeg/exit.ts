/**
 * How an ffmpeg or ffprobe run ended, in the terms the failure classifier (classify.ts) decides on, and how that
 * reads in an error message. Shared by the runner (run.ts) and the audio step's process graph, which spawns its
 * own processes for their extra pipes but reports their exits in these terms.
 */

export type ToolName = 'ffmpeg' | 'ffprobe';

/** Signals that mean the tool crashed, which a retry on the same input would only repeat. */
export const CRASH_SIGNALS: ReadonlySet<NodeJS.Signals> = new Set<NodeJS.Signals>(['SIGSEGV', 'SIGBUS', 'SIGILL', 'SIGFPE', 'SIGABRT']);
/** Lines of stderr quoted in an error: ffmpeg states its reason last. */
const REASON_LINES = 3;
/** The quoted reason is bounded too: it ends up in the asset document. */
const REASON_CHARS = 600;

export interface ToolExit {
  readonly tool: ToolName;
  /** Names the process in errors: "segment 12 encode", "idet". */
  readonly label: string;
  /** null when a signal ended the process, or when it never started. */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** A bounded tail of stderr (or all of it, for runs that read it whole). */
  readonly stderr: string;
  /** Set when the run was ended by us: its deadline passed, or it printed more than it may. */
  readonly endedBy?: { readonly reason: 'timeout' | 'output-limit'; readonly limit: number };
  /** Set when the process could not be started at all. */
  readonly spawnError?: { readonly binary: string; readonly error: NodeJS.ErrnoException };
}

export function succeeded(exit: ToolExit): boolean {
  return exit.code === 0 && exit.endedBy === undefined && exit.spawnError === undefined;
}

export function isCrash(exit: ToolExit): boolean {
  return exit.endedBy === undefined && exit.signal !== null && CRASH_SIGNALS.has(exit.signal);
}

/** "segment 3 encode exited with code 1: <ffmpeg's last lines>", "idet crashed (SIGSEGV)", … */
export function describeExit(exit: ToolExit): string {
  const reason = lastLines(exit.stderr, REASON_LINES);
  return `${exit.label} ${how(exit)}${reason ? `: ${reason}` : ''}`;
}

function how(exit: ToolExit): string {
  if (exit.spawnError) return `could not run ${exit.spawnError.binary} (${exit.spawnError.error.code ?? exit.spawnError.error.message})`;
  if (exit.endedBy?.reason === 'timeout') return `did not finish within ${exit.endedBy.limit} ms`;
  if (exit.endedBy?.reason === 'output-limit') return `printed more than ${exit.endedBy.limit} characters`;
  if (isCrash(exit)) return `crashed (${exit.signal})`;
  if (exit.signal) return `was killed by ${exit.signal}`;
  return `exited with code ${exit.code ?? 'unknown'}`;
}

export function lastLines(text: string, count: number): string {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .slice(-count)
    .join(' | ')
    .slice(0, REASON_CHARS);
}
