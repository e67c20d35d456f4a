/**
 * GCS on the local disk: a folder per bucket, object bytes at `<root>/<bucket>/<name>` and a JSON sidecar with the
 * GCS metadata at `<root>/.meta/<bucket>/<name>.json` (bucket names cannot start with '.', so neither `.meta` nor
 * `.tmp` can collide with a bucket). It keeps the GCS behaviour the pipeline relies on: generations, preconditions,
 * pinned reads that fail once an object is replaced, and a finalize callback after every write.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import * as fsp from 'node:fs/promises';
import { dirname, extname, join, relative, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { BlobMetadata, BlobRef, BlobStore, ByteRange, WriteOptions } from '../../ports/blob-store.ts';
import { BlobNotFoundError, PreconditionFailedError } from '../../ports/blob-store.ts';
import type { Clock } from '../../ports/clock.ts';
import { systemClock } from '../../ports/clock.ts';
import { ConfigError, PermanentError, PermanentErrorCode } from '../../errors.ts';

export interface LocalBlobStoreOptions {
  root: string;
  /** The buckets that exist; their folders are created. Any other bucket fails like a GCS 404 bucket. */
  buckets: readonly string[];
  /** Source of generations and timestamps. Default systemClock. */
  clock?: Clock;
  /** Awaited after each successful write: the embedded runtime turns it into an OBJECT_FINALIZE notification. */
  onFinalize?: (meta: BlobMetadata) => Promise<void>;
}

const META_DIR = '.meta';
const TMP_DIR = '.tmp';
const BUCKET_NAME = /^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$/;

/** Why GCS (or, for path segments, the filesystem) would refuse this object name; undefined when it is fine. */
export function objectNameProblem(name: string): string | undefined {
  const bytes = Buffer.byteLength(name, 'utf8');
  if (!name.isWellFormed()) return 'must be valid UTF-8';
  if (bytes < 1 || bytes > 1024) return 'must be 1-1024 bytes of UTF-8';
  if (/[\r\n\0]/.test(name)) return 'must not contain CR, LF or NUL';
  const segments = name.split('/');
  // GCS accepts these, but on disk they would alias other names or escape the bucket folder.
  if (segments.some((s) => s === '' || s === '.' || s === '..')) return "must not have empty, '.' or '..' path segments";
  // 255 bytes is the usual filename limit; the sidecar appends '.json'.
  if (segments.some((s) => Buffer.byteLength(s, 'utf8') > 250)) return 'path segments must be at most 250 bytes';
  return undefined;
}

/** Where the object's bytes live. Validates, so the result always stays inside the bucket folder. */
export function objectPath(root: string, bucket: string, name: string): string {
  if (!BUCKET_NAME.test(bucket)) throw new PermanentError(PermanentErrorCode.INVALID_ARGUMENT, `invalid bucket name "${bucket}"`);
  const problem = objectNameProblem(name);
  if (problem) throw new PermanentError(PermanentErrorCode.INVALID_ARGUMENT, `invalid object name ${JSON.stringify(name)}: ${problem}`);
  return join(root, bucket, ...name.split('/'));
}

// A Map rather than an object literal, so names like 'x.constructor' cannot hit Object.prototype.
const CONTENT_TYPES = new Map<string, string>(
  Object.entries({
    jpg: 'image/jpeg',
    jpeg: 'image/jpeg',
    png: 'image/png',
    webp: 'image/webp',
    avif: 'image/avif',
    gif: 'image/gif',
    tif: 'image/tiff',
    tiff: 'image/tiff',
    heic: 'image/heic',
    mp3: 'audio/mpeg',
    m4a: 'audio/mp4',
    aac: 'audio/aac',
    wav: 'audio/wav',
    flac: 'audio/flac',
    ogg: 'audio/ogg',
    opus: 'audio/ogg',
    mp4: 'video/mp4',
    m4v: 'video/x-m4v',
    mov: 'video/quicktime',
    webm: 'video/webm',
    mkv: 'video/x-matroska',
    m3u8: 'application/vnd.apple.mpegurl',
    m4s: 'video/iso.segment',
    vtt: 'text/vtt',
    json: 'application/json',
  }),
);

