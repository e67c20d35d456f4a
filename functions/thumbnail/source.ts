/**
 * Copies a picture's pinned generation into scratch space, hashing it on the way, so the MD5 recorded as
 * provenance is of the bytes actually rendered. libvips needs a seekable file (TIFF keeps its directory anywhere),
 * so a picture is not streamed into it; videos are served with byte ranges instead (shared/runtime/source-server).
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { BlobRef, BlobStore } from '../../shared/ports/blob-store.ts';

/** Returns the base64 MD5 of what was written, the form GCS reports. */
export async function fetchSource(blobs: BlobStore, ref: BlobRef, path: string, signal: AbortSignal): Promise<string> {
  const md5 = createHash('md5');
  const hashing = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      md5.update(chunk);
      callback(null, chunk);
    },
  });
  await pipeline(await blobs.createReadStream(ref), hashing, createWriteStream(path), { signal });
  return md5.digest('base64');
}
