/**
 * Running ffmpeg and ffprobe for the HLS steps: argument arrays (never a shell), SIGKILL when the step's signal
 * aborts, a bounded tail of stderr, and a verdict on failures: what the input caused is permanent, what the
 * machine caused (memory, disk, a kill from outside) is worth a retry.
 */
import { spawn } from 'node:child_process';
import { PermanentError, TransientError, type PermanentErrorCode } from '../../errors.ts';

/** Error reports are a few lines; 64 KiB keeps them even after a burst of decoder warnings. */
const STDERR_TAIL_CHARS = 64 * 1024;
/** ffprobe's JSON for one file's streams is a few KiB; this bounds a hostile file with thousands of streams. */
const STDOUT_LIMIT_CHARS = 16 * 1024 * 1024;
/** Lines of stderr quoted in an error: ffmpeg states its reason last. */
const REASON_LINES = 3;
/** Signals that mean the tool crashed on this input, which a retry would only repeat. */
const CRASH_SIGNALS = new Set(['SIGSEGV', 'SIGBUS', 'SIGILL', 'SIGFPE', 'SIGABRT']);
/** Failures of the machine rather than the media. */
const RESOURCE_FAILURE = /No space left|Cannot allocate memory|Resource temporarily unavailable|Too many open files/;

export interface ToolRun {
  readonly stdout: string;
  readonly stderr: string;
}

export class ToolFailure extends Error {
  readonly exitCode: number | null;
  readonly exitSignal: NodeJS.Signals | null;
  readonly stderr: string;
  constructor(label: string, exitCode: number | null, exitSignal: NodeJS.Signals | null, stderr: string) {
    const how = exitSignal ? `was killed by ${exitSignal}` : `exited with code ${exitCode ?? 'unknown'}`;
    const reason = lastLines(stderr, REASON_LINES);
    super(`${label} ${how}${reason ? `: ${reason}` : ''}`);
    this.name = 'ToolFailure';
    this.exitCode = exitCode;
    this.exitSignal = exitSignal;
    this.stderr = stderr;
  }
}

export interface ToolOptions {
  /** Names the process in errors: "segment 12 encode", "720p decode check". */
  readonly label: string;
  readonly signal: AbortSignal;
  readonly stdout?: boolean;
}

/** Resolves with the output when the tool exits 0; rejects with a ToolFailure otherwise, or the abort reason. */
export function runTool(binary: string, args: readonly string[], options: ToolOptions): Promise<ToolRun> {
  options.signal.throwIfAborted();
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ['ignore', options.stdout ? 'pipe' : 'ignore', 'pipe'], signal: options.signal, killSignal: 'SIGKILL', windowsHide: true });
    let stderr = '';
    let stdout = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-STDERR_TAIL_CHARS);
    });
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      stdout += chunk;
      if (stdout.length > STDOUT_LIMIT_CHARS) child.kill('SIGKILL');
    });
    child.once('error', (error) => {
      reject(options.signal.aborted ? (options.signal.reason as Error) : new TransientError('MEDIA_TOOL_FAILED', `${options.label}: could not run ${binary}: ${error.message}`, { cause: error }));
    });
    child.once('close', (code, exitSignal) => {
      if (options.signal.aborted) return reject(options.signal.reason as Error);
      if (code === 0) return resolve({ stdout, stderr });
      reject(new ToolFailure(options.label, code, exitSignal, stderr));
    });
  });
}

/**
 * What a failed run means for the work order. A crash or a plain non-zero exit on a healthy machine is the
 * input's doing (ffmpeg exits 1 on data it cannot decode), so it is permanent under `code`; a kill from outside
 * (the OOM killer) or a resource error is transient.
 */
export function classifyFailure(error: unknown, code: PermanentErrorCode, what: string): unknown {
  if (!(error instanceof ToolFailure)) return error;
  if (error.exitSignal && CRASH_SIGNALS.has(error.exitSignal)) return new PermanentError(code, `${what}: ${error.message}`, { cause: error });
  if (error.exitSignal || RESOURCE_FAILURE.test(error.stderr)) return new TransientError('MEDIA_TOOL_FAILED', `${what}: ${error.message}`, { cause: error });
  return new PermanentError(code, `${what}: ${error.message}`, { cause: error });
}

export function lastLines(text: string, count: number): string {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .slice(-count)
    .join(' | ')
    .slice(0, 600);
}

/** Options every invocation starts with: quiet, no stdin. Each input brings its own protocol whitelist (inputArgs). */
export function quietArgs(): string[] {
  return ['-hide_banner', '-nostdin', '-nostats', '-v', 'error'];
}

/**
 * Fragmented MP4 for HLS (RFC 8216 §3.3): the init segment written up front (empty_moov), tfhd offsets relative
 * to their moof (default_base_moof, as ISO/IEC 23000-19 CMAF asks), tfdt taken from the first packet's real
 * decode time rather than zero (frag_discont), and no mfra index at the end.
 *
 * negative_cts_offsets: trun version 1 with signed composition offsets, and the muxer moves the decode times
 * up by x264's reorder delay so the first sample's decode time is its presentation time. The tfdt of every
 * video segment is then the time of its first presented frame: no "hole" before it in players that start the
 * buffer at tfdt (hls.js), nor a per-stream shift in players that align streams by tfdt (Shaka). Audio has no
 * reordering, so this changes nothing there. (ffmpeg 5.1's own mov demuxer adds the largest negative offset back
 * to every pts when reading such files: its decode is shifted by the reorder delay, players' is not.)
 */
export const FMP4_MOVFLAGS = '+empty_moov+default_base_moof+frag_discont+skip_trailer+negative_cts_offsets';

/**
 * Muxer options of every fMP4 the HLS steps write. No edit list (a moov written before any sample cannot hold a
 * meaningful one) and no shifting of negative timestamps: the common timeline offset keeps them all positive,
 * and ffmpeg's default for MP4 would move each process's first timestamp to zero, breaking continuity.
 */
export function fmp4MuxerArgs(): string[] {
  return ['-fflags', '+bitexact', '-map_metadata', '-1', '-map_chapters', '-1', '-f', 'mp4', '-use_editlist', '0', '-avoid_negative_ts', 'disabled'];
}