export function guessContentType(name: string): string {
  return CONTENT_TYPES.get(extname(name).slice(1).toLowerCase()) ?? 'application/octet-stream';
}

/** What the sidecar JSON holds: the metadata minus what its path already says, with ISO dates. */
type Sidecar = Omit<BlobMetadata, 'bucket' | 'name' | 'timeCreated' | 'updated'> & { timeCreated: string; updated: string };
type Located = { key: string; file: string; sidecar: string };
type Staged = { size: number; md5Hash: string };

export class LocalBlobStore implements BlobStore {
  readonly #root: string;
  readonly #clock: Clock;
  readonly #buckets: ReadonlySet<string>;
  readonly #onFinalize: ((meta: BlobMetadata) => Promise<void>) | undefined;
  /** Per-object promise chains: they serialize writes (so exactly one ifGenerationMatch '0' wins) and reads. */
  readonly #locks = new Map<string, Promise<unknown>>();
  #lastGeneration = 0n;

  constructor(options: LocalBlobStoreOptions) {
    const bad = options.buckets.find((b) => !BUCKET_NAME.test(b));
    if (bad !== undefined) {
      throw new ConfigError(`invalid bucket name "${bad}": GCS wants 3-63 of a-z 0-9 - _ . starting and ending with a letter or digit`);
    }
    this.#root = options.root;
    this.#clock = options.clock ?? systemClock;
    this.#buckets = new Set(options.buckets);
    this.#onFinalize = options.onFinalize;
    // Synchronous so the store is usable as soon as it exists; it runs once at startup.
    for (const dir of [TMP_DIR, ...options.buckets]) mkdirSync(join(this.#root, dir), { recursive: true });
  }

  async stat(ref: BlobRef): Promise<BlobMetadata | undefined> {
    const at = this.#locate(ref);
    return this.#locked(at.key, async () => pinned(ref, await this.#live(ref, at)));
  }

  async read(ref: BlobRef): Promise<Buffer> {
    const { handle } = await this.#open(ref);
    return handle.readFile().finally(() => handle.close());
  }

  async createReadStream(ref: BlobRef, range?: ByteRange): Promise<Readable> {
    const { handle } = await this.#open(ref);
    return handle.createReadStream(range ? { start: range.start, end: range.end } : {});
  }

  async download(ref: BlobRef, destinationPath: string): Promise<BlobMetadata> {
    const { meta, handle } = await this.#open(ref);
    const copy = fsp
      .mkdir(dirname(destinationPath), { recursive: true })
      .then(() => pipeline(handle.createReadStream({ autoClose: false }), createWriteStream(destinationPath)));
    await copy.finally(() => handle.close());
    return meta;
  }

  async write(target: BlobRef, data: Buffer | string, options: WriteOptions = {}): Promise<BlobMetadata> {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    return this.#commit(target, options, async (tmp) => {
      await fsp.writeFile(tmp, bytes);
      return { size: bytes.length, md5Hash: createHash('md5').update(bytes).digest('base64') };
    });
  }

