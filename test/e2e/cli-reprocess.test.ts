/**
 * `mediaflow reprocess` as an operator runs it, on the embedded runtime: 12 photos processed, a dry run that
 * counts and changes nothing, then a real job `kill -9`ed after a few runs have started and resumed with
 * `--resume <job>`. Every asset ends with the job's new thumbnail (and its dependents) live, and partners receive
 * exactly one asset.updated per asset: the cursor and the per-job idempotence of a start make the kill cost
 * nothing. A second resume of the finished job does nothing. Usage errors exit 2; `status` shows the reprocess.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReprocessJob } from '../../functions/coordinator/reprocess-job.ts';
import { productionSteps } from '../../functions/registry.ts';
import { jpegImage } from '../../scripts/sample-media/sample-media.ts';
import { SqliteDocumentStore } from '../../shared/adapters/local/document-store.ts';
import type { AssetDoc } from '../../shared/domain/asset.ts';
import { collections } from '../../shared/domain/collections.ts';
import { outputVersionOf } from '../../shared/domain/reprocess.ts';
import { ASSET_EVENTS_FILE, STATE_FILE } from '../../shared/runtime/embedded.ts';
import { mediaflow, repoRoot } from '../support/cli.ts';

const PHOTOS = 12;
/** The first run of the job is killed once this many of its runs have started: well before its 12. */
const KILL_AFTER_RUNS = 3;
/** Slow enough that the poll below sees the third run long before the twelfth (a start every 250 ms). */
const KILLED_RATE = '4/s';
const KILLED_RUN_LIMIT_MS = 60_000;
const UPDATED = 'com.mediaflow.asset.updated.v1';
const STACK_LINE = '    at ';

type LoggedEvent = { id: string; type: string; subject: string; data: { assetId: string; reprocess?: { job: string } } };
type JobReport = { job: string; step: string; state: string; counts: ReprocessJob['counts']; runs?: { inFlight: number; updated: number; failed: number } };

let dir: string;
let out: string;
let assetIds: string[];

const jsonLines = <T>(text: string): T[] =>
  text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as T);

const events = async (): Promise<LoggedEvent[]> => jsonLines<LoggedEvent>(await readFile(path.join(out, ASSET_EVENTS_FILE), 'utf8').catch(() => ''));

