/**
 * The one verdict on a failed ffmpeg/ffprobe run (shared/media/ffmpeg/classify.ts), exit kind by exit kind: the
 * same exit means the same thing in every step.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, PermanentError, TransientError } from '../../shared/errors.ts';
import { classifyExit, classifyFailure, exitKind, settleRun, type ExitKind } from '../../shared/media/ffmpeg/classify.ts';
import { CRASH_SIGNALS, describeExit, type ToolExit } from '../../shared/media/ffmpeg/exit.ts';
import { ToolFailure } from '../../shared/media/ffmpeg/run.ts';

function errno(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`spawn x ${code}`), { code });
}

const base: ToolExit = { tool: 'ffmpeg', label: 'segment encode', code: 1, signal: null, stderr: 'Invalid data found when processing input\n' };

interface Row {
  readonly name: string;
  readonly exit: Partial<ToolExit>;
  readonly kind: ExitKind;
  readonly type: typeof PermanentError | typeof TransientError | typeof ConfigError;
  readonly code?: string;
  readonly message: RegExp;
}

const rows: Row[] = [
  {
    name: 'a missing binary',
    exit: { code: null, stderr: '', spawnError: { binary: '/opt/ffmpeg', error: errno('ENOENT') } },
    kind: 'not-installed',
    type: ConfigError,
    message: /could not run \/opt\/ffmpeg \(ENOENT\); install ffmpeg or fix FFMPEG_PATH$/,
  },
  {
    name: 'a binary that is not executable',
    exit: { tool: 'ffprobe', code: null, stderr: '', spawnError: { binary: '/opt/ffprobe', error: errno('EACCES') } },
    kind: 'not-installed',
    type: ConfigError,
    message: /fix FFPROBE_PATH$/,
  },
  {
    name: 'a spawn the machine refused',
    exit: { code: null, stderr: '', spawnError: { binary: 'ffmpeg', error: errno('EAGAIN') } },
    kind: 'spawn-failed',
    type: TransientError,
    code: 'FFMPEG_SPAWN_FAILED',
    message: /could not run ffmpeg \(EAGAIN\)/,
  },
  {
    name: 'our deadline',
    exit: { code: null, signal: 'SIGKILL', endedBy: { reason: 'timeout', limit: 200 } },
    kind: 'timeout',
    type: TransientError,
    code: 'FFMPEG_TIMEOUT',
    message: /did not finish within 200 ms/,
  },
  {
    name: "ffprobe's deadline",
    exit: { tool: 'ffprobe', code: null, signal: 'SIGKILL', endedBy: { reason: 'timeout', limit: 200 } },
    kind: 'timeout',
    type: TransientError,
    code: 'PROBE_TIMEOUT',
    message: /did not finish/,
  },
  {
    name: 'too much output',
    exit: { code: null, signal: 'SIGKILL', endedBy: { reason: 'output-limit', limit: 10 } },
    kind: 'output-limit',
    type: PermanentError,
    code: 'UNSUPPORTED_MEDIA',
    message: /printed more than 10 characters/,
  },
  ...[...CRASH_SIGNALS].map((signal): Row => ({
    name: `a crash (${signal})`,
    exit: { code: null, signal },
    kind: 'crash',
    type: PermanentError,
    code: 'CORRUPT_MEDIA',
    message: new RegExp(`crashed \\(${signal}\\)`),
  })),
  {
    name: 'a kill we did not send (the OOM killer)',
    exit: { code: null, signal: 'SIGKILL' },
    kind: 'killed',
    type: TransientError,
    code: 'FFMPEG_KILLED',
    message: /was killed by SIGKILL/,
  },
  {
    name: 'a SIGTERM from outside',
    exit: { code: null, signal: 'SIGTERM' },
    kind: 'killed',
    type: TransientError,
    code: 'FFMPEG_KILLED',
    message: /was killed by SIGTERM/,
  },
  {
    name: 'memory exhausted',
    exit: { stderr: 'Error while filtering: Cannot allocate memory\n' },
    kind: 'out-of-resources',
    type: TransientError,
    code: 'FFMPEG_OUT_OF_RESOURCES',
    message: /Cannot allocate memory/,
  },
  {
    name: 'a full disk',
    exit: { stderr: 'av_interleaved_write_frame(): No space left on device\n' },
    kind: 'out-of-resources',
    type: TransientError,
    code: 'FFMPEG_OUT_OF_RESOURCES',
    message: /No space left/,
  },
  {
    name: 'an input ffmpeg cannot decode',
    exit: {},
    kind: 'failed',
    type: PermanentError,
    code: 'CORRUPT_MEDIA',
    message: /^decode: segment encode exited with code 1: Invalid data found/,
  },
];

describe('classifyExit', () => {
  it.each(rows)('$name → $kind', (row) => {
    const exit = { ...base, ...row.exit };
    expect(exitKind(exit)).toBe(row.kind);
    const verdict = classifyExit(exit, { what: 'decode' });
    expect(verdict).toBeInstanceOf(row.type);
    if (row.code) expect(verdict).toMatchObject({ code: row.code });
    expect(verdict.message).toMatch(row.message);
  });

  it("puts a step's own input code on an input fault, crash or error exit alike, and nowhere else", () => {
    const context = { what: 'decode', inputCode: 'HLS_VALIDATION_FAILED' };
    expect(classifyExit({ ...base, code: null, signal: 'SIGSEGV' }, context)).toMatchObject({ code: 'HLS_VALIDATION_FAILED' });
    expect(classifyExit(base, context)).toMatchObject({ code: 'HLS_VALIDATION_FAILED' });
    expect(classifyExit({ ...base, code: null, signal: 'SIGKILL' }, context)).toMatchObject({ code: 'FFMPEG_KILLED' });
  });

  it('keeps a path out of the quoted stderr, and the quote bounded', () => {
    const exit = { ...base, stderr: '/tmp/scratch/in.mp4: Invalid data found when processing input\n' };
    const verdict = classifyExit(exit, { what: 'decode', hide: ['/tmp/scratch/in.mp4'] });
    expect(verdict.message).toContain('the file: Invalid data found');
    expect(verdict.message).not.toContain('/tmp/scratch');
    expect(describeExit({ ...base, stderr: `${'x'.repeat(5000)}\n`.repeat(3) }).length).toBeLessThan(700);
  });

  it('an exit the runner stopped is judged by why it stopped it, not by the SIGKILL it sent', () => {
    expect(exitKind({ ...base, code: null, signal: 'SIGKILL', endedBy: { reason: 'timeout', limit: 1 } })).toBe('timeout');
  });
});

describe('classifyFailure and settleRun', () => {
  const failure = new ToolFailure({ ...base, code: null, signal: 'SIGABRT' });

  it('classifies a ToolFailure and passes anything else (an abort reason) through', () => {
    const reason = new Error('step timed out');
    expect(classifyFailure(reason, { what: 'x' })).toBe(reason);
    expect(classifyFailure(failure, { what: 'x' })).toMatchObject({ code: 'CORRUPT_MEDIA', cause: failure });
  });

  it("lets a failed read of the source outrank the tool's verdict", async () => {
    const storeError = new Error('generation replaced');
    const source = {
      settle: <T>(run: Promise<T>): Promise<T> =>
        run.then(
          () => Promise.reject(storeError),
          () => Promise.reject(storeError),
        ),
    };
    await expect(settleRun(Promise.reject(failure), { what: 'x' }, source)).rejects.toBe(storeError);
    await expect(settleRun(Promise.reject(failure), { what: 'x' })).rejects.toBeInstanceOf(PermanentError);
  });
});
