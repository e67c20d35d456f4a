/**
 * What a media tool reads, and the only protocols it may use to read it: ffmpeg follows URLs found inside media
 * (HLS playlists, reference movies, concat lists), so every input names its protocols and nothing else is allowed.
 * Beside it, the same bytes for the checks that read them directly (a box walk, a sniff of the first bytes).
 */
import { open } from 'node:fs/promises';

export interface MediaInput {
  readonly url: string;
  /** ffmpeg's -protocol_whitelist for this input. */
  readonly protocols: string;
  /** ffmpeg's -format_whitelist, where the protocols could reach other hosts (MediaTools.sourceDemuxers). */
  readonly demuxers?: string;
}

/** `file:` stops a name like "concat:a|b" or "-x" from being read as a protocol or an option. */
export function fileInput(path: string): MediaInput {
  return { url: `file:${path}`, protocols: 'file' };
}

/** The arguments that open `input`, placed after the input options they follow. */
export function inputArgs(input: MediaInput): string[] {
  return [...(input.demuxers === undefined ? [] : ['-format_whitelist', input.demuxers]), '-protocol_whitelist', input.protocols, '-i', input.url];
}

/** Random access to the bytes of a local file or of an object read with byte ranges. */
export interface ByteSource {
  readonly size: number;
  /** Up to `length` bytes from `offset`; fewer only at the end of the bytes. */
  read(offset: number, length: number): Promise<Buffer>;
}

/** A local file's bytes for the duration of `fn`, through one handle (a box walk reads thousands of headers). */
export async function withFileBytes<T>(path: string, fn: (bytes: ByteSource) => Promise<T>): Promise<T> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    return await fn({
      size,
      async read(offset, length) {
        const buffer = Buffer.alloc(Math.max(0, Math.min(length, size - offset)));
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, offset);
        return buffer.subarray(0, bytesRead);
      },
    });
  } finally {
    await handle.close();
  }
}
