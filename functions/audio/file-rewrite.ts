/**
 * Rewriting a rendition in place to change its header: the new file is written next to it and renamed over it, so
 * a failure never leaves half a file, and the unchanged bulk (the audio) is copied in chunks, never held whole.
 */
import { open, rename, rm } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';

const COPY_CHUNK_BYTES = 1 << 20;

export async function rewriteFile(path: string, write: (source: FileHandle, size: number, target: FileHandle) => Promise<void>): Promise<void> {
  const temporary = `${path}.rewrite`;
  const source = await open(path, 'r');
  try {
    const target = await open(temporary, 'w');
    try {
      await write(source, (await source.stat()).size, target);
    } finally {
      await target.close();
    }
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  } finally {
    await source.close();
  }
  await rename(temporary, path);
}

export async function copyRange(from: FileHandle, to: FileHandle, start: number, end: number): Promise<void> {
  const buffer = Buffer.alloc(Math.min(COPY_CHUNK_BYTES, Math.max(end - start, 1)));
  let position = start;
  while (position < end) {
    const { bytesRead } = await from.read(buffer, 0, Math.min(buffer.length, end - position), position);
    if (bytesRead === 0) throw new Error(`unexpected end of file at ${position}`);
    await to.write(buffer.subarray(0, bytesRead));
    position += bytesRead;
  }
}

export async function readBytes(handle: FileHandle, position: number, length: number, allowShort = false): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  const { bytesRead } = await handle.read(buffer, 0, length, position);
  if (bytesRead < length && !allowShort) throw new Error(`unexpected end of file at ${position + bytesRead}`);
  return buffer.subarray(0, bytesRead);
}
