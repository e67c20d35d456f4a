/**
 * The BlobStore port on Cloud Storage, behaving like the embedded LocalBlobStore wherever the pipeline could tell:
 * the same guessed content types, the same errors for missing objects, stale generations, failed preconditions and
 * unknown buckets. Every read and delete first resolves the live generation and then acts on exactly that generation,
 * so bytes always belong to the metadata the store reports and a pinned delete never removes a newer object.
 */
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Storage, type File, type FileMetadata } from '@google-cloud/storage';
import { errorMessage, PermanentError, PermanentErrorCode } from '../../errors.ts';
import type { BlobMetadata, BlobRef, BlobStore, ByteRange, WriteOptions } from '../../ports/blob-store.ts';
import { BlobNotFoundError, PreconditionFailedError } from '../../ports/blob-store.ts';
import { guessContentType } from '../local/blob-store.ts';

export interface GcsOptions {
  readonly projectId: string;
  /**
   * fake-gcs-server's endpoint, e.g. http://127.0.0.1:4443. Unset on GCP. The client sends no credentials to a
   * custom endpoint, which is what an emulator wants and keeps it from looking for a metadata server.
   */
  readonly apiEndpoint?: string;
}

export function createStorageClient(options: GcsOptions): Storage {
  const storage = new Storage({ projectId: options.projectId, ...(options.apiEndpoint ? { apiEndpoint: options.apiEndpoint } : {}) });
  if (options.apiEndpoint) {
    // When STORAGE_EMULATOR_HOST is set (the local cloud sets it), the client takes it verbatim as the JSON API base,
    // without the /storage/v1 that fake-gcs-server needs; adding the path to the variable would break uploads instead.
    storage.baseUrl = `${storage.apiEndpoint}/storage/v1`;
  }
  return storage;
}

export function createGcsBlobStore(options: GcsOptions): GcsBlobStore {
  return new GcsBlobStore(createStorageClient(options));
}

export class GcsBlobStore implements BlobStore {
  readonly #storage: Storage;
  /** Buckets seen to exist. Buckets are infrastructure, not created or deleted while the pipeline runs. */
  readonly #knownBuckets = new Set<string>();

  constructor(storage: Storage) {
    this.#storage = storage;
  }

  async stat(ref: BlobRef): Promise<BlobMetadata | undefined> {
    let live: BlobMetadata;
    try {
      const [raw] = await this.#file(ref.bucket, ref.name).getMetadata();
      live = toBlobMetadata(raw, ref);
    } catch (error) {
      const failure = await this.#failure(error, ref);
      if (failure instanceof BlobNotFoundError) return undefined;
      throw failure;
    }
    // Compared here rather than asking GCS for the pinned generation: a versioned bucket would still serve a replaced
    // generation, and the port promises that only the live one exists.
    return ref.generation === undefined || ref.generation === live.generation ? live : undefined;
  }

  async read(ref: BlobRef): Promise<Buffer> {
    const file = await this.#liveFile(ref);
    try {
      const [data] = await file.download();
      return data;
    } catch (error) {
      throw translate(error, ref);
    }
  }

  async createReadStream(ref: BlobRef, range?: ByteRange): Promise<Readable> {
    // A ranged read cannot be checked against the object's hash, and the client skips that check for one itself.
    const source = (await this.#liveFile(ref)).createReadStream(range ? { start: range.start, end: range.end } : {});
    // Re-emitted so that a generation replaced before the download starts surfaces as BlobNotFoundError, which the
    // steps turn into SOURCE_CHANGED; destroying the result ends the generator and with it the HTTP request.
    async function* chunks(): AsyncGenerator<Buffer> {
      try {
        for await (const chunk of source) yield chunk as Buffer;
      } catch (error) {
        throw translate(error, ref);
      } finally {
        source.destroy();
      }
    }
    return Readable.from(chunks(), { objectMode: false });
  }

  async download(ref: BlobRef, destinationPath: string): Promise<BlobMetadata> {
    const meta = await this.#require(ref);
    await mkdir(dirname(destinationPath), { recursive: true });
    try {
      await pipeline(this.#file(ref.bucket, ref.name, meta.generation).createReadStream(), createWriteStream(destinationPath));
    } catch (error) {
      throw translate(error, ref);
    }
    return meta;
  }

  async write(target: BlobRef, data: Buffer | string, options: WriteOptions = {}): Promise<BlobMetadata> {
    const file = this.#file(target.bucket, target.name);
    try {
      await file.save(data, uploadOptions(target, options));
    } catch (error) {
      throw await this.#failure(error, target);
    }
    // The upload's response is the new object's resource, so no second request is needed.
    return toBlobMetadata(file.metadata, target);
  }

  async upload(sourcePath: string, target: BlobRef, options: WriteOptions = {}): Promise<BlobMetadata> {
    try {
      // bucket.upload streams the file and, when it retries, reopens it rather than holding it in memory.
      const [file] = await this.#storage.bucket(target.bucket).upload(sourcePath, { destination: target.name, ...uploadOptions(target, options) });
      return toBlobMetadata(file.metadata, target);
    } catch (error) {
      throw await this.#failure(error, target);
    }
  }

  async list(bucket: string, prefix = ''): Promise<BlobMetadata[]> {
    let files: File[];
    try {
      [files] = await this.#storage.bucket(bucket).getFiles(prefix ? { prefix } : {});
    } catch (error) {
      // Listing names no object, so its 404 can only be the bucket's.
      throw statusOf(error) === 404 ? bucketMissing(bucket, error) : translate(error, { bucket, name: prefix });
    }
    return (
      files
        .map((file) => toBlobMetadata(file.metadata, { bucket, name: file.name }))
        // GCS already lists in UTF-8 byte order; sorted anyway so the order is the local store's by construction.
        .sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)))
    );
  }

  async delete(ref: BlobRef): Promise<void> {
    // fake-gcs-server ignores ifGenerationMatch on delete, which would have done this in one request.
    const file = await this.#liveFile(ref);
    try {
      await file.delete();
    } catch (error) {
      throw translate(error, ref);
    }
  }

  #file(bucket: string, name: string, generation?: string): File {
    // Only for reads and deletes: on an upload the client turns a File's generation into an ifGenerationMatch.
    return this.#storage.bucket(bucket).file(name, generation === undefined ? {} : { generation });
  }

  async #require(ref: BlobRef): Promise<BlobMetadata> {
    const meta = await this.stat(ref);
    if (!meta) throw new BlobNotFoundError(ref);
    return meta;
  }

  /** The live object pinned to its generation: if it is replaced before the request, GCS answers 404. */
  async #liveFile(ref: BlobRef): Promise<File> {
    const meta = await this.#require(ref);
    return this.#file(ref.bucket, ref.name, meta.generation);
  }

  /** Like translate, but tells a missing bucket from a missing object, which GCS and fake-gcs-server both 404. */
  async #failure(error: unknown, ref: BlobRef): Promise<unknown> {
    if (statusOf(error) === 404 && !(await this.#bucketExists(ref.bucket, ref.name))) return bucketMissing(ref.bucket, error);
    return translate(error, ref);
  }

  async #bucketExists(bucket: string, name: string): Promise<boolean> {
    if (this.#knownBuckets.has(bucket)) return true;
    try {
      // Listing needs only the object permissions the store has anyway; buckets.get would need more. Listed under the
      // object's own name, so a grant scoped to a prefix (a partner's, see terraform) allows it too.
      await this.#storage.bucket(bucket).getFiles({ prefix: name, maxResults: 1, autoPaginate: false });
    } catch (error) {
      if (statusOf(error) === 404) return false;
      throw error;
    }
    this.#knownBuckets.add(bucket);
    return true;
  }
}

