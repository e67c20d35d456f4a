/**
 * The CLI against hostile and broken inputs, as a separate process: one bad path is one failed row and never
 * stops the batch, names cannot drive the terminal, tables fit the width, and a missing ffmpeg is one line.
 *
 * Names longer than a filesystem allows cannot be made on disk (ext4 and tmpfs stop at 255 bytes a component), so
 * the two "too long" cases are the realistic ones: a 255-byte basename, which the local bucket refuses at upload
 * (its files and '.json' sidecars must fit in 255 bytes), and a file under nested folders whose object name passes
 * GCS's 1024-byte limit, which the CLI refuses before uploading.
 */
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jpegImage } from '../../scripts/sample-media/sample-media.ts';
import { mediaflow, repoRoot, runCommand, type CommandResult } from '../support/cli.ts';

type Line = {
  id: string | null;
  status: string;
  file?: string;
  name?: string;
  source?: { name: string };
  error: { step: string; code: string; message: string } | null;
};

const ESC = '\u001b';
const STACK_LINE = '    at ';
/** The width the table runs ask for; stdout is a pipe here, so COLUMNS is how a caller sets it. */
const COLUMNS = 100;
/** ext4's limit for one path component. */
const MAX_BASENAME_BYTES = 255;
/** Five folders of 125 two-byte characters put the object name well past GCS's 1024 bytes. */
const DEEP_FOLDERS = 5;
const DEEP_FOLDER_NAME = 'é'.repeat(125);

let dir: string;
let inputs: { good: string; longBasename: string; deepRoot: string; newline: string; escape: string; missing: string };
let json: CommandResult;
let lines: Line[];
let tableRun: CommandResult;
let tableOut: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'mediaflow-hardening-'));
  const src = path.join(dir, 'src');
  const deepRoot = path.join(src, 'deep');
  const deepFolder = path.join(deepRoot, ...Array<string>(DEEP_FOLDERS).fill(DEEP_FOLDER_NAME));
  await mkdir(deepFolder, { recursive: true });
  const good = await jpegImage('ffmpeg', path.join(src, 'good.jpg'), { width: 320, height: 240 });
  inputs = {
    good,
    longBasename: path.join(src, `${'a'.repeat(MAX_BASENAME_BYTES - '.jpg'.length)}.jpg`),
    deepRoot,
    newline: path.join(src, 'new\nline.jpg'),
    escape: path.join(src, `${ESC}[31mred${ESC}[0m.jpg`),
    missing: path.join(src, 'does-not-exist.jpg'),
  };
  for (const copy of [inputs.longBasename, path.join(deepFolder, 'photo.jpg'), inputs.newline, inputs.escape]) await copyFile(good, copy);
  const args = [inputs.good, inputs.longBasename, inputs.deepRoot, inputs.newline, inputs.escape, inputs.missing];
  json = await mediaflow(['process', '--json', '--out', path.join(dir, 'json-out'), ...args]);
  lines = json.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Line);
  tableOut = path.join(dir, 'table-out');
  tableRun = await mediaflow(['process', '--out', tableOut, ...args], { ...process.env, COLUMNS: String(COLUMNS) });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('mediaflow process with bad paths in the batch', () => {
  it('exits 1 with one JSON object per input, in input order, and no stack trace', () => {
    expect(json.code).toBe(1);
    expect(json.stderr).not.toContain(STACK_LINE);
    expect(lines).toHaveLength(6);
  });

  it('processes the good files: READY', () => {
    expect(lines[0]).toMatchObject({ status: 'READY', source: { name: 'good.jpg' }, error: null });
    expect(lines[4]).toMatchObject({ status: 'READY', source: { name: `${ESC}[31mred${ESC}[0m.jpg` }, error: null });
  });

  it('a 255-byte basename is its own FAILED row: the local bucket refuses the name at upload', () => {
    expect(lines[1]).toMatchObject({ id: null, status: 'FAILED', file: inputs.longBasename, error: { step: 'upload' } });
    expect(lines[1]!.error!.code).toMatch(/^[A-Z][A-Z_]+$/);
    expect(lines[1]!.error!.message).toMatch(/250 bytes/);
  });

  it('an object name over 1024 bytes is SKIPPED before upload with NAME_TOO_LONG', () => {
    const deep = lines[2]!;
    const bytes = Buffer.byteLength(deep.name!, 'utf8');
    expect(bytes).toBeGreaterThan(1024);
    expect(deep).toMatchObject({
      id: null,
      status: 'SKIPPED',
      error: { step: 'upload', code: 'NAME_TOO_LONG', message: `object name is ${bytes} bytes; the limit is 1024` },
    });
  });

  it('a name with a newline is SKIPPED with NAME_HAS_LINE_BREAK', () => {
    expect(lines[3]).toMatchObject({ id: null, status: 'SKIPPED', name: 'new\nline.jpg', error: { code: 'NAME_HAS_LINE_BREAK' } });
  });

  it('a path that does not exist is SKIPPED with NOT_FOUND', () => {
    expect(lines[5]).toMatchObject({ id: null, status: 'SKIPPED', file: inputs.missing, error: { code: 'NOT_FOUND', message: 'no such file or directory' } });
  });
});

