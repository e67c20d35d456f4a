/**
 * The README stays true: its main command runs the pipeline on a fresh data folder and succeeds, its test command
 * is what package.json runs, and the folders its layout tree names exist.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, runCommand, type CommandResult } from '../support/cli.ts';

const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
const quickStart = readme.slice(readme.indexOf('## Quick start'), readme.indexOf('## How it works'));
const commands = [...quickStart.matchAll(/```sh\n([^`]+?)\n```/g)].map((match) => match[1]!.trim());
const [mainCommand, testCommand] = commands;
const packageJson = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> };

describe('README quick start', () => {
  let dataDir: string;
  let result: CommandResult;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'mediaflow-readme-'));
    const [program, ...args] = mainCommand!.split(' ');
    // The suite already runs on installed dependencies; reinstalling under a running vitest would pull them away.
    result = await runCommand(program!, args, { env: { ...process.env, MEDIAFLOW_DATA_DIR: dataDir, MEDIAFLOW_SKIP_INSTALL: '1' }, timeoutMs: 300_000 });
  }, 320_000);
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('names one main command and one test command', () => {
    expect(mainCommand).toBe('npm run demo');
    expect(testCommand).toBe('npm test');
    expect(packageJson.scripts.test).toContain('vitest run');
  });

  it('the main command processes the sample photo, music and video to READY and says where the results are', () => {
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('3/3 READY');
    for (const name of ['photo.jpg', 'music.m4a', 'clip.mp4']) expect(result.stdout).toMatch(new RegExp(`${name.replace('.', '\\.')}\\s+\\w+\\s+READY`));
    expect(result.stdout).toContain(path.join(dataDir, 'state.sqlite'));
    expect(existsSync(path.join(dataDir, 'state.sqlite'))).toBe(true);
  });

  it('every folder in the layout tree exists', () => {
    const layout = readme.slice(readme.indexOf('### Layout'));
    const tree = /```\n([^`]+)```/.exec(layout)![1]!;
    const topLevel = [...tree.matchAll(/^([a-z][\w.-]*\/?)\s/gm)].map((match) => match[1]!);
    expect(topLevel.length).toBeGreaterThan(8);
    for (const entry of topLevel) expect(existsSync(path.join(repoRoot, entry)), entry).toBe(true);
  });
});