type Upload = { resumable: false; contentType: string; metadata: FileMetadata; preconditionOpts?: { ifGenerationMatch: string } };

function uploadOptions(target: BlobRef, options: WriteOptions): Upload {
  const expected = options.ifGenerationMatch;
  if (expected !== undefined && !/^\d+$/.test(expected)) {
    throw new PermanentError(PermanentErrorCode.INVALID_ARGUMENT, `ifGenerationMatch must be a decimal generation, got "${expected}"`);
  }
  return {
    // One request, and retried whole: the pipeline's objects are far below the sizes where resumable sessions pay off.
    resumable: false,
    // The local store's guess rather than the client's: the client would call a .txt file text/plain, the local
    // store application/octet-stream, and the two runtimes must produce the same objects.
    contentType: options.contentType ?? guessContentType(target.name),
    // A rewrite replaces the metadata, as in the local store; nothing carries over from the previous generation.
    metadata: { ...(options.cacheControl === undefined ? {} : { cacheControl: options.cacheControl }), metadata: { ...options.metadata } },
    // A string: generations exceed Number.MAX_SAFE_INTEGER.
    ...(expected === undefined ? {} : { preconditionOpts: { ifGenerationMatch: expected } }),
  };
}

function toBlobMetadata(raw: FileMetadata, ref: BlobRef): BlobMetadata {
  const where = `gs://${ref.bucket}/${ref.name}`;
  const need = <T>(value: T | undefined, field: string): T => {
    if (value === undefined) throw new Error(`GCS returned no ${field} for ${where}`);
    return value;
  };
  return {
    bucket: raw.bucket ?? ref.bucket,
    name: raw.name ?? ref.name,
    generation: String(need(raw.generation, 'generation')),
    metageneration: String(raw.metageneration ?? '1'),
    size: Number(need(raw.size, 'size')),
    contentType: raw.contentType,
    cacheControl: raw.cacheControl,
    // Composite objects have no MD5; an empty hash matches no content, so integrity checks fail rather than pass.
    md5Hash: raw.md5Hash ?? '',
    timeCreated: new Date(need(raw.timeCreated, 'timeCreated')),
    updated: new Date(need(raw.updated, 'updated')),
    metadata: Object.fromEntries(Object.entries(raw.metadata ?? {}).flatMap(([key, value]) => (value === null ? [] : [[key, String(value)]]))),
  };
}

function statusOf(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

/** The port's errors for the HTTP statuses the pipeline reacts to; anything else stays as is and is retried. */
function translate(error: unknown, ref: BlobRef): unknown {
  switch (statusOf(error)) {
    case 404:
      return new BlobNotFoundError(ref);
    case 412:
      return new PreconditionFailedError(`gs://${ref.bucket}/${ref.name}: ifGenerationMatch does not match the live generation`);
    case 400:
      return new PermanentError(PermanentErrorCode.INVALID_ARGUMENT, `gs://${ref.bucket}/${ref.name}: ${errorMessage(error)}`, { cause: error });
    default:
      return error;
  }
}

/** Not a BlobNotFoundError: a missing bucket is a deployment fault, not a vanished source. Worded as the local store's. */
function bucketMissing(bucket: string, cause: unknown): Error {
  return new Error(`bucket ${bucket} does not exist`, { cause });
}
