/**
 * Structural check of ISO base media files (MP4, MOV, M4A, 3GP). ffprobe happily reports a faststart MP4 whose
 * mdat was cut short (the moov at the front describes every sample), and an upload cut off mid-transfer looks
 * exactly like that. Walking the top-level box headers catches it cheaply: only 16 bytes are read per box.
 */
import type { ByteSource } from './input.ts';

/** `complete` is false when the walk stopped at its read budget: what it saw was sound, the rest was not read. */
export type IsoBmffResult = { ok: true; boxes: string[]; complete: boolean } | { ok: false; reason: string };

/** Boxes a legacy QuickTime file may start with instead of 'ftyp' (QTFF predates ISO/IEC 14496-12). */
const LEGACY_FIRST_BOXES = new Set(['moov', 'mdat', 'wide', 'free', 'skip']);
/** Bounds the walk on hostile input (millions of 8-byte boxes); a long fragmented MP4 has tens of thousands. */
const MAX_BOXES = 1_000_000;

/**
 * ISO/IEC 14496-12 §4.2 (object structure): each box starts with a 32-bit big-endian size and a four-character
 * type. size 1 means a 64-bit largesize follows the type; size 0 means the box runs to the end of the file
 * (only legal for the last box). The size includes the header, so it can never be smaller than the header.
 * `maxReads` bounds the walk where each read is a request (an object in GCS): a fragmented
 * film has thousands of top-level boxes, and the walk then stops with `complete: false` rather than take minutes.
 */
export async function walkIsoBmff(bytes: ByteSource, maxReads = MAX_BOXES): Promise<IsoBmffResult> {
  const fileSize = bytes.size;
  const boxes: string[] = [];
  let offset = 0;
  while (offset < fileSize) {
    if (boxes.length >= MAX_BOXES) return { ok: false, reason: `more than ${MAX_BOXES} top-level boxes` };
    if (boxes.length >= maxReads) return { ok: true, boxes, complete: false };
    const remaining = fileSize - offset;
    if (remaining < 8) {
      return { ok: false, reason: `${remaining} trailing bytes at offset ${offset} are too short for a box header` };
    }
    const header = await bytes.read(offset, Math.min(16, remaining));
    const bytesRead = header.length;
    if (bytesRead < 8) return { ok: false, reason: `short read at offset ${offset}` };

    const type = fourCc(header.subarray(4, 8));
    const size32 = header.readUInt32BE(0);
    // Checked first so that arbitrary bytes are reported as "not this format" rather than as a bad size.
    if (boxes.length === 0 && type !== 'ftyp' && !LEGACY_FIRST_BOXES.has(type)) {
      return { ok: false, reason: `not an ISO base media file: the first box is '${type}', not 'ftyp'` };
    }
    let size: number;
    if (size32 === 1) {
      if (bytesRead < 16) return { ok: false, reason: `box '${type}' at offset ${offset} is cut off inside its 64-bit size` };
      const large = header.readBigUInt64BE(8);
      if (large < 16n) return { ok: false, reason: `box '${type}' at offset ${offset} declares a 64-bit size of ${large} (< 16)` };
      // Beyond 2^53 the number is imprecise, but any such size exceeds every real file and fails the check below.
      size = Number(large);
    } else if (size32 === 0) {
      size = remaining;
    } else if (size32 < 8) {
      return { ok: false, reason: `box '${type}' at offset ${offset} declares ${size32} bytes (< 8)` };
    } else {
      size = size32;
    }

    if (size > remaining) {
      return { ok: false, reason: `box '${type}' at offset ${offset} declares ${size} bytes but only ${remaining} remain` };
    }
    boxes.push(type);
    offset += size;
  }

  if (boxes.length === 0) return { ok: false, reason: 'the file is empty' };
  // HEIF/AVIF still images (ISO/IEC 23008-12) describe their items in a top-level 'meta' box instead of a 'moov'.
  if (!boxes.includes('moov') && !boxes.includes('meta')) {
    return { ok: false, reason: 'no moov box: the file is truncated or not finalised' };
  }
  return { ok: true, boxes, complete: true };
}

/** Non-printable bytes are shown as \xNN so the reason for garbage input stays readable in logs. */
function fourCc(bytes: Buffer): string {
  let text = '';
  for (const byte of bytes) {
    text += byte >= 0x20 && byte < 0x7f ? String.fromCharCode(byte) : `\\x${byte.toString(16).padStart(2, '0')}`;
  }
  return text;
}
