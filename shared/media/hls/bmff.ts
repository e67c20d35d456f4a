/**
 * Reading ISO/IEC 14496-12 boxes out of a buffer: just enough structure for fragmented MP4 (init segments and
 * movie fragments), whose boxes are small and held in memory whole.
 */

export interface Box {
  readonly type: string;
  /** Offset of the box's first byte in the buffer. */
  readonly start: number;
  /** Offset of the payload (after size, type and any 64-bit largesize). */
  readonly body: number;
  /** Offset one past the box's last byte. */
  readonly end: number;
}

export class BoxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BoxError';
  }
}

/** §4.2: a 32-bit size (1: a 64-bit largesize follows the type; 0: to the end) and a four-character type. */
export function readBoxes(buffer: Buffer, start = 0, end = buffer.length): Box[] {
  const boxes: Box[] = [];
  let offset = start;
  while (offset < end) {
    if (end - offset < 8) throw new BoxError(`${end - offset} stray bytes at offset ${offset}`);
    const size32 = buffer.readUInt32BE(offset);
    const type = buffer.toString('latin1', offset + 4, offset + 8);
    let size = size32;
    let body = offset + 8;
    if (size32 === 1) {
      if (end - offset < 16) throw new BoxError(`box '${type}' at ${offset} is cut off inside its largesize`);
      size = Number(buffer.readBigUInt64BE(offset + 8));
      body = offset + 16;
    } else if (size32 === 0) {
      size = end - offset;
    }
    if (size < body - offset || offset + size > end) throw new BoxError(`box '${type}' at ${offset} declares ${size} bytes; ${end - offset} remain`);
    boxes.push({ type, start: offset, body, end: offset + size });
    offset += size;
  }
  return boxes;
}

export function childBoxes(buffer: Buffer, parent: Box, skip = 0): Box[] {
  return readBoxes(buffer, parent.body + skip, parent.end);
}

export function findChild(buffer: Buffer, parent: Box, type: string, skip = 0): Box | undefined {
  return childBoxes(buffer, parent, skip).find((box) => box.type === type);
}

/** Follows a path of box types from a parent, e.g. ['trak', 'mdia', 'mdhd']. */
export function findPath(buffer: Buffer, parent: Box, path: readonly string[]): Box | undefined {
  let current: Box | undefined = parent;
  for (const type of path) {
    if (!current) return undefined;
    current = findChild(buffer, current, type);
  }
  return current;
}

export function requireChild(buffer: Buffer, parent: Box, type: string): Box {
  const box = findChild(buffer, parent, type);
  if (!box) throw new BoxError(`'${parent.type}' at ${parent.start} has no '${type}'`);
  return box;
}

/** Full boxes (§4.2) start with an 8-bit version and 24-bit flags. */
export function versionAndFlags(buffer: Buffer, box: Box): { version: number; flags: number } {
  return { version: buffer.readUInt8(box.body), flags: buffer.readUIntBE(box.body + 1, 3) };
}

/** A 64-bit unsigned field as a number: media times stay far below 2^53 ticks (three million years at 90 kHz). */
export function readUint64(buffer: Buffer, offset: number): number {
  return Number(buffer.readBigUInt64BE(offset));
}
