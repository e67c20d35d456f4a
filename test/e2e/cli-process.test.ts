/**
 * The CLI end to end, as a separate process: bad inputs end REJECTED with a reason while the good ones in the
 * same run still complete, the exit code says so, and `status` reads back what `process` left behind.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jpegImage, textFile, truncatedMp4, videoWithSound, zeroByteFile } from '../../scripts/sample-media/sample-media.ts';
import { mediaflow } from '../support/cli.ts';

type AssetLine = {
  id: string;
  status: string;
  kind: string | null;
  source: { name: string };
  steps: Record<string, { status: string }>;
  outputs: Record<string, unknown>;
  error: { step: string; code: string; message: string } | null;
};

let dir: string;
let out: string;
let result: Awaited<ReturnType<typeof mediaflow>>;
let byName: Map<string, AssetLine>;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'mediaflow-cli-'));
  out = path.join(dir, 'out');
  const inputs = path.join(dir, 'inputs');
  await mkdir(inputs);
  const files = [
    await jpegImage('ffmpeg', path.join(inputs, 'good.jpg'), { width: 640, height: 360 }),
    await videoWithSound('ffmpeg', path.join(inputs, 'good.mp4'), { durationSeconds: 2, width: 320, height: 240 }),
    await zeroByteFile('ffmpeg', path.join(inputs, 'empty.jpg')),
    await textFile('ffmpeg', path.join(inputs, 'notes.mp3'), { content: 'these are not the droids you are looking for\n' }),
    await truncatedMp4('ffmpeg', path.join(inputs, 'cut.mp4')),
  ];
  result = await mediaflow(['process', '--json', '--out', out, ...files]);
  byName = new Map(
    result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as AssetLine)
      .map((asset) => [asset.source.name, asset]),
  );
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('mediaflow process with good and bad inputs in one run', () => {
  it('exits 1 because not every asset is READY, with one JSON object per input', () => {
    expect(result.code).toBe(1);
    expect([...byName.keys()].sort()).toEqual(['cut.mp4', 'empty.jpg', 'good.jpg', 'good.mp4', 'notes.mp3']);
  });

  it.each([
    ['good.jpg', 'image'],
    ['good.mp4', 'video'],
  ])('%s still completes: READY as %s, with checksum outputs', (name, kind) => {
    const asset = byName.get(name)!;
    expect(asset).toMatchObject({ status: 'READY', kind, error: null, steps: { probe: { status: 'SUCCEEDED' }, checksum: { status: 'SUCCEEDED' } } });
    expect(asset.outputs.checksum).toMatchObject({ sha256: expect.stringMatching(/^[0-9a-f]{64}$/) as string });
  });

  it.each([
    ['empty.jpg', 'EMPTY_OBJECT', /empty \(0 bytes\)/],
    ['notes.mp3', 'UNSUPPORTED_MEDIA', /text, not media/],
    ['cut.mp4', 'CORRUPT_MEDIA', /truncated/],
  ])('%s is REJECTED with %s and a readable reason', (name, code, reason) => {
    const asset = byName.get(name)!;
    expect(asset.status).toBe('REJECTED');
    expect(asset.error).toMatchObject({ step: 'probe', code });
    expect(asset.error!.message).toMatch(reason);
  });

  it('status reads the same state back, from another process', async () => {
    const listed = await mediaflow(['status', '--json', '--out', out]);
    expect(listed.code).toBe(0);
    const statuses = listed.stdout
      .trim()
      .split('\n')
      .map((line) => (JSON.parse(line) as AssetLine).status)
      .sort();
    expect(statuses).toEqual(['READY', 'READY', 'REJECTED', 'REJECTED', 'REJECTED']);
    const one = await mediaflow(['status', '--out', out, byName.get('cut.mp4')!.id]);
    expect(one.stdout).toContain('CORRUPT_MEDIA');
    expect(one.stdout).toContain('history');
  });

  it('usage errors exit 2 with a message, not a stack trace', async () => {
    const missing = await mediaflow(['process', '--out', out, path.join(dir, 'does-not-exist.jpg')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no such file or directory');
    expect(missing.stderr).not.toContain('    at ');
    const unknown = await mediaflow(['status', '--out', out, 'no-such-asset']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("no asset with id 'no-such-asset'");
  });
});