  async upload(sourcePath: string, target: BlobRef, options: WriteOptions = {}): Promise<BlobMetadata> {
    return this.#commit(target, options, async (tmp) => {
      await fsp.copyFile(sourcePath, tmp);
      // Hash the copy, not the source: the copy is what readers get, even if the source changes meanwhile.
      return { size: (await fsp.stat(tmp)).size, md5Hash: await md5OfFile(tmp) };
    });
  }

  async list(bucket: string, prefix = ''): Promise<BlobMetadata[]> {
    const dir = this.#bucketDir(bucket);
    const entries = await fsp.readdir(dir, { recursive: true, withFileTypes: true });
    const names = entries
      .filter((e) => e.isFile())
      .map((e) => relative(dir, join(e.parentPath, e.name)).split(sep).join('/'))
      .filter((name) => name.startsWith(prefix) && objectNameProblem(name) === undefined)
      // GCS lists in UTF-8 byte order, which differs from JS's UTF-16 order above the BMP.
      .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    const found: BlobMetadata[] = [];
    for (const name of names) {
      const meta = await this.stat({ bucket, name });
      if (meta) found.push(meta);
    }
    return found;
  }

  async delete(ref: BlobRef): Promise<void> {
    const at = this.#locate(ref);
    await this.#locked(at.key, async () => {
      if (!pinned(ref, await this.#live(ref, at))) throw new BlobNotFoundError(ref);
      await fsp.rm(at.file, { force: true });
      await fsp.rm(at.sidecar, { force: true });
      // An empty folder left at 'a/' would stop a later write of the object 'a'.
      await pruneEmptyDirs(dirname(at.file), join(this.#root, ref.bucket));
      await pruneEmptyDirs(dirname(at.sidecar), join(this.#root, META_DIR, ref.bucket));
    });
  }

  #bucketDir(bucket: string): string {
    if (!this.#buckets.has(bucket)) throw new Error(`bucket ${bucket} does not exist`);
    return join(this.#root, bucket);
  }

  #locate(ref: BlobRef): Located {
    this.#bucketDir(ref.bucket);
    const file = objectPath(this.#root, ref.bucket, ref.name);
    const sidecar = `${objectPath(join(this.#root, META_DIR), ref.bucket, ref.name)}.json`;
    return { key: `${ref.bucket}/${ref.name}`, file, sidecar };
  }

  #locked<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const result = (this.#locks.get(key) ?? Promise.resolve()).then(fn);
    // The chain never rejects, and the last link removes the key so the map does not grow with every name ever used.
    const tail: Promise<void> = result.then(noop, noop).then(() => {
      if (this.#locks.get(key) === tail) this.#locks.delete(key);
    });
    this.#locks.set(key, tail);
    return result;
  }

  /** The live object's metadata; callers hold the object's lock. */
  async #live(ref: BlobRef, at: Located): Promise<BlobMetadata | undefined> {
    const stats = await fsp.stat(at.file, { bigint: true }).catch(orUndefinedIfMissing);
    if (!stats?.isFile()) return undefined;
    const side = await fsp.readFile(at.sidecar, 'utf8').then(parseSidecar, orUndefinedIfMissing);
    // A size mismatch means the file was replaced by hand (or a crash hit between the two renames): trust the file.
    if (side && side.size === Number(stats.size)) {
      const { timeCreated, updated, ...rest } = side;
      return { ...rest, bucket: ref.bucket, name: ref.name, timeCreated: new Date(timeCreated), updated: new Date(updated) };
    }
    const mtime = new Date(Number(stats.mtimeMs));
    return {
      bucket: ref.bucket,
      name: ref.name,
      generation: (stats.mtimeNs / 1000n).toString(),
      metageneration: '1',
      size: Number(stats.size),
      contentType: guessContentType(ref.name),
      md5Hash: await md5OfFile(at.file),
      timeCreated: mtime,
      updated: mtime,
      metadata: {},
    };
  }

  /** Opens the live object under its lock, so the bytes read match the metadata even if a write follows. */
  async #open(ref: BlobRef): Promise<{ meta: BlobMetadata; handle: FileHandle }> {
    const at = this.#locate(ref);
    return this.#locked(at.key, async () => {
      const meta = pinned(ref, await this.#live(ref, at));
      if (!meta) throw new BlobNotFoundError(ref);
      return { meta, handle: await fsp.open(at.file, 'r') };
    });
  }

  async #commit(target: BlobRef, options: WriteOptions, stage: (tmp: string) => Promise<Staged>): Promise<BlobMetadata> {
    const at = this.#locate(target);
    const expected = options.ifGenerationMatch;
    if (expected !== undefined && !/^\d+$/.test(expected)) {
      throw new PermanentError(PermanentErrorCode.INVALID_ARGUMENT, `ifGenerationMatch must be a decimal generation, got "${expected}"`);
    }
    const tmp = join(this.#root, TMP_DIR, randomUUID());
    let meta: BlobMetadata;
    try {
      // Staged outside the lock, so copying a large file does not block readers of the current version.
      const content = await stage(tmp);
      meta = await this.#locked(at.key, async () => {
        const live = await this.#live(target, at);
        if (expected !== undefined && (live?.generation ?? '0') !== expected) {
          const actual = live?.generation ?? 'none';
          throw new PreconditionFailedError(`gs://${target.bucket}/${target.name}: ifGenerationMatch ${expected}, live generation ${actual}`);
        }
        const now = this.#clock.now();
        const written: BlobMetadata = {
          bucket: target.bucket,
          name: target.name,
          generation: this.#nextGeneration(live?.generation),
          metageneration: '1',
          ...content,
          contentType: options.contentType ?? guessContentType(target.name),
          cacheControl: options.cacheControl,
          timeCreated: now,
          updated: now,
          metadata: { ...options.metadata },
        };
        await renameInto(tmp, at.file, target);
        await fsp.writeFile(tmp, JSON.stringify(toSidecar(written)));
        await renameInto(tmp, at.sidecar, target);
        return written;
      });
    } finally {
      await fsp.rm(tmp, { force: true });
    }
    // Outside the lock: a finalize handler may well read or rewrite this same object.
    if (this.#onFinalize) await this.#onFinalize(meta);
    return meta;
  }

  /** Clock microseconds like GCS, kept above every generation this store issued and above the object's current one. */
  #nextGeneration(live: string | undefined): string {
    const micros = BigInt(this.#clock.now().getTime()) * 1000n;
    const floor = live !== undefined && BigInt(live) > this.#lastGeneration ? BigInt(live) : this.#lastGeneration;
    this.#lastGeneration = micros > floor ? micros : floor + 1n;
    return this.#lastGeneration.toString();
  }
}

