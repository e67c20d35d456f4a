/**
 * The number of samples an Ogg Opus file plays (RFC 7845 §4): the last page's granule position less the
 * OpusHead's pre-skip. Both are always at 48 kHz, whatever the input rate field says. This is how players trim
 * the encoder's delay and the last packet's padding, so it is the rendition's gapless length.
 */
import { open } from 'node:fs/promises';
import { readBytes } from './file-rewrite.ts';

const PAGE_HEADER_BYTES = 27;
/** OpusHead's pre_skip: a 16-bit little-endian count after "OpusHead", version and channel count (§5.1). */
const PRE_SKIP_OFFSET = 10;
/** A page is at most 27 + 255 + 255 × 255 bytes: the last one starts within this much of the end. */
const MAX_PAGE_BYTES = PAGE_HEADER_BYTES + 255 + 255 * 255;

export async function readOpusSamples(path: string): Promise<number> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    const first = await readBytes(handle, 0, Math.min(size, PAGE_HEADER_BYTES + 255 + 19), true);
    if (first.toString('latin1', 0, 4) !== 'OggS') throw new Error(`${path} does not start with an Ogg page`);
    const body = PAGE_HEADER_BYTES + first[26]!;
    if (first.toString('latin1', body, body + 8) !== 'OpusHead') throw new Error(`${path}: the first packet is not OpusHead`);
    const preSkip = first.readUInt16LE(body + PRE_SKIP_OFFSET);
    const tailStart = Math.max(0, size - MAX_PAGE_BYTES);
    const tail = await readBytes(handle, tailStart, size - tailStart);
    // The last page is the one that ends exactly at the end of the file; "OggS" inside audio data does not.
    // (Buffer#lastIndexOf counts a negative offset from the end, hence the explicit stop at 0.)
    for (
      let at = tail.lastIndexOf('OggS', tail.length - PAGE_HEADER_BYTES, 'latin1');
      at >= 0;
      at = at === 0 ? -1 : tail.lastIndexOf('OggS', at - 1, 'latin1')
    ) {
      if (at + PAGE_HEADER_BYTES > tail.length) continue;
      const segments = tail[at + 26]!;
      let length = PAGE_HEADER_BYTES + segments;
      for (let i = 0; i < segments && at + PAGE_HEADER_BYTES + i < tail.length; i++) length += tail[at + PAGE_HEADER_BYTES + i]!;
      if (at + length === tail.length) return Number(tail.readBigInt64LE(at + 6)) - preSkip;
    }
    throw new Error(`${path}: no Ogg page ends the file`);
  } finally {
    await handle.close();
  }
}
