/**
 * The BlobStore port's observable behaviour, one suite for every implementation: what passes here against the
 * embedded store must hold on Cloud Storage. open() runs once per suite; each test works under its own name prefix,
 * so tests never see each other's objects.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PermanentError } from '../../shared/errors.ts';
import type { BlobRef, BlobStore } from '../../shared/ports/blob-store.ts';
import { BlobNotFoundError, PreconditionFailedError } from '../../shared/ports/blob-store.ts';

export interface OpenedBlobStore {
  readonly store: BlobStore;
  /** An existing, empty bucket the suite may use. */
  readonly bucket: string;
  dispose(): Promise<void>;
}

const md5 = (data: Buffer | string): string => createHash('md5').update(data).digest('base64');
const GENERATION = /^[1-9]\d*$/;

export function describeBlobStoreContract(name: string, open: () => Promise<OpenedBlobStore>): void {
  describe(`BlobStore contract: ${name}`, () => {
    let opened: OpenedBlobStore | undefined;
    let scratch = '';
    let prefix = '';
    let count = 0;

    const store = (): BlobStore => {
      if (!opened) throw new Error('store not opened');
      return opened.store;
    };
    const bucket = (): string => opened?.bucket ?? '';
    const at = (objectName: string, generation?: string): BlobRef => ({
      bucket: bucket(),
      name: `${prefix}${objectName}`,
      ...(generation === undefined ? {} : { generation }),
    });

    beforeAll(async () => {
      opened = await open();
      scratch = await fsp.mkdtemp(join(tmpdir(), 'blob-contract-'));
    });

    afterAll(async () => {
      await opened?.dispose();
      opened = undefined;
      await fsp.rm(scratch, { recursive: true, force: true });
    });

    beforeEach(() => {
      prefix = `t${++count}-${randomUUID().slice(0, 8)}/`;
    });

    it('round-trips write, stat and read with MD5, size, contentType, cacheControl and custom metadata', async () => {
      const data = Buffer.from('#EXTM3U\n#EXT-X-VERSION:7\n');
      const options = { contentType: 'application/x-mpegURL', cacheControl: 'public, max-age=60', metadata: { producedBy: 'transcode', assetId: 'a1' } };
      const written = await store().write(at('hls/index.m3u8'), data, options);

      expect(written).toMatchObject({ bucket: bucket(), name: `${prefix}hls/index.m3u8`, size: data.length, md5Hash: md5(data), metageneration: '1' });
      expect(written).toMatchObject({ contentType: options.contentType, cacheControl: options.cacheControl });
      expect(written.metadata).toEqual(options.metadata);
      expect(written.generation).toMatch(GENERATION);
      expect(Number.isNaN(written.timeCreated.getTime())).toBe(false);
      expect(Number.isNaN(written.updated.getTime())).toBe(false);
      expect(await store().stat(at('hls/index.m3u8'))).toEqual(written);
      expect(await store().read(at('hls/index.m3u8'))).toEqual(data);
    });

    it('guesses contentType from the name alike, and a rewrite keeps no metadata of the generation it replaces', async () => {
      await store().write(at('clip.mp4'), 'v1', { cacheControl: 'no-store', metadata: { k: 'v' } });
      const rewritten = await store().write(at('clip.mp4'), 'v2');
      expect(rewritten).toMatchObject({ contentType: 'video/mp4', metadata: {} });
      expect(rewritten.cacheControl).toBeUndefined();
      expect(await store().stat(at('clip.mp4'))).toEqual(rewritten);
      // The GCS client alone would say text/plain here.
      expect((await store().write(at('notes.txt'), 'x')).contentType).toBe('application/octet-stream');
      expect((await store().write(at('IMG.JPG'), 'x')).contentType).toBe('image/jpeg');
    });

    it('issues decimal generations, and a rewrite gets a greater one', async () => {
      const first = await store().write(at('doc.json'), '{}');
      const second = await store().write(at('doc.json'), '[]');
      expect(first.generation).toMatch(GENERATION);
      expect(second.generation).toMatch(GENERATION);
      expect(BigInt(second.generation)).toBeGreaterThan(BigInt(first.generation));
      expect((await store().stat(at('doc.json')))?.generation).toBe(second.generation);
      expect(await store().stat(at('doc.json', second.generation))).toEqual(second);
    });

    it('treats a pinned generation that is no longer live as gone', async () => {
      const first = await store().write(at('photo.jpg'), 'v1');
      const second = await store().write(at('photo.jpg'), 'v2');
      const stale = at('photo.jpg', first.generation);
      const dest = join(scratch, prefix, 'stale.jpg');

      expect(await store().stat(stale)).toBeUndefined();
      await expect(store().read(stale)).rejects.toBeInstanceOf(BlobNotFoundError);
      await expect(store().createReadStream(stale)).rejects.toBeInstanceOf(BlobNotFoundError);
      await expect(store().download(stale, dest)).rejects.toBeInstanceOf(BlobNotFoundError);
      expect(existsSync(dest)).toBe(false);
      expect((await store().read(at('photo.jpg', second.generation))).toString()).toBe('v2');
    });

    it('reports a missing object as undefined from stat and BlobNotFoundError elsewhere', async () => {
      const missing = at('never/written.bin');
      expect(await store().stat(missing)).toBeUndefined();
      await expect(store().read(missing)).rejects.toBeInstanceOf(BlobNotFoundError);
      await expect(store().createReadStream(missing)).rejects.toBeInstanceOf(BlobNotFoundError);
      await expect(store().download(missing, join(scratch, prefix, 'missing.bin'))).rejects.toBeInstanceOf(BlobNotFoundError);
      await expect(store().delete(missing)).rejects.toBeInstanceOf(BlobNotFoundError);
    });

    it('creates only once with ifGenerationMatch "0"', async () => {
      const claim = at('claims/order-1');
      const won = await store().write(claim, 'first', { ifGenerationMatch: '0' });
      await expect(store().write(claim, 'second', { ifGenerationMatch: '0' })).rejects.toBeInstanceOf(PreconditionFailedError);
      expect((await store().read(claim)).toString()).toBe('first');
      expect((await store().stat(claim))?.generation).toBe(won.generation);
    });

    it('honours ifGenerationMatch against the live generation, for write and upload, and refuses a malformed one', async () => {
      const ref = at('state.json');
      const first = await store().write(ref, '1');
      const second = await store().write(ref, '2', { ifGenerationMatch: first.generation });
      await expect(store().write(ref, 'late', { ifGenerationMatch: first.generation })).rejects.toBeInstanceOf(PreconditionFailedError);
      const source = join(scratch, `${prefix.slice(0, -1)}-state.json`);
      await fsp.writeFile(source, '3');
      await expect(store().upload(source, ref, { ifGenerationMatch: first.generation })).rejects.toBeInstanceOf(PreconditionFailedError);
      await expect(store().upload(source, ref, { ifGenerationMatch: '0' })).rejects.toBeInstanceOf(PreconditionFailedError);
      expect((await store().read(ref)).toString()).toBe('2');
      const third = await store().upload(source, ref, { ifGenerationMatch: second.generation });
      expect(BigInt(third.generation)).toBeGreaterThan(BigInt(second.generation));
      await expect(store().write(ref, 'x', { ifGenerationMatch: 'latest' })).rejects.toBeInstanceOf(PermanentError);
    });

    it('uploads a 3 MB file and downloads it byte for byte into a new folder', async () => {
      const data = randomBytes(3 * 1024 * 1024 + 17);
      const source = join(scratch, `${prefix.slice(0, -1)}-source.bin`);
      await fsp.writeFile(source, data);
      const uploaded = await store().upload(source, at('videos/clip.mp4'), { metadata: { assetId: 'a1' } });
      expect(uploaded).toMatchObject({ size: data.length, md5Hash: md5(data), contentType: 'video/mp4', metadata: { assetId: 'a1' } });
      expect(await store().stat(at('videos/clip.mp4'))).toEqual(uploaded);

      const dest = join(scratch, prefix, 'work', 'deep', 'clip.mp4');
      const downloaded = await store().download(at('videos/clip.mp4', uploaded.generation), dest);
      expect(downloaded).toEqual(uploaded);
      expect((await fsp.readFile(dest)).equals(data)).toBe(true);
    });

    it('streams the bytes of an object, pinned or not, and of an empty one, with createReadStream', async () => {
      const data = randomBytes(512 * 1024 + 3);
      const written = await store().write(at('audio/track.flac'), data);
      expect((await buffer(await store().createReadStream(at('audio/track.flac')))).equals(data)).toBe(true);
      expect((await buffer(await store().createReadStream(at('audio/track.flac', written.generation)))).equals(data)).toBe(true);
      await store().write(at('empty.bin'), '');
      expect(await buffer(await store().createReadStream(at('empty.bin')))).toHaveLength(0);
    });

    it.each([
      ['the first byte', 0, 0],
      ['a middle slice', 1000, 70_000],
      ['the tail to the last byte', 300_000, 512 * 1024 + 2],
      ['the last byte', 512 * 1024 + 2, 512 * 1024 + 2],
    ])('streams only a byte range of a pinned object: %s', async (_what, start, end) => {
      const data = randomBytes(512 * 1024 + 3);
      const written = await store().write(at('video/ranged.mp4'), data);
      const slice = await buffer(await store().createReadStream(at('video/ranged.mp4', written.generation), { start, end }));
      expect(slice.length).toBe(end - start + 1);
      expect(slice.equals(data.subarray(start, end + 1))).toBe(true);
    });

    it('lists objects under a prefix recursively, sorted by name, with their metadata', async () => {
      const written = new Map<string, unknown>();
      for (const objectName of ['b/2.txt', 'a/z.txt', 'b/10.txt', 'a/sub/x.txt', 'c.txt']) {
        written.set(`${prefix}${objectName}`, await store().write(at(objectName), objectName));
      }
      const all = await store().list(bucket(), prefix);
      expect(all.map((m) => m.name)).toEqual(['a/sub/x.txt', 'a/z.txt', 'b/10.txt', 'b/2.txt', 'c.txt'].map((n) => `${prefix}${n}`));
      for (const meta of all) expect(meta).toEqual(written.get(meta.name));

      const underB = await store().list(bucket(), `${prefix}b/`);
      expect(underB.map((m) => m.name)).toEqual([`${prefix}b/10.txt`, `${prefix}b/2.txt`]);
      expect(underB[0]?.md5Hash).toBe(md5('b/10.txt'));
      expect(await store().list(bucket(), `${prefix}nothing/`)).toEqual([]);

      const everything = (await store().list(bucket())).map((m) => m.name);
      expect(everything.filter((n) => n.startsWith(prefix))).toEqual(all.map((m) => m.name));
      expect(everything).toEqual([...everything].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
    });

    it('deletes the live object, and refuses missing or stale generations', async () => {
      const ref = at('x/y.bin');
      const first = await store().write(ref, '1');
      const second = await store().write(ref, '2');
      await expect(store().delete(at('x/y.bin', first.generation))).rejects.toBeInstanceOf(BlobNotFoundError);
      expect((await store().stat(ref))?.generation).toBe(second.generation);

      await store().delete(at('x/y.bin', second.generation));
      expect(await store().stat(ref)).toBeUndefined();
      await expect(store().read(ref)).rejects.toBeInstanceOf(BlobNotFoundError);
      await expect(store().delete(ref)).rejects.toBeInstanceOf(BlobNotFoundError);
      // With 'x/y.bin' gone, 'x' can be an object (the local store must not leave a folder behind).
      expect((await store().write(at('x'), 'file')).size).toBe(4);
      await store().delete(at('x'));
      expect(await store().list(bucket(), prefix)).toEqual([]);
    });

    it('keeps nested names such as a/b/c.jpg intact', async () => {
      const written = await store().write(at('a/b/c.jpg'), 'jpeg bytes');
      expect(written).toMatchObject({ name: `${prefix}a/b/c.jpg`, contentType: 'image/jpeg' });
      expect((await store().read(at('a/b/c.jpg'))).toString()).toBe('jpeg bytes');
      expect(await store().stat(at('a/b'))).toBeUndefined();
      expect((await store().list(bucket(), `${prefix}a/b/`)).map((m) => m.name)).toEqual([`${prefix}a/b/c.jpg`]);
    });

    it('fails clearly, and not with BlobNotFoundError, for a bucket that does not exist', async () => {
      const missing = `no-such-bucket-${randomUUID().slice(0, 8)}`;
      const ref = { bucket: missing, name: 'a.txt' };
      const source = join(scratch, `${prefix.slice(0, -1)}-a.txt`);
      await fsp.writeFile(source, 'a');
      const attempts: Record<string, () => Promise<unknown>> = {
        stat: () => store().stat(ref),
        read: () => store().read(ref),
        write: () => store().write(ref, 'a'),
        upload: () => store().upload(source, ref),
        list: () => store().list(missing),
        delete: () => store().delete(ref),
      };
      for (const [operation, attempt] of Object.entries(attempts)) {
        const error: unknown = await attempt().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error, operation).toBeInstanceOf(Error);
        expect(error, operation).not.toBeInstanceOf(BlobNotFoundError);
        expect((error as Error).message, operation).toBe(`bucket ${missing} does not exist`);
      }
    });
  });
}
