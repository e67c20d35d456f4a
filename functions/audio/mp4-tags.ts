/**
 * Writes iTunes-style freeform tags (`----` items: mean "com.apple.iTunes", name, UTF-8 data) into an M4A, which
 * is where players look for ReplayGain in MP4 (foobar2000, TagLib, Rockbox). ffmpeg's muxer cannot write them, and
 * the gain is only known after the encode, so the moov is edited afterwards: the tags go into moov/udta/meta/ilst
 * and, since the moov sits before the mdat (faststart), every chunk offset (stco/co64) moves by the growth.
 * ISO/IEC 14496-12 §4.2 box structure; §8.7.5 chunk offsets; §8.11.1 meta as a FullBox.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { copyRange, rewriteFile } from './file-rewrite.ts';

const FREEFORM_MEAN = 'com.apple.iTunes';
/** Boxes whose payload is only child boxes, on the paths to udta/meta/ilst and to every stco/co64. */
const CONTAINERS = new Set(['moov', 'trak', 'mdia', 'minf', 'stbl', 'udta', 'ilst', 'edts', 'dinf']);

export interface Box {
  type: string;
  /** Leaf payload (after the 8-byte header), or the FullBox prefix of a container like meta. */
  payload: Buffer;
  children?: Box[];
}

/** Replaces (or adds) the given freeform tags; other tags, and the audio, are left as they are. */
export async function writeMp4FreeformTags(path: string, tags: Readonly<Record<string, string>>): Promise<void> {
  if (Object.keys(tags).length === 0) return;
  await rewriteFile(path, async (source, size, target) => {
    const moov = await findTopLevel(source, size, 'moov');
    if (!moov) throw new Error(`${path} has no moov box`);
    const original = Buffer.alloc(moov.size);
    await source.read(original, 0, moov.size, moov.offset);
    const tree = parseBox(original, 0, moov.size);
    setFreeformTags(tree, tags);
    const delta = serialize(tree).length - moov.size;
    if (delta !== 0) shiftChunkOffsets(tree, moov.offset, delta);
    await copyRange(source, target, 0, moov.offset);
    await target.write(serialize(tree));
    await copyRange(source, target, moov.offset + moov.size, size);
  });
}

/** The moov of an MP4 file, parsed into boxes (leaves keep their payload), for reading. */
export async function readMoov(path: string): Promise<Box> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    const moov = await findTopLevel(handle, size, 'moov');
    if (!moov) throw new Error(`${path} has no moov box`);
    const bytes = Buffer.alloc(moov.size);
    await handle.read(bytes, 0, moov.size, moov.offset);
    return parseBox(bytes, 0, moov.size);
  } finally {
    await handle.close();
  }
}

async function findTopLevel(handle: FileHandle, fileSize: number, type: string): Promise<{ offset: number; size: number } | undefined> {
  const header = Buffer.alloc(16);
  let offset = 0;
  while (offset + 8 <= fileSize) {
    await handle.read(header, 0, 16, offset);
    const size32 = header.readUInt32BE(0);
    const size = size32 === 1 ? Number(header.readBigUInt64BE(8)) : size32 === 0 ? fileSize - offset : size32;
    if (size < 8) throw new Error(`box at offset ${offset} declares ${size} bytes`);
    if (header.toString('latin1', 4, 8) === type) return { offset, size };
    offset += size;
  }
  return undefined;
}

function parseBox(buffer: Buffer, start: number, end: number): Box {
  const size = buffer.readUInt32BE(start);
  if (size < 8 || start + size > end) throw new Error(`malformed box at ${start}`);
  const type = buffer.toString('latin1', start + 4, start + 8);
  const body = buffer.subarray(start + 8, start + size);
  if (type === 'meta') {
    // ISO meta is a FullBox (4 bytes of version and flags before its children); QuickTime's has none.
    const prefix = body.readUInt32BE(0) === 0 ? 4 : 0;
    return { type, payload: Buffer.from(body.subarray(0, prefix)), children: parseChildren(body, prefix) };
  }
  if (CONTAINERS.has(type)) return { type, payload: Buffer.alloc(0), children: parseChildren(body, 0) };
  return { type, payload: Buffer.from(body) };
}

