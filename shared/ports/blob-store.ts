import type { Readable } from 'node:stream';

/** Names one object, optionally pinned to a generation (GCS semantics: a pinned read of a replaced object fails). */
export interface BlobRef {
  readonly bucket: string;
  readonly name: string;
  /** Decimal string: GCS generations are int64 and do not fit a JS number. */
  readonly generation?: string;
}

export interface BlobMetadata {
  readonly bucket: string;
  readonly name: string;
  readonly generation: string;
  readonly metageneration: string;
  readonly size: number;
  readonly contentType?: string;
  readonly cacheControl?: string;
  /** Base64 MD5 of the content, as GCS reports it. */
  readonly md5Hash: string;
  readonly timeCreated: Date;
  readonly updated: Date;
  /** Custom metadata (x-goog-meta-*). The loop guard's marker lives here. */
  readonly metadata: Readonly<Record<string, string>>;
}

export interface WriteOptions {
  readonly contentType?: string;
  readonly cacheControl?: string;
  readonly metadata?: Readonly<Record<string, string>>;
  /** GCS precondition. '0' means "only if the object does not exist yet". */
  readonly ifGenerationMatch?: string;
}

/** Bytes [start, end] of an object, both inclusive, as in an HTTP Range header. */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

export interface BlobStore {
  /** Metadata of the live object, or undefined when it (or the pinned generation) does not exist. */
  stat(ref: BlobRef): Promise<BlobMetadata | undefined>;
  read(ref: BlobRef): Promise<Buffer>;
  /** The object's bytes, or only `range` of them: a media tool seeking in a large source reads what it needs. */
  createReadStream(ref: BlobRef, range?: ByteRange): Promise<Readable>;
  /** Copies the object to a local file. Throws BlobNotFoundError when it (or the pinned generation) is gone. */
  download(ref: BlobRef, destinationPath: string): Promise<BlobMetadata>;
  write(target: BlobRef, data: Buffer | string, options?: WriteOptions): Promise<BlobMetadata>;
  upload(sourcePath: string, target: BlobRef, options?: WriteOptions): Promise<BlobMetadata>;
  list(bucket: string, prefix?: string): Promise<BlobMetadata[]>;
  delete(ref: BlobRef): Promise<void>;
}

export class BlobNotFoundError extends Error {
  readonly ref: BlobRef;
  constructor(ref: BlobRef) {
    super(`gs://${ref.bucket}/${ref.name}${ref.generation ? `#${ref.generation}` : ''} does not exist`);
    this.name = 'BlobNotFoundError';
    this.ref = ref;
  }
}

export class PreconditionFailedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PreconditionFailedError';
  }
}