/** A direct read of the state the CLI writes (SQLite in WAL mode: safe beside a running `mediaflow`). */
async function withState<T>(fn: (store: SqliteDocumentStore) => Promise<T>): Promise<T> {
  const store = SqliteDocumentStore.open(path.join(out, STATE_FILE));
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

const assets = (): Promise<AssetDoc[]> => withState(async (store) => (await store.list<AssetDoc>(collections.assets.path())).map((snapshot) => snapshot.data));
const jobDoc = (job: string): Promise<ReprocessJob | undefined> => withState((store) => store.get<ReprocessJob>(collections.reprocessJobs.doc(job)));

/** Assets the job has started a run on: in flight, or ended. */
const touchedBy = async (job: string): Promise<number> =>
  (await assets()).filter((asset) => asset.reprocess?.job === job || asset.lastReprocess?.job === job).length;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'mediaflow-reprocess-'));
  out = path.join(dir, 'out');
  const inputs = path.join(dir, 'inputs');
  await mkdir(inputs);
  const files: string[] = [];
  for (let i = 0; i < PHOTOS; i++) files.push(await jpegImage('ffmpeg', path.join(inputs, `photo-${i}.jpg`), { width: 160 + 8 * i, height: 120 }));
  const processed = await mediaflow(['process', '--json', '--out', out, ...files]);
  expect(processed.code).toBe(0);
  const lines = jsonLines<{ id: string; status: string }>(processed.stdout);
  expect(lines.map((line) => line.status)).toEqual(Array<string>(PHOTOS).fill('READY'));
  assetIds = lines.map((line) => line.id);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('mediaflow reprocess: usage errors exit 2 with a message, not a stack trace', () => {
  it.each([
    ['no --step and no --resume', [], 'reprocess needs --step S'],
    [
      '--status other than READY',
      ['--step', 'thumbnail', '--status', 'FAILED'],
      "--status: only READY assets are reprocessed (a FAILED one is replayed: mediaflow dead-letters replay), got 'FAILED'",
    ],
    ['an unknown kind', ['--step', 'thumbnail', '--kind', 'sound'], "--kind takes one of image, audio, video, got 'sound'"],
    ['an unreadable --where', ['--step', 'thumbnail', '--where', 'recipe~3'], "--where takes 'recipe<N' (or <=, =, !=, >=, >), got 'recipe~3'"],
    ['an unreadable --where, dry run', ['--step', 'thumbnail', '--where', 'recipe~3', '--dry-run'], "--where takes 'recipe<N'"],
    ['a zero rate', ['--step', 'thumbnail', '--rate', '0'], "--rate takes runs per second (20, 20/s) or per minute (600/min) above 0, got '0'"],
    ['an unknown step', ['--step', 'nosuchstep'], "no step 'nosuchstep' in this build; the steps are checksum,"],
    ['an unknown step, dry run', ['--step', 'nosuchstep', '--dry-run'], "no step 'nosuchstep' in this build"],
    ['an unknown job', ['--resume', 'nosuchjob'], "no reprocess job 'nosuchjob'"],
    [
      '--resume with a selection',
      ['--resume', '20261206-abcdef', '--step', 'thumbnail'],
      '--resume takes the selection and rate the job was started with: give it alone',
    ],
    ['--resume with --dry-run', ['--resume', '20261206-abcdef', '--dry-run'], '--dry-run goes with a new selection'],
  ])('%s', async (_case, args, message) => {
    const result = await mediaflow(['reprocess', '--out', out, ...args]);
    expect(result.stderr).toContain(`mediaflow: ${message}`);
    expect(result.stderr).not.toContain(STACK_LINE);
    expect(result.stdout).toBe('');
    expect(result.code).toBe(2);
  });
});