function parseChildren(body: Buffer, from: number): Box[] {
  const children: Box[] = [];
  let offset = from;
  while (offset + 8 <= body.length) {
    const child = parseBox(body, offset, body.length);
    children.push(child);
    offset += body.readUInt32BE(offset);
  }
  return children;
}

function serialize(box: Box): Buffer {
  const parts = [box.payload, ...(box.children ?? []).map(serialize)];
  const length = 8 + parts.reduce((sum, part) => sum + part.length, 0);
  const header = Buffer.alloc(8);
  header.writeUInt32BE(length, 0);
  header.write(box.type, 4, 'latin1');
  return Buffer.concat([header, ...parts], length);
}

function child(parent: Box, type: string, create: () => Box): Box {
  parent.children ??= [];
  let found = parent.children.find((candidate) => candidate.type === type);
  if (!found) {
    found = create();
    parent.children.push(found);
  }
  return found;
}

function setFreeformTags(moov: Box, tags: Readonly<Record<string, string>>): void {
  const udta = child(moov, 'udta', () => ({ type: 'udta', payload: Buffer.alloc(0), children: [] }));
  const meta = child(udta, 'meta', () => ({ type: 'meta', payload: Buffer.alloc(4), children: [metadataHandler()] }));
  const ilst = child(meta, 'ilst', () => ({ type: 'ilst', payload: Buffer.alloc(0), children: [] }));
  const names = new Set(Object.keys(tags).map((name) => name.toLowerCase()));
  ilst.children = (ilst.children ?? []).filter((item) => !(item.type === '----' && names.has(freeformName(item)?.toLowerCase() ?? '')));
  for (const [name, value] of Object.entries(tags)) ilst.children.push(freeformItem(name, value));
}

/** hdlr of an iTunes metadata box: handler 'mdir', manufacturer 'appl', empty name. */
function metadataHandler(): Box {
  const payload = Buffer.alloc(25);
  payload.write('mdir', 8, 'latin1');
  payload.write('appl', 12, 'latin1');
  return { type: 'hdlr', payload };
}

function freeformItem(name: string, value: string): Box {
  const fullBox = (type: string, text: string): Box => ({ type, payload: Buffer.concat([Buffer.alloc(4), Buffer.from(text, 'utf8')]) });
  // data: version 0, flags 1 (well-known type UTF-8), then a 4-byte locale of 0.
  const data = Buffer.concat([Buffer.from([0, 0, 0, 1, 0, 0, 0, 0]), Buffer.from(value, 'utf8')]);
  return { type: '----', payload: Buffer.alloc(0), children: [fullBox('mean', FREEFORM_MEAN), fullBox('name', name), { type: 'data', payload: data }] };
}

function freeformName(item: Box): string | undefined {
  if (item.children === undefined && item.payload.length > 0) {
    const parsed = parseChildren(item.payload, 0);
    const name = parsed.find((box) => box.type === 'name');
    return name?.payload.toString('utf8', 4);
  }
  return item.children?.find((box) => box.type === 'name')?.payload.toString('utf8', 4);
}

/** Chunk offsets that point past the moov's old position move with everything after it. */
function shiftChunkOffsets(box: Box, moovOffset: number, delta: number): void {
  if (box.type === 'stco') {
    const count = box.payload.readUInt32BE(4);
    for (let i = 0; i < count; i++) {
      const at = 8 + i * 4;
      const offset = box.payload.readUInt32BE(at);
      if (offset < moovOffset) continue;
      const moved = offset + delta;
      if (moved > 0xffffffff) throw new Error('chunk offset no longer fits stco; the file would need co64');
      box.payload.writeUInt32BE(moved, at);
    }
  } else if (box.type === 'co64') {
    const count = box.payload.readUInt32BE(4);
    for (let i = 0; i < count; i++) {
      const at = 8 + i * 8;
      const offset = box.payload.readBigUInt64BE(at);
      if (offset >= BigInt(moovOffset)) box.payload.writeBigUInt64BE(offset + BigInt(delta), at);
    }
  }
  for (const nested of box.children ?? []) shiftChunkOffsets(nested, moovOffset, delta);
}
