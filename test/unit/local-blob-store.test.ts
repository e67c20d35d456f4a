import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalBlobStore, objectPath } from '../../shared/adapters/local/blob-store.ts';
import type { BlobMetadata } from '../../shared/ports/blob-store.ts';
import { BlobNotFoundError, PreconditionFailedError } from '../../shared/ports/blob-store.ts';
import type { Clock } from '../../shared/ports/clock.ts';

const md5 = (data: Buffer | string): string => createHash('md5').update(data).digest('base64');
const frozenClock = (ms: number): Clock => ({ now: () => new Date(ms) });

let root: string;

beforeEach(async () => {
  root = await fsp.mkdtemp(join(tmpdir(), 'local-blob-store-'));
});

afterEach(async () => {
  await fsp.rm(root, { recursive: true, force: true });
});

function store(options: { clock?: Clock; onFinalize?: (meta: BlobMetadata) => Promise<void> } = {}): LocalBlobStore {
  return new LocalBlobStore({ root, buckets: ['uploads', 'media-out'], ...options });
}

describe('LocalBlobStore', () => {
  it('round-trips write, read and stat with a GCS-style md5 and generation', async () => {
    const blobs = store({ clock: frozenClock(1_732_312_345_678) });
    const data = Buffer.from('hello, bucket');
    const written = await blobs.write({ bucket: 'uploads', name: 'hello.txt' }, data);

    expect(written).toMatchObject({ bucket: 'uploads', name: 'hello.txt', size: data.length, md5Hash: md5(data), metageneration: '1' });
    expect(written.generation).toBe('1732312345678000');
    expect(written.timeCreated.toISOString()).toBe('2024-11-22T21:52:25.678Z');
    expect(await blobs.read({ bucket: 'uploads', name: 'hello.txt' })).toEqual(data);
    expect(await blobs.stat({ bucket: 'uploads', name: 'hello.txt' })).toEqual(written);
    expect(await text(await blobs.createReadStream({ bucket: 'uploads', name: 'hello.txt' }))).toBe('hello, bucket');
    expect(await blobs.stat({ bucket: 'uploads', name: 'missing.txt' })).toBeUndefined();
    await expect(blobs.read({ bucket: 'uploads', name: 'missing.txt' })).rejects.toBeInstanceOf(BlobNotFoundError);
  });

  it('issues strictly increasing generations even when writes land in the same millisecond', async () => {
    const blobs = store({ clock: frozenClock(1_732_312_345_678) });
    const generations: bigint[] = [];
    for (let i = 0; i < 20; i++) generations.push(BigInt((await blobs.write({ bucket: 'uploads', name: `f${i % 3}` }, `${i}`)).generation));
    for (let i = 1; i < generations.length; i++) expect(generations[i]).toBeGreaterThan(generations[i - 1]!);

    const real = store();
    const a = await real.write({ bucket: 'uploads', name: 'x' }, 'a');
    const b = await real.write({ bucket: 'uploads', name: 'y' }, 'b');
    expect(a.generation).toMatch(/^\d{16}$/);
    expect(BigInt(b.generation)).toBeGreaterThan(BigInt(a.generation));
  });

  it('treats a pinned generation that is no longer live as gone', async () => {
    const blobs = store();
    const ref = { bucket: 'uploads', name: 'photo.jpg' };
    const first = await blobs.write(ref, 'v1');
    const second = await blobs.write(ref, 'v2');
    const stale = { ...ref, generation: first.generation };

    expect(await blobs.stat(stale)).toBeUndefined();
    await expect(blobs.read(stale)).rejects.toBeInstanceOf(BlobNotFoundError);
    await expect(blobs.createReadStream(stale)).rejects.toBeInstanceOf(BlobNotFoundError);
    await expect(blobs.download(stale, join(root, 'out', 'x'))).rejects.toBeInstanceOf(BlobNotFoundError);
    expect((await blobs.read({ ...ref, generation: second.generation })).toString()).toBe('v2');
  });

  it('lets exactly one of ten concurrent ifGenerationMatch "0" writers win', async () => {
    const blobs = store();
    const ref = { bucket: 'uploads', name: 'claim' };
    const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => blobs.write(ref, `writer ${i}`, { ifGenerationMatch: '0' })));
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r) => r.status === 'rejected');
    expect(won).toHaveLength(1);
    for (const r of lost) expect(r.reason).toBeInstanceOf(PreconditionFailedError);
    expect((await blobs.read(ref)).toString()).toBe(`writer ${results.indexOf(won[0]!)}`);
    expect(await fsp.readdir(join(root, '.tmp'))).toEqual([]);
  });

  it('honours ifGenerationMatch against the live generation', async () => {
    const blobs = store();
    const ref = { bucket: 'uploads', name: 'doc.json' };
    const first = await blobs.write(ref, '{}');
    const second = await blobs.write(ref, '[]', { ifGenerationMatch: first.generation });
    await expect(blobs.write(ref, 'late', { ifGenerationMatch: first.generation })).rejects.toBeInstanceOf(PreconditionFailedError);
    expect((await blobs.stat(ref))?.generation).toBe(second.generation);
  });

  it('uploads a file and downloads it into a new folder', async () => {
    const blobs = store();
    const source = join(root, 'source.bin');
    const data = Buffer.alloc(3 * 1024 * 1024 + 17, 'abc');
    await fsp.writeFile(source, data);
    const uploaded = await blobs.upload(source, { bucket: 'uploads', name: 'videos/clip.mp4' });
    expect(uploaded).toMatchObject({ size: data.length, md5Hash: md5(data), contentType: 'video/mp4' });

    const dest = join(root, 'work', 'deep', 'clip.mp4');
    const downloaded = await blobs.download({ bucket: 'uploads', name: 'videos/clip.mp4', generation: uploaded.generation }, dest);
    expect(downloaded).toEqual(uploaded);
    expect(md5(await fsp.readFile(dest))).toBe(md5(data));
  });

  it('lists objects recursively, filtered by prefix and sorted by name', async () => {
    const blobs = store();
    for (const name of ['b/2.txt', 'a/z.txt', 'b/10.txt', 'a/sub/x.txt', 'c.txt']) await blobs.write({ bucket: 'uploads', name }, name);
    await blobs.write({ bucket: 'media-out', name: 'b/other.txt' }, 'elsewhere');

    expect((await blobs.list('uploads')).map((m) => m.name)).toEqual(['a/sub/x.txt', 'a/z.txt', 'b/10.txt', 'b/2.txt', 'c.txt']);
    const underB = await blobs.list('uploads', 'b/');
    expect(underB.map((m) => m.name)).toEqual(['b/10.txt', 'b/2.txt']);
    expect(underB[0]?.md5Hash).toBe(md5('b/10.txt'));
    expect(await blobs.list('uploads', 'nothing/')).toEqual([]);
  });

  it('maps nested names to nested folders inside the bucket', async () => {
    const blobs = store();
    await blobs.write({ bucket: 'uploads', name: 'photos/2024/cat.jpg' }, 'meow');
    const file = objectPath(root, 'uploads', 'photos/2024/cat.jpg');
    expect(file).toBe(join(root, 'uploads', 'photos', '2024', 'cat.jpg'));
    expect(await fsp.readFile(file, 'utf8')).toBe('meow');
    expect(existsSync(join(root, '.meta', 'uploads', 'photos', '2024', 'cat.jpg.json'))).toBe(true);
  });

  it('rejects names that would escape or alias paths in the bucket folder', async () => {
    const blobs = store();
    const bad = ['../x', 'a/../../x', 'a//b', '.', '..', '/abs', 'trailing/', '', 'line\nbreak', 'x'.repeat(1025)];
    for (const name of bad) {
      await expect(blobs.write({ bucket: 'uploads', name }, 'nope'), name).rejects.toThrow(/invalid object name/);
      await expect(blobs.stat({ bucket: 'uploads', name }), name).rejects.toThrow(/invalid object name/);
    }
    expect(await fsp.readdir(root)).toEqual(expect.not.arrayContaining(['x']));
    expect(await blobs.list('uploads')).toEqual([]);
  });

  it('rejects unknown buckets and invalid bucket names', async () => {
    const blobs = store();
    await expect(blobs.write({ bucket: 'nope', name: 'a' }, 'x')).rejects.toThrow('bucket nope does not exist');
    await expect(blobs.stat({ bucket: 'nope', name: 'a' })).rejects.toThrow('bucket nope does not exist');
    await expect(blobs.list('nope')).rejects.toThrow('bucket nope does not exist');
    await expect(blobs.write({ bucket: 'nope', name: 'a' }, 'x')).rejects.not.toBeInstanceOf(BlobNotFoundError);
    for (const bucket of ['UPPER', 'ab', '.meta', '-dash', 'under_', 'a'.repeat(64)]) {
      expect(() => new LocalBlobStore({ root, buckets: [bucket] }), bucket).toThrow(/invalid bucket name/);
    }
  });

  it('awaits onFinalize once per write with the final metadata, and still keeps the write when it throws', async () => {
    const seen: BlobMetadata[] = [];
    const blobs = store({ onFinalize: (meta) => Promise.resolve(void seen.push(meta)) });
    const written = await blobs.write({ bucket: 'uploads', name: 'a.png' }, 'png');
    const uploadedFrom = join(root, 'src.txt');
    await fsp.writeFile(uploadedFrom, 'text');
    const uploaded = await blobs.upload(uploadedFrom, { bucket: 'uploads', name: 'b.txt' });
    await expect(blobs.write({ bucket: 'uploads', name: 'a.png' }, 'x', { ifGenerationMatch: '0' })).rejects.toThrow();
    expect(seen).toEqual([written, uploaded]);

    const failing = store({ onFinalize: () => Promise.reject(new Error('publish failed')) });
    await expect(failing.write({ bucket: 'uploads', name: 'c.txt' }, 'kept')).rejects.toThrow('publish failed');
    expect((await failing.read({ bucket: 'uploads', name: 'c.txt' })).toString()).toBe('kept');
  });

  it('persists custom metadata, contentType and cacheControl, and guesses contentType otherwise', async () => {
    const blobs = store();
    await blobs.write({ bucket: 'media-out', name: 'hls/index.m3u8' }, '#EXTM3U', {
      contentType: 'application/x-mpegURL',
      cacheControl: 'public, max-age=60',
      metadata: { producedBy: 'transcode', assetId: 'a1' },
    });
    const meta = await new LocalBlobStore({ root, buckets: ['media-out'] }).stat({ bucket: 'media-out', name: 'hls/index.m3u8' });
    expect(meta).toMatchObject({
      contentType: 'application/x-mpegURL',
      cacheControl: 'public, max-age=60',
      metadata: { producedBy: 'transcode', assetId: 'a1' },
    });

    const guesses = {
      'p.m3u8': 'application/vnd.apple.mpegurl',
      's.m4s': 'video/iso.segment',
      'c.vtt': 'text/vtt',
      'IMG.JPG': 'image/jpeg',
      'x.constructor': 'application/octet-stream',
      noext: 'application/octet-stream',
    };
    for (const [name, type] of Object.entries(guesses)) {
      expect((await blobs.write({ bucket: 'media-out', name }, 'x')).contentType, name).toBe(type);
    }
  });

  it('deletes objects and their sidecars, and refuses missing or stale ones', async () => {
    const blobs = store();
    const ref = { bucket: 'uploads', name: 'a/b' };
    const first = await blobs.write(ref, '1');
    await blobs.write(ref, '2');
    await expect(blobs.delete({ ...ref, generation: first.generation })).rejects.toBeInstanceOf(BlobNotFoundError);
    expect(await blobs.stat(ref)).toBeDefined();

    await blobs.delete(ref);
    expect(await blobs.stat(ref)).toBeUndefined();
    expect(existsSync(join(root, '.meta', 'uploads', 'a', 'b.json'))).toBe(false);
    await expect(blobs.delete(ref)).rejects.toBeInstanceOf(BlobNotFoundError);
    // The emptied folder 'a/' is gone, so 'a' can now be an object, as in GCS.
    expect((await blobs.write({ bucket: 'uploads', name: 'a' }, 'file')).size).toBe(4);
  });

  it('describes a hand-copied file without a sidecar from the file itself', async () => {
    const blobs = store();
    const file = join(root, 'uploads', 'dropped', 'song.mp3');
    await fsp.mkdir(join(root, 'uploads', 'dropped'));
    await fsp.writeFile(file, 'ID3 bytes');
    // Whole seconds: utimes goes through a float of seconds, which would blur milliseconds.
    const mtime = new Date('2024-05-06T07:08:09.000Z');
    await fsp.utimes(file, mtime, mtime);

    const meta = await blobs.stat({ bucket: 'uploads', name: 'dropped/song.mp3' });
    expect(meta).toMatchObject({ size: 9, md5Hash: md5('ID3 bytes'), contentType: 'audio/mpeg', metadata: {}, metageneration: '1' });
    expect(meta?.generation).toBe(`${mtime.getTime()}000`);
    expect(meta?.updated).toEqual(mtime);
    expect((await blobs.list('uploads')).map((m) => m.name)).toEqual(['dropped/song.mp3']);
    const next = await blobs.write({ bucket: 'uploads', name: 'dropped/song.mp3' }, 'new', { ifGenerationMatch: meta!.generation });
    expect(BigInt(next.generation)).toBeGreaterThan(BigInt(meta!.generation));

    // Replaced by hand after a write: the sidecar no longer describes the bytes, so the file wins.
    await fsp.writeFile(file, 'hand-edited bytes');
    expect(await blobs.stat({ bucket: 'uploads', name: 'dropped/song.mp3' })).toMatchObject({ size: 17, md5Hash: md5('hand-edited bytes') });
  });

  it('lets a new store on the same root see the objects and keep generations rising', async () => {
    const clock = frozenClock(1_700_000_000_000);
    const first = new LocalBlobStore({ root, buckets: ['uploads'], clock });
    const written = await first.write({ bucket: 'uploads', name: 'keep/me.webp' }, 'webp', { metadata: { k: 'v' } });

    const second = new LocalBlobStore({ root, buckets: ['uploads'], clock });
    expect(await second.stat({ bucket: 'uploads', name: 'keep/me.webp' })).toEqual(written);
    expect((await second.list('uploads')).map((m) => m.name)).toEqual(['keep/me.webp']);
    const rewritten = await second.write({ bucket: 'uploads', name: 'keep/me.webp' }, 'webp2', { ifGenerationMatch: written.generation });
    expect(BigInt(rewritten.generation)).toBeGreaterThan(BigInt(written.generation));
  });
});