describe('mediaflow reprocess --dry-run', () => {
  it('counts the 12 runs it would start, and changes nothing', async () => {
    const result = await mediaflow(['reprocess', '--step', 'thumbnail', '--dry-run', '--json', '--out', out]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const [report, ...more] = jsonLines<{ dryRun: boolean; step: string; counts: ReprocessJob['counts']; job?: string }>(result.stdout);
    expect(more).toEqual([]);
    expect(report).toMatchObject({
      dryRun: true,
      step: 'thumbnail',
      counts: { examined: PHOTOS, notSelected: 0, started: PHOTOS, alreadyStarted: 0, refused: {} },
    });
    // Not a job: no id to resume, and no document (the usage errors above made none either).
    expect(report!.job).toBeUndefined();
    const after = await assets();
    expect(after.filter((asset) => asset.reprocess !== undefined || asset.lastReprocess !== undefined).map((asset) => asset.id)).toEqual([]);
    expect(after.every((asset) => Object.values(asset.steps).every((step) => step.outputVersion === undefined))).toBe(true);
    expect((await events()).filter((event) => event.type === UPDATED)).toEqual([]);
    expect(await withState((store) => store.list(collections.reprocessJobs.path()))).toEqual([]);
    const text = await mediaflow(['reprocess', '--step', 'thumbnail', '--dry-run', '--out', out]);
    expect(text.stdout).toBe(`dry run: ${PHOTOS} READY assets looked at, 0 not selected, ${PHOTOS} would be re-run; nothing was started\n`);
  });
});

describe('mediaflow reprocess killed with -9 after a few runs, then --resume', () => {
  let job: string;
  let touchedAtKill: number;
  let savedAtKill: ReprocessJob | undefined;
  let killSignal: string | null;
  let resumed: { code: number; stdout: string; stderr: string };

  beforeAll(async () => {
    const child = spawn(
      process.execPath,
      [
        '--disable-warning=ExperimentalWarning',
        path.join(repoRoot, 'cli', 'mediaflow.ts'),
        'reprocess',
        '--step',
        'thumbnail',
        '--rate',
        KILLED_RATE,
        '--out',
        out,
      ],
      // Its own process group, so the kill takes any ffmpeg it has running too.
      { cwd: repoRoot, stdio: ['ignore', 'ignore', 'pipe'], detached: true },
    );
    const exited = new Promise<string | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const started = Date.now();
    let id: string | undefined;
    try {
      // The job's id comes first, on stderr; then its runs show in the state, one every 250 ms.
      while (Date.now() - started < KILLED_RUN_LIMIT_MS && child.exitCode === null) {
        id ??= /^reprocess job (\S+): step thumbnail, 4\/s$/m.exec(stderr)?.[1];
        if (id !== undefined && (await touchedBy(id)) >= KILL_AFTER_RUNS) break;
        await sleep(20);
      }
    } finally {
      if (child.exitCode === null) process.kill(-child.pid!, 'SIGKILL');
    }
    killSignal = await exited;
    expect(id, `no job id on stderr: ${stderr}`).toBeDefined();
    job = id!;
    touchedAtKill = await touchedBy(job);
    savedAtKill = await jobDoc(job);
    resumed = await mediaflow(['reprocess', '--resume', job, '--json', '--out', out]);
  });

  it('was killed with most of the job left to do', () => {
    expect(killSignal).toBe('SIGKILL');
    expect(touchedAtKill).toBeGreaterThanOrEqual(KILL_AFTER_RUNS);
    expect(touchedAtKill).toBeLessThan(PHOTOS);
    expect(savedAtKill).toMatchObject({ id: job, step: 'thumbnail', state: 'RUNNING', ratePerSecond: 4 });
    expect(savedAtKill!.counts.examined).toBeLessThan(PHOTOS);
  });

  it('resumes to the end: every run started once, all updated, exit 0', () => {
    // The job's id, on stderr even with --json, and nothing else.
    expect(resumed.stderr).toBe(`reprocess job ${job}: step thumbnail, 4/s\n`);
    const [report, ...more] = jsonLines<JobReport>(resumed.stdout);
    expect(more).toEqual([]);
    expect(report).toMatchObject({ job, step: 'thumbnail', state: 'STARTED', runs: { inFlight: 0, updated: PHOTOS, failed: 0 } });
    // The job's document is saved at most once a second: the runs started in the last second before the kill (4 at
    // 4/s) and the one in hand are looked at again on resume, and counted as started before, never started twice.
    const { counts } = report!;
    expect(counts).toMatchObject({ examined: PHOTOS, notSelected: 0, refused: {} });
    expect(counts.started + counts.alreadyStarted).toBe(PHOTOS);
    expect(counts.alreadyStarted).toBeLessThanOrEqual(5);
    expect(resumed.code).toBe(0);
  });

  it('leaves every asset READY on the job’s outputs, with no run still set', async () => {
    const thumbnailVersion = outputVersionOf(productionSteps.get('thumbnail')!.recipeVersion, job);
    const after = await assets();
    expect(after.map((asset) => asset.id).sort()).toEqual([...assetIds].sort());
    for (const asset of after) {
      expect(asset.status, asset.id).toBe('READY');
      expect(asset.reprocess, asset.id).toBeUndefined();
      expect(asset.lastReprocess, asset.id).toMatchObject({ job, step: 'thumbnail', status: 'SUCCEEDED', error: null });
      const versions = asset.lastReprocess!.versions;
      expect(versions.thumbnail).toBe(thumbnailVersion);
      // The thumbnail and the steps that depend on it (the tag reads it), each now live from the job's folder.
      expect(Object.keys(versions).length).toBeGreaterThan(1);
      for (const [step, version] of Object.entries(versions)) {
        expect(version).toBe(outputVersionOf(productionSteps.get(step)!.recipeVersion, job));
        expect(asset.steps[step]).toMatchObject({ status: 'SUCCEEDED', outputVersion: version });
      }
      expect(asset.steps.checksum?.outputVersion).toBeUndefined();
    }
    expect(await withState((store) => store.count(collections.outbox.path()))).toBe(0);
  });

  it('sends exactly one asset.updated per asset, despite the kill', async () => {
    const updated = (await events()).filter((event) => event.type === UPDATED);
    expect(updated.map((event) => event.id).sort()).toEqual(assetIds.map((assetId) => `${assetId}/updated/${job}`).sort());
    expect(updated.every((event) => event.subject === event.data.assetId && event.data.reprocess?.job === job)).toBe(true);
  });

  it('a second --resume of the finished job starts nothing and sends nothing', async () => {
    const before = await assets();
    const eventsBefore = await events();
    const again = await mediaflow(['reprocess', '--resume', job, '--json', '--out', out]);
    expect(again.stderr).toBe(`reprocess job ${job}: step thumbnail, 4/s\n`);
    expect(again.code).toBe(0);
    const [report] = jsonLines<JobReport>(again.stdout);
    expect(report).toEqual({ ...jsonLines<JobReport>(resumed.stdout)[0], runs: { inFlight: 0, updated: PHOTOS, failed: 0 } });
    expect(await events()).toEqual(eventsBefore);
    const revisions = (docs: AssetDoc[]): Record<string, number> => Object.fromEntries(docs.map((asset) => [asset.id, asset.revision]));
    expect(revisions(await assets())).toEqual(revisions(before));
  });

  it('mediaflow reprocess --list shows the job and its runs', async () => {
    const listed = await mediaflow(['reprocess', '--list', '--json', '--out', out]);
    expect(listed.code).toBe(0);
    const [first, ...rest] = jsonLines<JobReport & { runs: { updated: number } }>(listed.stdout);
    expect(rest).toEqual([]);
    expect(first).toMatchObject({ job, step: 'thumbnail', state: 'STARTED', runs: { inFlight: 0, updated: PHOTOS, failed: 0 } });
    const text = await mediaflow(['reprocess', '--list', '--out', out]);
    expect(text.stdout).toContain(job);
    expect((await mediaflow(['reprocess', '--list', '--step', 'thumbnail', '--out', out])).code).toBe(2);
  });

  it('mediaflow status shows the last reprocess and the steps’ output versions', async () => {
    const assetId = assetIds[0]!;
    const thumbnailVersion = outputVersionOf(productionSteps.get('thumbnail')!.recipeVersion, job);
    const json = await mediaflow(['status', '--json', '--out', out, assetId]);
    expect(json.code).toBe(0);
    const [detail] = jsonLines<{ reprocess: unknown; lastReprocess: unknown }>(json.stdout);
    expect(detail).toMatchObject({
      reprocess: null,
      lastReprocess: { job, step: 'thumbnail', status: 'SUCCEEDED', versions: { thumbnail: thumbnailVersion } },
    });

    const text = await mediaflow(['status', '--out', out, assetId], { ...process.env, COLUMNS: '160' });
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`^reprocess +job ${job} \\(step thumbnail\\) SUCCEEDED at \\d{4}-\\d\\d-\\d\\dT`, 'm'));
    expect(text.stdout).toMatch(/^step +status +attempts +time +cpu +cost +version +outputs \/ error$/m);
    expect(text.stdout).toMatch(new RegExp(`^thumbnail +SUCCEEDED .* ${thumbnailVersion.replaceAll('.', '\\.')} +\\{`, 'm'));
    expect(text.stdout).toMatch(/^checksum +SUCCEEDED .* - +\{/m);
    expect(text.stdout).toContain(`REPROCESSED thumbnail: job ${job}`);
  });
});