describe('mediaflow process, the table', () => {
  const rows = (): string[] => tableRun.stdout.split('\n');

  it('exits 1, fits the width, and prints nothing raw', () => {
    expect(tableRun.code).toBe(1);
    expect(tableRun.stderr).not.toContain(STACK_LINE);
    for (const line of rows()) expect(Array.from(line).length).toBeLessThanOrEqual(COLUMNS);
    expect(tableRun.stdout).not.toContain(ESC);
    expect(tableRun.stderr).not.toContain(ESC);
  });

  it('shows every bad input as its own row with a readable code', () => {
    const stdout = tableRun.stdout;
    expect(stdout).toMatch(/^good\.jpg +image +READY /m);
    expect(stdout).toMatch(/^\\x1b\[31mred\\x1b\[0m\.jpg +image +READY /m);
    expect(stdout).toMatch(/^a+…a+\.jpg +- +FAILED +- +[A-Z_]+: /m);
    expect(stdout).toMatch(/^deep\/é+…é+\/photo\.jpg +- +SKIPPED +- +NAME_TOO_LONG: object name is \d+/m);
    expect(stdout).toMatch(/^new\\nline\.jpg +- +SKIPPED +- +NAME_HAS_LINE_BREAK: /m);
    expect(stdout).toMatch(/^does-not-exist\.jpg +- +SKIPPED +- +NOT_FOUND: no such file or directory/m);
    expect(stdout).toContain('2/6 READY');
  });
});

describe('mediaflow status after the batch', () => {
  it('lists the assets with escaped names and no raw escape codes', async () => {
    const listed = await mediaflow(['status', '--out', tableOut], { ...process.env, COLUMNS: String(COLUMNS) });
    expect(listed.code).toBe(0);
    expect(listed.stdout).not.toContain(ESC);
    expect(listed.stdout).toContain('\\x1b[31mred\\x1b[0m.jpg');
    expect(listed.stdout).toContain('2 READY');
  });

  it('shows one asset in detail without raw escape codes', async () => {
    const [escaped] = (await mediaflow(['status', '--json', '--out', tableOut])).stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Line)
      .filter((asset) => asset.source?.name.includes(ESC));
    const detail = await mediaflow(['status', '--out', tableOut, escaped!.id!]);
    expect(detail.code).toBe(0);
    expect(detail.stdout).not.toContain(ESC);
    expect(detail.stdout).toMatch(/^asset +mediaflow-ingest\/\\x1b\[31mred\\x1b\[0m\.jpg#\d+$/m);
  });
});

describe('npm run demo without ffmpeg', () => {
  const demo = (env: NodeJS.ProcessEnv): Promise<CommandResult> =>
    runCommand(process.execPath, ['--disable-warning=ExperimentalWarning', path.join(repoRoot, 'scripts', 'demo.ts')], { env });
  /** The environment minus every way tools.ts finds ffmpeg: the variables unset and a PATH with nothing on it. */
  const withoutFfmpeg = (): NodeJS.ProcessEnv => {
    const rest = Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== 'FFMPEG_PATH' && name !== 'FFPROBE_PATH'));
    return { ...rest, PATH: path.join(dir, 'empty-path'), MEDIAFLOW_DATA_DIR: path.join(dir, 'demo-out') };
  };

  it('prints the install hint on one line and exits 2 when ffmpeg is on no path', async () => {
    await mkdir(path.join(dir, 'empty-path'), { recursive: true });
    const result = await demo(withoutFfmpeg());
    expect(result.code).toBe(2);
    expect(result.stderr).not.toContain(STACK_LINE);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain('ffmpeg not found');
    expect(result.stderr).toContain('install it (e.g. `apt-get install -y ffmpeg`) or set FFMPEG_PATH/FFPROBE_PATH');
  });

  it('says which variable is wrong when FFMPEG_PATH points at nothing', async () => {
    const missing = path.join(dir, 'no-such-ffmpeg');
    const result = await demo({ ...withoutFfmpeg(), FFMPEG_PATH: missing, FFPROBE_PATH: path.join(dir, 'no-such-ffprobe') });
    expect(result.code).toBe(2);
    expect(result.stderr).not.toContain(STACK_LINE);
    expect(result.stderr.trim()).toBe(`mediaflow demo: FFMPEG_PATH=${missing} is not an executable file; fix it or unset it to search PATH`);
  });
});
