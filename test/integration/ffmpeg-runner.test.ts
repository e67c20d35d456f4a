/**
 * The shared runner (shared/media/ffmpeg/run.ts) with a real ffmpeg: its deadline kills, a crash is seen as one,
 * a missing binary is a ConfigError, and an abort rejects with its reason. No mocked child_process.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ConfigError, PermanentError, TransientError } from '../../shared/errors.ts';
import { classifyFailure, settleRun } from '../../shared/media/ffmpeg/classify.ts';
import { runTool, spawnTool, ToolFailure } from '../../shared/media/ffmpeg/run.ts';

const run = promisify(execFile);
/** An ffmpeg that runs until it is stopped: an endless test pattern, encoded to nothing. */
const ENDLESS = ['-hide_banner', '-nostdin', '-v', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc=size=64x64:rate=25', '-f', 'null', '-'];

async function childFfmpegs(): Promise<number[]> {
  const { stdout } = await run('ps', ['-o', 'pid=,comm=', '--ppid', String(process.pid)]).catch(() => ({ stdout: '' }));
  return stdout
    .split('\n')
    .filter((line) => line.trim().endsWith('ffmpeg'))
    .map((line) => Number(line.trim().split(/\s+/)[0]));
}

async function waitForChild(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const [pid] = await childFfmpegs();
    if (pid !== undefined) return pid;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('ffmpeg did not start');
}

describe('the shared ffmpeg runner', () => {
  it('resolves with stdout and stderr on success', async () => {
    const result = await runTool('ffprobe', ['-v', 'error', '-f', 'lavfi', '-i', 'anullsrc', '-show_entries', 'stream=codec_type', '-of', 'csv=p=0'], {
      tool: 'ffprobe',
      label: 'probe',
      stdout: true,
    });
    expect(result.stdout.trim()).toBe('audio');
  });

  it('kills a run at its deadline, and that is a transient timeout', async () => {
    const started = performance.now();
    const error = await runTool('ffmpeg', ENDLESS, { label: 'endless', timeoutMs: 300 }).catch((e: unknown) => e);
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(error).toBeInstanceOf(ToolFailure);
    expect((error as ToolFailure).exit.endedBy).toEqual({ reason: 'timeout', limit: 300 });
    expect(classifyFailure(error, { what: 'endless' })).toMatchObject({ code: 'FFMPEG_TIMEOUT' });
    expect(await childFfmpegs()).toEqual([]);
  });

  it('sees a real ffmpeg killed by SIGSEGV as a crash: CORRUPT_MEDIA, not a retry', async () => {
    const running = runTool('ffmpeg', ENDLESS, { label: 'crashing', timeoutMs: 20_000 }).catch((e: unknown) => e);
    process.kill(await waitForChild(), 'SIGSEGV');
    const error = await running;
    expect(error).toBeInstanceOf(ToolFailure);
    expect((error as ToolFailure).exitSignal).toBe('SIGSEGV');
    const verdict = classifyFailure(error, { what: 'decode' });
    expect(verdict).toBeInstanceOf(PermanentError);
    expect(verdict).toMatchObject({ code: 'CORRUPT_MEDIA', message: expect.stringMatching(/crashed \(SIGSEGV\)/) as unknown });
  });

  it('sees a SIGKILL it did not send (the OOM killer) as transient', async () => {
    const running = runTool('ffmpeg', ENDLESS, { label: 'oom', timeoutMs: 20_000 }).catch((e: unknown) => e);
    process.kill(await waitForChild(), 'SIGKILL');
    const verdict = classifyFailure(await running, { what: 'decode' });
    expect(verdict).toBeInstanceOf(TransientError);
    expect(verdict).toMatchObject({ code: 'FFMPEG_KILLED' });
  });

  it('reports a binary that does not exist as a ConfigError', async () => {
    const verdict = await settleRun(runTool('/nonexistent/ffmpeg', ['-version'], { label: 'version' }), { what: 'check' }).catch((e: unknown) => e);
    expect(verdict).toBeInstanceOf(ConfigError);
    expect((verdict as Error).message).toMatch(/could not run \/nonexistent\/ffmpeg \(ENOENT\)/);
  });

  it('rejects with the abort reason and kills the process when the step aborts', async () => {
    const controller = new AbortController();
    const reason = new Error('step timed out');
    const running = runTool('ffmpeg', ENDLESS, { label: 'aborted', signal: controller.signal });
    await waitForChild();
    controller.abort(reason);
    await expect(running).rejects.toBe(reason);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await childFfmpegs()).toEqual([]);
  });

  it('resolves a non-zero exit for a caller that reads it (ffprobe), with the stderr it printed', async () => {
    const { exit } = await spawnTool('ffprobe', ['-v', 'error', '/nonexistent/in.mp4'], { tool: 'ffprobe', label: 'probe', stdout: true });
    expect(exit.code).toBe(1);
    expect(exit.stderr).toMatch(/No such file/);
  });
});
