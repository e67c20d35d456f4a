import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withFileBytes } from '../../shared/media/input.ts';
import { walkIsoBmff, type IsoBmffResult } from '../../shared/media/isobmff.ts';
import { resolveMediaTools } from '../../shared/media/tools.ts';
import { truncatedMp4, videoWithSound } from '../../scripts/sample-media/sample-media.ts';

let dir: string;
let wellFormed: string;
let truncated: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mediaflow-isobmff-'));
  const { ffmpeg } = await resolveMediaTools(process.env);
  [wellFormed, truncated] = await Promise.all([
    videoWithSound(ffmpeg, join(dir, 'ok.mp4'), { durationSeconds: 1, width: 160, height: 120 }),
    truncatedMp4(ffmpeg, join(dir, 'cut.mp4'), { durationSeconds: 1, width: 160, height: 120 }),
  ]);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** One box: 32-bit size + type + payload, or size 1 + type + 64-bit largesize + payload. */
function box(type: string, payload: Buffer, options: { large?: boolean; declaredSize?: number | bigint } = {}): Buffer {
  if (options.large) {
    const header = Buffer.alloc(16);
    header.writeUInt32BE(1, 0);
    header.write(type, 4, 'latin1');
    header.writeBigUInt64BE(BigInt(options.declaredSize ?? 16 + payload.length), 8);
    return Buffer.concat([header, payload]);
  }
  const header = Buffer.alloc(8);
  header.writeUInt32BE(Number(options.declaredSize ?? 8 + payload.length), 0);
  header.write(type, 4, 'latin1');
  return Buffer.concat([header, payload]);
}

const ftyp = box('ftyp', Buffer.from('isom\0\0\x02\0isomiso2mp41', 'latin1'));
const moov = box('moov', box('mvhd', Buffer.alloc(100)));

async function fileOf(name: string, ...parts: Buffer[]): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, Buffer.concat(parts));
  return path;
}

/** The walk over a whole local file, unbounded, as the probe runs it on a downloaded picture or a test fixture. */
function checkIsoBmff(path: string): Promise<IsoBmffResult> {
  return withFileBytes(path, (bytes) => walkIsoBmff(bytes));
}

describe('walkIsoBmff', () => {
  it('accepts a well-formed MP4 written by ffmpeg', async () => {
    const result = await checkIsoBmff(wellFormed);
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.boxes).toEqual(expect.arrayContaining(['ftyp', 'moov', 'mdat']));
  });

  it('rejects a truncated MP4 and names the box that runs past the end', async () => {
    const result = await checkIsoBmff(truncated);
    expect(result).toEqual({ ok: false, reason: expect.stringMatching(/^box 'mdat' at offset \d+ declares \d+ bytes but only \d+ remain$/) as unknown });
  });

  it('rejects random bytes', async () => {
    // A fixed LCG keeps the bytes, and so the reason, the same on every run.
    let seed = 12345;
    const bytes = Buffer.from(Array.from({ length: 4096 }, () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 24));
    const result = await checkIsoBmff(await fileOf('random.bin', bytes));
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(/not an ISO base media file/);
  });

  it('parses a 64-bit largesize box', async () => {
    const mdat = box('mdat', Buffer.alloc(100, 7), { large: true });
    expect(await checkIsoBmff(await fileOf('large.mp4', ftyp, moov, mdat))).toEqual({ ok: true, boxes: ['ftyp', 'moov', 'mdat'], complete: true });
  });

  it('rejects a largesize that runs past the end of the file', async () => {
    const mdat = box('mdat', Buffer.alloc(100), { large: true, declaredSize: 2n ** 40n });
    const offset = ftyp.length + moov.length;
    expect(await checkIsoBmff(await fileOf('large-cut.mp4', ftyp, moov, mdat))).toEqual({
      ok: false,
      reason: `box 'mdat' at offset ${offset} declares ${2 ** 40} bytes but only ${mdat.length} remain`,
    });
  });

  it('accepts a last box of size 0 (extends to the end of the file)', async () => {
    const mdat = box('mdat', Buffer.alloc(50), { declaredSize: 0 });
    expect(await checkIsoBmff(await fileOf('zero-size.mp4', ftyp, moov, mdat))).toEqual({ ok: true, boxes: ['ftyp', 'moov', 'mdat'], complete: true });
  });

  it.each([
    ['a box smaller than its header', () => [ftyp, box('free', Buffer.alloc(0), { declaredSize: 4 }), moov], /'free' at offset 28 declares 4 bytes \(< 8\)/],
    ['a largesize smaller than its header', () => [ftyp, box('mdat', Buffer.alloc(0), { large: true, declaredSize: 8 }), moov], /64-bit size of 8 \(< 16\)/],
    ['no moov box', () => [ftyp, box('mdat', Buffer.alloc(64))], /^no moov box: the file is truncated or not finalised$/],
    ['a header cut off at the end', () => [ftyp, moov, Buffer.from([0, 0, 1])], /3 trailing bytes at offset \d+ are too short/],
  ])('rejects %s', async (name, parts, reason) => {
    const result = await checkIsoBmff(await fileOf(`${name.replaceAll(' ', '-')}.mp4`, ...parts()));
    expect(result).toEqual({ ok: false, reason: expect.stringMatching(reason) as unknown });
  });

  it('accepts a legacy QuickTime file that starts with a wide atom', async () => {
    const result = await checkIsoBmff(await fileOf('legacy.mov', box('wide', Buffer.alloc(0)), box('mdat', Buffer.alloc(16)), moov));
    expect(result).toEqual({ ok: true, boxes: ['wide', 'mdat', 'moov'], complete: true });
  });

  it('stops at its read budget over many fragments, saying it did not see the end, and reads one header per box', async () => {
    const fragment = Buffer.concat([box('moof', Buffer.alloc(24)), box('mdat', Buffer.alloc(40))]);
    const file = Buffer.concat([ftyp, moov, ...Array.from({ length: 50 }, () => fragment), Buffer.from([0, 0, 0x10, 0, 0x6d, 0x64, 0x61, 0x74])]);
    let reads = 0;
    const bytes = { size: file.length, read: (offset: number, length: number) => (reads++, Promise.resolve(file.subarray(offset, offset + length))) };
    expect(await walkIsoBmff(bytes, 10)).toEqual({
      ok: true,
      boxes: ['ftyp', 'moov', 'moof', 'mdat', 'moof', 'mdat', 'moof', 'mdat', 'moof', 'mdat'],
      complete: false,
    });
    expect(reads).toBe(10);
    // Unbounded, the same walk reaches the cut-off last box.
    expect(await walkIsoBmff(bytes)).toEqual({
      ok: false,
      reason: expect.stringMatching(/^box 'mdat' at offset \d+ declares 4096 bytes but only 8 remain$/) as unknown,
    });
  });
});
