/**
 * A random-access strtok3 tokenizer over a ByteSource (a local file, or an object read with byte ranges through
 * the BlobStore port), so music-metadata can read an upload's tags without a copy of it: it seeks past an MP4's
 * mdat to a moov at the end, reads an ID3v2 tag at the start and an ID3v1 tag at the end, and nothing else.
 */
import { AbstractTokenizer, EndOfStreamError, type IRandomAccessFileInfo, type IRandomAccessTokenizer, type IReadChunkOptions } from 'strtok3';
import type { ByteSource } from './input.ts';

/** Thrown when a read asks for more than the tokenizer allows: one read of a hostile 1 GB picture, or the reads of a box walk that never ends. */
export class ReadTooLargeError extends Error {
  readonly requested: number;
  constructor(requested: number, limit: number) {
    super(`a single read of ${requested} bytes exceeds the ${limit}-byte limit`);
    this.name = 'ReadTooLargeError';
    this.requested = requested;
  }
}

export class TooManyReadsError extends Error {
  constructor(limit: number) {
    super(`more than ${limit} reads (a fragmented or hostile file); stopped`);
    this.name = 'TooManyReadsError';
  }
}

export interface RangedTokenizerLimits {
  /** Bytes one read may take: bounds the memory a declared length can claim. */
  readonly maxReadBytes: number;
  /** Reads in all: each may cost a request to the store, and a fragmented MP4 has a box per fragment. */
  readonly maxReads: number;
}

export class RangedTokenizer extends AbstractTokenizer implements IRandomAccessTokenizer {
  readonly fileInfo: IRandomAccessFileInfo;
  private readonly source: ByteSource;
  private readonly limits: RangedTokenizerLimits;
  private reads = 0;

  /** The ByteSource's own read-ahead (source-server.ts) serves runs of small reads with one request. */
  constructor(source: ByteSource, limits: RangedTokenizerLimits, fileInfo: Omit<IRandomAccessFileInfo, 'size'> = {}) {
    super();
    this.source = source;
    this.limits = limits;
    this.fileInfo = { ...fileInfo, size: source.size };
  }

  supportsRandomAccess(): boolean {
    return true;
  }

  setPosition(position: number): void {
    this.validateLength(position, 'position');
    this.position = position;
  }

  async readBuffer(target: Uint8Array, options?: IReadChunkOptions): Promise<number> {
    const normal = this.normalizeOptions(target, options);
    const read = await this.peekBuffer(target, normal);
    this.position = normal.position + read;
    return read;
  }

  async peekBuffer(target: Uint8Array, options?: IReadChunkOptions): Promise<number> {
    const { position, length, mayBeLess } = this.normalizeOptions(target, options);
    const available = Math.max(0, Math.min(this.source.size - position, length));
    if (!mayBeLess && available < length) throw new EndOfStreamError();
    if (available > this.limits.maxReadBytes) throw new ReadTooLargeError(available, this.limits.maxReadBytes);
    if (++this.reads > this.limits.maxReads) throw new TooManyReadsError(this.limits.maxReads);
    let done = 0;
    // ByteSource.read returns fewer bytes only at the end of the source; loop anyway, a short read is not a fault.
    while (done < available) {
      const chunk = await this.source.read(position + done, available - done);
      if (chunk.length === 0) break;
      target.set(chunk, done);
      done += chunk.length;
    }
    if (!mayBeLess && done < length) throw new EndOfStreamError();
    return done;
  }
}
