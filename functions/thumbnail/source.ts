/**
 * Copies the pinned source generation into scratch space, hashing it on the way, so the MD5 recorded as
 * provenance is of the bytes actually rendered. Decoders need a seekable file (ffmpeg for an MP4 whose moov box is
 * at the end, libvips for TIFF), so the source is not streamed into them.
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
