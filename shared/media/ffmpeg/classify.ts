/**
 * The one verdict on a failed ffmpeg or ffprobe run. What the input caused is permanent (a retry would repeat
 * it); what the machine or the deadline caused is worth a retry; a tool that cannot be started is a deploy fault.
 *
 *   could not start: ENOENT, EACCES              → ConfigError (not installed, or not executable)
 *   could not start: anything else (EAGAIN…)     → TransientError <TOOL>_SPAWN_FAILED
 *   our deadline (RunOptions.timeoutMs)          → TransientError <TOOL>_TIMEOUT
 *   more output than a file may make us read     → PermanentError UNSUPPORTED_MEDIA
 *   a crash signal (CRASH_SIGNALS)               → PermanentError <input code>, CORRUPT_MEDIA unless the step has its own
 *   any other signal (SIGKILL from the OOM killer) → TransientError <TOOL>_KILLED
 *   "Cannot allocate memory", "No space left"…   → TransientError <TOOL>_OUT_OF_RESOURCES
 *   any other non-zero exit                      → PermanentError <input code>
 *
 * An abort of the step's signal never reaches here: the runner rejects with the abort's reason. A failed read of
 * a served source outranks all of this (settleRun).
 */
import { ConfigError, PermanentError, PermanentErrorCode, TransientError } from '../../errors.ts';
import { describeExit, isCrash, type ToolExit } from './exit.ts';
import { ToolFailure } from './run.ts';

/** Failures of the machine rather than the media. */
const RESOURCE_FAILURE = /No space left|Cannot allocate memory|Resource temporarily unavailable|Too many open files/;
/** spawn errors that no retry fixes: the binary is missing or not executable. */
const NOT_INSTALLED = new Set(['ENOENT', 'EACCES']);
/** Transient codes start with the tool: PROBE_TIMEOUT, FFMPEG_KILLED… */
const CODE_PREFIX = { ffmpeg: 'FFMPEG', ffprobe: 'PROBE' } as const;
/** Where each tool's path is configured, for the ConfigError's advice. */
const PATH_VARIABLE = { ffmpeg: 'FFMPEG_PATH', ffprobe: 'FFPROBE_PATH' } as const;

export type ExitKind = 'not-installed' | 'spawn-failed' | 'timeout' | 'output-limit' | 'crash' | 'killed' | 'out-of-resources' | 'failed';

export interface ClassifyContext {
  /** What was attempted, as the message's start: "the source audio could not be decoded and encoded". */
  readonly what: string;
  /** The permanent code for a fault of the input (a crash or a non-zero exit); CORRUPT_MEDIA by default. */
  readonly inputCode?: PermanentErrorCode;
  /** How the failure reads after `what`; describeExit(exit) by default. */
  readonly detail?: string;
  /** The error the verdict wraps, when the caller has a better one than the spawn error. */
  readonly cause?: unknown;
  /** Paths or URLs to keep out of the quoted stderr (they become "the file"): the asset document is user-facing. */
  readonly hide?: readonly string[];
}

/** The kind of a failed exit, in the order the table above is read: our own ends first, then the process's. */
export function exitKind(exit: ToolExit): ExitKind {
  if (exit.spawnError) return NOT_INSTALLED.has(exit.spawnError.error.code ?? '') ? 'not-installed' : 'spawn-failed';
  if (exit.endedBy) return exit.endedBy.reason;
  if (isCrash(exit)) return 'crash';
  if (exit.signal) return 'killed';
  if (RESOURCE_FAILURE.test(exit.stderr)) return 'out-of-resources';
  return 'failed';
}

export function classifyExit(exit: ToolExit, context: ClassifyContext): PermanentError | TransientError | ConfigError {
  const kind = exitKind(exit);
  const message = `${context.what}: ${context.detail ?? describeExit(hidden(exit, context.hide ?? []))}`;
  const cause = context.cause ?? exit.spawnError?.error;
  const prefix = CODE_PREFIX[exit.tool];
  switch (kind) {
    case 'not-installed':
      return new ConfigError(`${message}; install ffmpeg or fix ${PATH_VARIABLE[exit.tool]}`);
    case 'output-limit':
      return new PermanentError(PermanentErrorCode.UNSUPPORTED_MEDIA, `${message}: too many streams or messages`, { cause });
    case 'crash':
    case 'failed':
      return new PermanentError(context.inputCode ?? PermanentErrorCode.CORRUPT_MEDIA, message, { cause });
    case 'spawn-failed':
    case 'timeout':
    case 'killed':
    case 'out-of-resources':
      return new TransientError(`${prefix}_${kind.toUpperCase().replaceAll('-', '_')}`, message, { cause });
  }
}

function hidden(exit: ToolExit, hide: readonly string[]): ToolExit {
  return hide.length === 0 ? exit : { ...exit, stderr: hide.reduce((text, path) => text.replaceAll(path, 'the file'), exit.stderr) };
}

/** classifyExit for a rejected run: a ToolFailure gets its verdict, anything else (an abort's reason) passes through. */
export function classifyFailure(error: unknown, context: ClassifyContext): unknown {
  return error instanceof ToolFailure ? classifyExit(error.exit, { cause: error, ...context }) : error;
}

/** Something that can outrank a run's verdict: a served source (shared/runtime/source-server.ts) whose read failed. */
export interface Settles {
  settle<T>(run: Promise<T>): Promise<T>;
}

/**
 * A run's failure classified, and a failed read of the served source in its place when there was one: a tool
 * that failed on bytes the store did not deliver (a replaced or vanished generation, a dropped read) says nothing
 * about the media, so the store's error is thrown instead (worker.ts turns a vanished source into SOURCE_CHANGED).
 */
export function settleRun<T>(run: Promise<T>, context: ClassifyContext, source?: Settles): Promise<T> {
  const classified = run.catch((error: unknown) => {
    throw classifyFailure(error, context);
  });
  return source ? source.settle(classified) : classified;
}
