/**
 * Writes comments (R128_TRACK_GAIN and mediaflow's own) into an Ogg Opus file after it was encoded: the gain is
 * only known once the single-decode pass has measured everything. The OpusTags packet (RFC 7845 §5.2) is rebuilt
 * and re-paged with fresh CRCs (RFC 3533 §6); audio pages are copied byte for byte.
 */
import type { FileHandle } from 'node:fs/promises';
import { copyRange, readBytes, rewriteFile } from './file-rewrite.ts';

const PAGE_HEADER_BYTES = 27;
/** A page's largest header: 27 bytes plus 255 lacing values. */
const MAX_PAGE_HEADER_BYTES = PAGE_HEADER_BYTES + 255;
const MAX_SEGMENTS_PER_PAGE = 255;
const CONTINUED_PACKET = 0x01;
const CRC_TABLE = crcTable();

interface Page {
  readonly offset: number;
  readonly headerType: number;
  readonly serial: number;
  readonly sequence: number;
  readonly segments: readonly number[];
  readonly bodyOffset: number;
  readonly bodyLength: number;
}

/** Sets the given comments, replacing any of the same name (names compare case-insensitively, as Vorbis comments do). */
export async function writeOpusComments(path: string, comments: Readonly<Record<string, string>>): Promise<void> {
  if (Object.keys(comments).length === 0) return;
  await rewriteFile(path, async (source, size, target) => {
    const head = await readPage(source, 0);
    // OpusHead is alone on the first page (RFC 7845 §3); OpusTags starts on the next and ends its last header page.
    const tagPages: Page[] = [];
    const packetParts: Buffer[] = [];
    let offset = head.bodyOffset + head.bodyLength;
    for (;;) {
      const page = await readPage(source, offset);
      tagPages.push(page);
      packetParts.push(await readBytes(source, page.bodyOffset, page.bodyLength));
      offset = page.bodyOffset + page.bodyLength;
      if (page.segments.at(-1) !== 255) break;
    }
    const packet = Buffer.concat(packetParts);
    if (packet.toString('latin1', 0, 8) !== 'OpusTags') throw new Error(`${path}: the second packet is not OpusTags`);
    const first = tagPages[0]!;
    const pages = paginate(rebuildTags(packet, comments), first.serial, first.sequence);
    if (pages.length !== tagPages.length) {
      throw new Error(`${path}: the new comment header needs ${pages.length} pages instead of ${tagPages.length}; later pages would need renumbering`);
    }
    await copyRange(source, target, 0, first.offset);
    for (const page of pages) await target.write(page);
    await copyRange(source, target, offset, size);
  });
}

/** The comment list with the given names replaced; trailing binary data is kept only if its first bit asks for it (§5.2). */
export function rebuildTags(packet: Buffer, comments: Readonly<Record<string, string>>): Buffer {
  let at = 8;
  const vendorLength = packet.readUInt32LE(at);
  const vendor = packet.subarray(at + 4, at + 4 + vendorLength);
  at += 4 + vendorLength;
  const count = packet.readUInt32LE(at);
  at += 4;
  const replaced = new Set(Object.keys(comments).map((name) => name.toUpperCase()));
  const kept: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const length = packet.readUInt32LE(at);
    const comment = packet.subarray(at + 4, at + 4 + length);
    at += 4 + length;
    const name = comment.toString('utf8').split('=', 1)[0]!.toUpperCase();
    if (!replaced.has(name)) kept.push(comment);
  }
  const trailing = packet.subarray(at);
  const all = [...kept, ...Object.entries(comments).map(([name, value]) => Buffer.from(`${name}=${value}`, 'utf8'))];
  const parts: Buffer[] = [Buffer.from('OpusTags', 'latin1'), uint32(vendor.length), vendor, uint32(all.length)];
  for (const comment of all) parts.push(uint32(comment.length), comment);
  if (trailing.length > 0 && (trailing[0]! & 1) === 1) parts.push(trailing);
  return Buffer.concat(parts);
}

/** Lays one packet out over pages: 255-byte segments, a final shorter one (possibly 0) ending the packet. */
function paginate(packet: Buffer, serial: number, firstSequence: number): Buffer[] {
  const lacing: number[] = [];
  for (let left = packet.length; ; left -= 255) {
    lacing.push(Math.min(left, 255));
    if (left < 255) break;
  }
  const pages: Buffer[] = [];
  let bodyAt = 0;
  for (let index = 0; index * MAX_SEGMENTS_PER_PAGE < lacing.length; index++) {
    const segments = lacing.slice(index * MAX_SEGMENTS_PER_PAGE, (index + 1) * MAX_SEGMENTS_PER_PAGE);
    const bodyLength = segments.reduce((sum, value) => sum + value, 0);
    const header = Buffer.alloc(PAGE_HEADER_BYTES + segments.length);
    header.write('OggS', 0, 'latin1');
    header[5] = index > 0 ? CONTINUED_PACKET : 0;
    // Header pages carry granule position 0 (RFC 7845 §3).
    header.writeBigInt64LE(0n, 6);
    header.writeUInt32LE(serial, 14);
    header.writeUInt32LE(firstSequence + index, 18);
    header[26] = segments.length;
    header.set(segments, PAGE_HEADER_BYTES);
    const page = Buffer.concat([header, packet.subarray(bodyAt, bodyAt + bodyLength)]);
    page.writeUInt32LE(oggCrc(page), 22);
    pages.push(page);
    bodyAt += bodyLength;
  }
  return pages;
}

async function readPage(handle: FileHandle, offset: number): Promise<Page> {
  const header = await readBytes(handle, offset, MAX_PAGE_HEADER_BYTES, true);
  if (header.toString('latin1', 0, 4) !== 'OggS') throw new Error(`no Ogg page at offset ${offset}`);
  const count = header[26]!;
  const segments = [...header.subarray(PAGE_HEADER_BYTES, PAGE_HEADER_BYTES + count)];
  return {
    offset,
    headerType: header[5]!,
    serial: header.readUInt32LE(14),
    sequence: header.readUInt32LE(18),
    segments,
    bodyOffset: offset + PAGE_HEADER_BYTES + count,
    bodyLength: segments.reduce((sum, value) => sum + value, 0),
  };
}

function uint32(value: number): Buffer {
  const buffer = Buffer.alloc(4);
  buffer.writeUInt32LE(value, 0);
  return buffer;
}

/** RFC 3533's CRC: polynomial 0x04c11db7, initial value 0, no reflection, no final XOR, over the page with its CRC field zeroed. */
export function oggCrc(page: Buffer): number {
  let crc = 0;
  for (let i = 0; i < page.length; i++) {
    const byte = i >= 22 && i < 26 ? 0 : page[i]!;
    crc = ((crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ byte) & 0xff]!) >>> 0;
  }
  return crc;
}

function crcTable(): Uint32Array {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let value = i << 24;
    for (let bit = 0; bit < 8; bit++) value = value & 0x80000000 ? ((value << 1) ^ 0x04c11db7) >>> 0 : (value << 1) >>> 0;
    table[i] = value >>> 0;
  }
  return table;
}
