/**
 * `kill -9` of `mediaflow process` half-way through a 30-asset run, then the same command again: every asset ends
 * READY, as one asset (no second version), with exactly one terminal event each in what a partner would receive.
 * The bus journal in the state file is what makes it true: what the killed process had not delivered or acked is
 * delivered by the next one.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jpegImage, musicLikeAudio } from '../../scripts/sample-media/sample-media.ts';
import { SqliteDocumentStore } from '../../shared/adapters/local/document-store.ts';
import type { AssetDoc } from '../../shared/domain/asset.ts';
import { ASSET_EVENTS_FILE, STATE_FILE } from '../../shared/runtime/embedded.ts';
import { mediaflow, repoRoot, type CommandResult } from '../support/cli.ts';

const IMAGES = 25;
const AUDIO = 5;
/** The first run is killed once this many assets have sent their terminal event: well inside the run. */
const KILL_AFTER_TERMINAL_EVENTS = 8;
const FIRST_RUN_LIMIT_MS = 120_000;
const TERMINAL_TYPES = new Set(['com.mediaflow.asset.ready.v1', 'com.mediaflow.asset.failed.v1']);

interface LoggedLine {
  readonly id: string;
  readonly type: string;
  readonly data: { readonly assetId?: string };
}

let dir: string;
let out: string;
let files: string[];
let terminalBeforeKill: number;
let killSignal: string | null;
let rerun: CommandResult;

async function eventLines(): Promise<LoggedLine[]> {
  const text = await readFile(path.join(out, ASSET_EVENTS_FILE), 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as LoggedLine);
}

async function terminalCount(): Promise<number> {
  return (await eventLines()).filter((line) => TERMINAL_TYPES.has(line.type)).length;
}

/** The first run, killed with SIGKILL (the whole process group, so no ffmpeg child lingers) once it is half-way. */
async function killedRun(): Promise<string | null> {
  const child = spawn(
    process.execPath,
    ['--disable-warning=ExperimentalWarning', path.join(repoRoot, 'cli', 'mediaflow.ts'), 'process', '--json', '--out', out, ...files],
    {
      cwd: repoRoot,
      stdio: 'ignore',
      detached: true,
    },
  );
  const exited = new Promise<string | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  const started = Date.now();
  while ((await terminalCount()) < KILL_AFTER_TERMINAL_EVENTS) {
    if (Date.now() - started > FIRST_RUN_LIMIT_MS) break;
    if (child.exitCode !== null) break;
    await sleep(25);
  }
  terminalBeforeKill = await terminalCount();
  if (child.exitCode === null) process.kill(-child.pid!, 'SIGKILL');
  return exited;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'mediaflow-crash-'));
  out = path.join(dir, 'out');
  const inputs = path.join(dir, 'inputs');
  await mkdir(inputs);
  files = [];
  for (let i = 0; i < IMAGES; i++) files.push(await jpegImage('ffmpeg', path.join(inputs, `photo-${i}.jpg`), { width: 320 + 16 * i, height: 240 }));
  for (let i = 0; i < AUDIO; i++) files.push(await musicLikeAudio('ffmpeg', path.join(inputs, `song-${i}.wav`), { durationSeconds: 3 + i }));
  killSignal = await killedRun();
  rerun = await mediaflow(['process', '--json', '--out', out, ...files]);
}, 400_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('mediaflow process killed half-way, then run again', () => {
  it('was really killed with work left to do', () => {
    expect(killSignal).toBe('SIGKILL');
    expect(terminalBeforeKill).toBeGreaterThanOrEqual(KILL_AFTER_TERMINAL_EVENTS);
    expect(terminalBeforeKill).toBeLessThan(IMAGES + AUDIO);
  });

  it('finishes every asset READY on the re-run, and exits 0', () => {
    expect(rerun.stderr).not.toMatch(/error/i);
    const lines = rerun.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { status: string; source: { name: string } });
    expect(lines).toHaveLength(IMAGES + AUDIO);
    expect(lines.filter((asset) => asset.status !== 'READY').map((asset) => `${asset.source.name}: ${asset.status}`)).toEqual([]);
    expect(rerun.code).toBe(0);
  });

  it('keeps one asset per file: the re-run resumed them rather than making new versions', async () => {
    const store = SqliteDocumentStore.open(path.join(out, STATE_FILE));
    try {
      const assets = (await store.list<AssetDoc>('assets')).map((snapshot) => snapshot.data);
      expect(assets).toHaveLength(IMAGES + AUDIO);
      expect(assets.filter((asset) => asset.status !== 'READY')).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it('sends exactly one terminal event per asset (by event id; a redelivered copy has the same id)', async () => {
    const terminal = (await eventLines()).filter((line) => TERMINAL_TYPES.has(line.type));
    const idsByAsset = new Map<string, Set<string>>();
    for (const line of terminal) {
      const assetId = line.data.assetId ?? 'unknown';
      idsByAsset.set(assetId, (idsByAsset.get(assetId) ?? new Set()).add(line.id));
    }
    expect(idsByAsset.size).toBe(IMAGES + AUDIO);
    expect([...idsByAsset.entries()].filter(([, ids]) => ids.size !== 1)).toEqual([]);
    expect(terminal.every((line) => line.type === 'com.mediaflow.asset.ready.v1')).toBe(true);
  });
});