function noop(): void {}

function toSidecar(meta: BlobMetadata): Sidecar {
  const { generation, metageneration, size, contentType, cacheControl, md5Hash, metadata } = meta;
  const dates = { timeCreated: meta.timeCreated.toISOString(), updated: meta.updated.toISOString() };
  return { generation, metageneration, size, contentType, cacheControl, md5Hash, ...dates, metadata: { ...metadata } };
}

/** GCS without object versioning keeps no old generations: a pin on anything but the live one finds nothing. */
function pinned(ref: BlobRef, live: BlobMetadata | undefined): BlobMetadata | undefined {
  return live && (ref.generation === undefined || ref.generation === live.generation) ? live : undefined;
}

function orUndefinedIfMissing(error: unknown): undefined {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
  throw error;
}

/** A sidecar someone edited into garbage is treated as absent, so the object is still described from its bytes. */
function parseSidecar(text: string): Sidecar | undefined {
  try {
    const v = JSON.parse(text) as Partial<Sidecar> | null;
    const ok =
      /^\d+$/.test(String(v?.generation)) &&
      typeof v?.size === 'number' &&
      typeof v.md5Hash === 'string' &&
      typeof v.timeCreated === 'string' &&
      typeof v.updated === 'string' &&
      typeof v.metadata === 'object' &&
      v.metadata !== null;
    return ok ? ({ metageneration: '1', ...v } as Sidecar) : undefined;
  } catch {
    return undefined;
  }
}

/** Base64 MD5 of a file, as GCS reports `md5Hash`. */
export async function md5OfFile(file: string): Promise<string> {
  const hash = createHash('md5');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('base64');
}

async function renameInto(from: string, to: string, ref: BlobRef): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await fsp.mkdir(dirname(to), { recursive: true });
      await fsp.rename(from, to);
      return;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // A delete of a sibling may prune the folder between mkdir and rename.
      if (code === 'ENOENT' && attempt < 3) continue;
      if (code === 'EEXIST' || code === 'ENOTDIR' || code === 'EISDIR') {
        const message = `gs://${ref.bucket}/${ref.name}: on disk an object cannot share its path with a folder of other objects`;
        throw new PermanentError(PermanentErrorCode.INVALID_ARGUMENT, message, { cause: error });
      }
      throw error;
    }
  }
}

async function pruneEmptyDirs(dir: string, stopAt: string): Promise<void> {
  for (let current = dir; current !== stopAt && current.startsWith(stopAt); current = dirname(current)) {
    const removed = await fsp.rmdir(current).then(
      () => true,
      () => false,
    );
    if (!removed) return;
  }
}
