/**
 * What a HEIF/AVIF still image is, from its `meta` box alone (ISO/IEC 23008-12 §9; box syntax ISO/IEC 14496-12
 * §8.11): the primary item, its codec, the size it is shown at, its colour signalling, and whether its data lies
 * inside the file. No pixel is decoded: this is what lets ingest refuse a giant grid before anything allocates it,
 * and lets the thumbnail step pick a decoder. Like the PNG/JPEG header readers in sniff.ts it reads only what it
 * needs and bounds every loop, so a hostile `meta` costs a few reads.
 *
 * Boxes read: pitm (primary item), iinf/infe (item types, hidden flag), iloc (where item data is), iref (dimg:
 * grid → tiles, iden → source; auxl/thmb: auxiliary images and thumbnails, which are never the picture), idat,
 * iprp/ipco/ipma (properties: ispe size, irot/imir/clap transforms, colr colour).
 */
import { PermanentError, PermanentErrorCode } from '../errors.ts';
import { describePixels, formatPixels, MAX_IMAGE_PIXELS } from './image-limits.ts';

/** A random-access view of the file: sniff.ts' window reader, or a whole buffer. */
export interface BoxReader {
  readonly size: number;
  /** Up to `length` bytes from `offset`; fewer only at the end of the file. */
  read(offset: number, length: number): Promise<Buffer>;
}

export interface HeifColour {
  /** A colr box of type 'prof' or 'rICC' (an ICC profile) is present; the decoders carry it with the pixels. */
  readonly icc: boolean;
  /** colr 'nclx' (ITU-T H.273 code points), when present. */
  readonly nclx?: { readonly primaries: number; readonly transfer: number; readonly matrix: number; readonly fullRange: boolean };
}

export interface HeifHeader {
  /** ffprobe's name for the primary item's coding: 'hevc' (HEIC) or 'av1' (AVIF). */
  readonly codec: 'hevc' | 'av1';
  /** As shown: the primary item's size after its clean aperture, rotation and mirror (irot/imir/clap). */
  readonly width: number;
  readonly height: number;
  /** Clockwise quarter turns the decoder applies from `irot` (irot itself counts anticlockwise). */
  readonly rotation: 0 | 90 | 180 | 270;
  readonly mirrored: boolean;
  /** Pixels a decoder allocates for the primary: a grid's tiles can exceed its (cropped) output size. */
  readonly decodedPixels: number;
  /** A grid of tiles (iPhone photos are 512×512 tiles), with its rows × columns. */
  readonly grid?: { readonly rows: number; readonly columns: number };
  /** Image items a whole-file converter would decode besides the primary (a burst or collection). */
  readonly otherTopLevelImages: number;
  readonly colour: HeifColour;
}

/** iPhone photos carry ~10–40 KB of meta (a 48-tile grid); this leaves room and bounds a hostile one. */
const MAX_META_BYTES = 4 * 1024 * 1024;
/** Top-level boxes read looking for meta: ftyp, meta, mdat in practice; free/skip/uuid boxes may interleave. */
const MAX_TOP_LEVEL_BOXES = 64;
/** Items, properties, references and extents a real file has are in the tens to hundreds. */
const MAX_ENTRIES = 65_536;
/** Coded image item types (§6.x of the HEIF and AVIF specs); derived types are resolved to what they derive from. */
const CODECS: Readonly<Record<string, HeifHeader['codec']>> = { hvc1: 'hevc', av01: 'av1' };
const DERIVED = new Set(['grid', 'iden']);
/** Item types that are pictures and so may count as top-level images (libheif's list). */
const IMAGE_ITEM_TYPES = new Set(['hvc1', 'av01', 'grid', 'iden', 'iovl', 'jpeg', 'unci', 'vvc1', 'j2k1']);
/** libvips keeps sizes in a C int. */
const MAX_DIMENSION = 2 ** 31 - 1;

interface Item {
  readonly type: string;
  readonly hidden: boolean;
}
interface Extent {
  readonly method: number;
  readonly offset: number;
  readonly length: number;
}
interface Property {
  readonly type: string;
  readonly body: Buffer;
}

/** The parsed meta box: enough to answer every question above. */
interface Meta {
  primary: number | undefined;
  readonly items: Map<number, Item>;
  readonly locations: Map<number, Extent[]>;
  /** type → from → to[] */
  readonly references: Map<string, Map<number, number[]>>;
  readonly properties: Property[];
  /** item → 1-based property indexes, in association order (transforms apply in this order). */
  readonly associations: Map<number, number[]>;
  idat: Buffer | undefined;
}

/**
 * The primary image's header facts. Undefined when the file is a sequence (a 'moov' box: ffprobe reads those) or
 * has no meta box. Throws a PermanentError for what can be told without decoding: a primary that is missing or
 * of an unsupported coding, data outside the file (a cut-off upload), or a size over MAX_IMAGE_PIXELS.
 */
export async function readHeifHeader(reader: BoxReader, budget = MAX_IMAGE_PIXELS): Promise<HeifHeader | undefined> {
  const metaBox = await findMeta(reader);
  if (!metaBox) return undefined;
  const meta = parseMeta(await reader.read(metaBox.offset, metaBox.size));
  const primary = meta.primary;
  if (primary === undefined || !meta.items.has(primary)) throw corrupt('the meta box names no primary image (pitm) that exists');
  const codec = codecOf(meta, primary, 0);
  const stored = sizeOf(meta, primary);
  if (!stored) throw corrupt(`the primary image (item ${primary}) states no size (ispe)`);

  const grid = meta.items.get(primary)!.type === 'grid' ? await gridOf(meta, primary, reader) : undefined;
  const output = grid ? { width: Math.max(grid.width, stored.width), height: Math.max(grid.height, stored.height) } : stored;
  const decodedPixels = Math.max(output.width * output.height, grid?.tilePixels ?? 0);
  if (decodedPixels > budget) {
    const what =
      grid && grid.tilePixels > output.width * output.height
        ? `its ${grid.rows}×${grid.columns} tiles are ${formatPixels(grid.tilePixels)}`
        : describePixels(output.width, output.height);
    throw new PermanentError(PermanentErrorCode.IMAGE_TOO_LARGE, `the HEIF primary image declares ${what}, over the ${formatPixels(budget)} limit`);
  }
  checkExtents(meta, [primary, ...(meta.references.get('dimg')?.get(primary) ?? [])], reader.size);

  const shown = transformed(meta, primary, stored);
  return {
    codec,
    ...shown,
    decodedPixels,
    ...(grid ? { grid: { rows: grid.rows, columns: grid.columns } } : {}),
    otherTopLevelImages: topLevelImages(meta).filter((id) => id !== primary).length,
    colour: colourOf(meta, primary),
  };
}

async function findMeta(reader: BoxReader): Promise<{ offset: number; size: number } | undefined> {
  let meta: { offset: number; size: number } | undefined;
  for (let offset = 0, count = 0; offset + 8 <= reader.size && count < MAX_TOP_LEVEL_BOXES; count += 1) {
    const header = await reader.read(offset, 16);
    if (header.length < 8) break;
    const type = header.toString('latin1', 4, 8);
    const size = boxSize(header, reader.size - offset);
    if (size === undefined) break;
    // An image sequence (avis, msf1) has a track; its frames are ffprobe's business, as they were before.
    if (type === 'moov') return undefined;
    if (type === 'meta') {
      if (size > MAX_META_BYTES)
        throw new PermanentError(PermanentErrorCode.UNSUPPORTED_MEDIA, `the HEIF meta box is ${size} bytes, more than the ${MAX_META_BYTES} read`);
      meta = { offset, size };
    }
    offset += size;
  }
  return meta;
}

/** §4.2: 32-bit size, 1 = a 64-bit size follows the type, 0 = to the end. Undefined when it cannot be right. */
function boxSize(header: Buffer, remaining: number): number | undefined {
  const size32 = header.readUInt32BE(0);
  const size = size32 === 1 ? (header.length >= 16 ? Number(header.readBigUInt64BE(8)) : 0) : size32 === 0 ? remaining : size32;
  return size >= 8 && size <= remaining ? size : undefined;
}

/** Children of a box body: [type, body] pairs, stopping at the first box that does not fit. */
function* children(body: Buffer): Generator<[string, Buffer]> {
  for (let at = 0, count = 0; at + 8 <= body.length && count < MAX_ENTRIES; count += 1) {
    const size = boxSize(body.subarray(at, at + 16), body.length - at);
    if (size === undefined) return;
    const headerSize = body.readUInt32BE(at) === 1 ? 16 : 8;
    yield [body.toString('latin1', at + 4, at + 8), body.subarray(at + headerSize, at + size)];
    at += size;
  }
}

/** A bounds-checked cursor over a box body; a read past the end throws, which parseMeta turns into CORRUPT_MEDIA. */
class Cursor {
  at = 0;
  private readonly data: Buffer;
  constructor(data: Buffer) {
    this.data = data;
  }
  uint(bytes: number): number {
    if (bytes === 0) return 0;
    if (this.at + bytes > this.data.length) throw new RangeError('box ends early');
    const value = bytes === 8 ? Number(this.data.readBigUInt64BE(this.at)) : this.data.readUIntBE(this.at, bytes);
    this.at += bytes;
    return value;
  }
  fourCc(): string {
    if (this.at + 4 > this.data.length) throw new RangeError('box ends early');
    this.at += 4;
    return this.data.toString('latin1', this.at - 4, this.at);
  }
  skipString(): void {
    const end = this.data.indexOf(0, this.at);
    this.at = end < 0 ? this.data.length : end + 1;
  }
  get left(): number {
    return this.data.length - this.at;
  }
}

function parseMeta(box: Buffer): Meta {
  const meta: Meta = {
    primary: undefined,
    items: new Map(),
    locations: new Map(),
    references: new Map(),
    properties: [],
    associations: new Map(),
    idat: undefined,
  };
  try {
    // meta is a FullBox: 8 bytes of header, then version and flags.
    for (const [type, body] of children(box.subarray(12))) {
      if (type === 'pitm') meta.primary = new Cursor(body.subarray(4)).uint(body[0] === 0 ? 2 : 4);
      else if (type === 'iinf') parseIinf(body, meta);
      else if (type === 'iloc') parseIloc(body, meta);
      else if (type === 'iref') parseIref(body, meta);
      else if (type === 'iprp') parseIprp(body, meta);
      else if (type === 'idat') meta.idat = body;
    }
  } catch (error) {
    if (error instanceof RangeError) throw corrupt(`a box in the HEIF meta box is cut short (${error.message})`);
    throw error;
  }
  return meta;
}

/** iinf: entry count (16 or 32 bits), then infe boxes; infe v2/v3 carry item_ID (16/32 bits) and item_type. */
function parseIinf(body: Buffer, meta: Meta): void {
  const entries = body.subarray(4 + (body[0] === 0 ? 2 : 4));
  for (const [type, infe] of children(entries)) {
    if (type !== 'infe' || infe[0]! < 2) continue;
    const cursor = new Cursor(infe.subarray(4));
    const id = cursor.uint(infe[0] === 2 ? 2 : 4);
    cursor.uint(2);
    meta.items.set(id, { type: cursor.fourCc(), hidden: (infe[3]! & 1) === 1 });
  }
}

/** iloc (§8.11.3): field sizes in nibbles, then per item its construction method, base offset and extents. */
function parseIloc(body: Buffer, meta: Meta): void {
  const version = body[0]!;
  const cursor = new Cursor(body.subarray(4));
  const sizes = cursor.uint(2);
  const [offsetSize, lengthSize, baseSize, indexSize] = [sizes >> 12, (sizes >> 8) & 0xf, (sizes >> 4) & 0xf, version >= 1 ? sizes & 0xf : 0];
  const count = Math.min(cursor.uint(version < 2 ? 2 : 4), MAX_ENTRIES);
  for (let item = 0; item < count; item += 1) {
    const id = cursor.uint(version < 2 ? 2 : 4);
    const method = version >= 1 ? cursor.uint(2) & 0xf : 0;
    cursor.uint(2);
    const base = cursor.uint(baseSize);
    const extents: Extent[] = [];
    const extentCount = cursor.uint(2);
    for (let e = 0; e < extentCount; e += 1) {
      cursor.uint(indexSize);
      extents.push({ method, offset: base + cursor.uint(offsetSize), length: cursor.uint(lengthSize) });
    }
    meta.locations.set(id, extents);
  }
}

/** iref: boxes named by reference type, each from_item_ID, count, to_item_IDs (16 bits in v0, 32 in v1). */
function parseIref(body: Buffer, meta: Meta): void {
  const idBytes = body[0] === 0 ? 2 : 4;
  for (const [type, reference] of children(body.subarray(4))) {
    const cursor = new Cursor(reference);
    const from = cursor.uint(idBytes);
    const count = cursor.uint(2);
    const to: number[] = [];
    for (let index = 0; index < count; index += 1) to.push(cursor.uint(idBytes));
    const byFrom = meta.references.get(type) ?? new Map<number, number[]>();
    byFrom.set(from, to);
    meta.references.set(type, byFrom);
  }
}

/** iprp: ipco (the properties, 1-based) and ipma (which item has which, 7- or 15-bit indexes). */
function parseIprp(body: Buffer, meta: Meta): void {
  for (const [type, box] of children(body)) {
    if (type === 'ipco') for (const [propertyType, property] of children(box)) meta.properties.push({ type: propertyType, body: property });
    if (type !== 'ipma') continue;
    const cursor = new Cursor(box.subarray(4));
    const wide = (box[3]! & 1) === 1;
    const count = Math.min(cursor.uint(4), MAX_ENTRIES);
    for (let entry = 0; entry < count; entry += 1) {
      const id = cursor.uint(box[0] === 0 ? 2 : 4);
      const indexes: number[] = [];
      const associations = cursor.uint(1);
      for (let index = 0; index < associations; index += 1) indexes.push(cursor.uint(wide ? 2 : 1) & (wide ? 0x7fff : 0x7f));
      meta.associations.set(id, [...(meta.associations.get(id) ?? []), ...indexes]);
    }
  }
}

function propertiesOf(meta: Meta, id: number): Property[] {
  return (meta.associations.get(id) ?? []).map((index) => meta.properties[index - 1]).filter((property) => property !== undefined);
}

/** The coding of what a derived item (grid, iden) is built from; an item's type otherwise. */
function codecOf(meta: Meta, id: number, depth: number): HeifHeader['codec'] {
  const type = meta.items.get(id)?.type ?? 'none';
  if (Object.hasOwn(CODECS, type)) return CODECS[type]!;
  const source = meta.references.get('dimg')?.get(id)?.[0];
  if (DERIVED.has(type) && source !== undefined && depth < 2) return codecOf(meta, source, depth + 1);
  throw new PermanentError(
    PermanentErrorCode.UNSUPPORTED_MEDIA,
    `the HEIF primary image is of type '${type}'; only HEVC (HEIC) and AV1 (AVIF) images are supported`,
  );
}

/** ispe (§6.5.3): version/flags, then 32-bit width and height, as coded (before any transform). */
function sizeOf(meta: Meta, id: number): { width: number; height: number } | undefined {
  const ispe = propertiesOf(meta, id).find((property) => property.type === 'ispe');
  if (!ispe || ispe.body.length < 12) return undefined;
  const [width, height] = [ispe.body.readUInt32BE(4), ispe.body.readUInt32BE(8)];
  return width > 0 && height > 0 && width <= MAX_DIMENSION && height <= MAX_DIMENSION ? { width, height } : undefined;
}

/** ImageGrid (§6.6.2.3.2): version, flags (bit 0: 32-bit sizes), rows − 1, columns − 1, output width and height. */
async function gridOf(meta: Meta, id: number, reader: BoxReader) {
  const data = await itemData(meta, id, reader, 12);
  if (data.length < 8) throw corrupt(`the grid item ${id} has no grid description`);
  const wide = (data[1]! & 1) === 1;
  const cursor = new Cursor(data.subarray(2));
  const rows = cursor.uint(1) + 1;
  const columns = cursor.uint(1) + 1;
  const [width, height] = [cursor.uint(wide ? 4 : 2), cursor.uint(wide ? 4 : 2)];
  const tiles = meta.references.get('dimg')?.get(id) ?? [];
  if (tiles.length !== rows * columns) throw corrupt(`the ${rows}×${columns} grid item ${id} references ${tiles.length} tiles`);
  const tile = sizeOf(meta, tiles[0]!);
  if (!tile) throw corrupt(`the first tile of grid item ${id} states no size (ispe)`);
  return { rows, columns, width, height, tilePixels: rows * columns * tile.width * tile.height };
}

/** The first bytes of an item's data: in idat (construction method 1) or in the file (method 0). */
async function itemData(meta: Meta, id: number, reader: BoxReader, length: number): Promise<Buffer> {
  const extent = meta.locations.get(id)?.[0];
  if (!extent) return Buffer.alloc(0);
  const wanted = Math.min(length, extent.length || length);
  if (extent.method === 1) return meta.idat?.subarray(extent.offset, extent.offset + wanted) ?? Buffer.alloc(0);
  return extent.method === 0 ? reader.read(extent.offset, wanted) : Buffer.alloc(0);
}

/** A cut-off upload shows as item data past the end of the file; the decoder would only say "end of data". */
function checkExtents(meta: Meta, ids: readonly number[], fileSize: number): void {
  for (const id of ids) {
    const extents = meta.locations.get(id);
    if (!extents && meta.items.get(id)?.type !== 'grid') throw corrupt(`the data of image item ${id} is not located (iloc)`);
    for (const extent of extents ?? []) {
      if (extent.method === 0 && extent.offset + extent.length > fileSize) {
        throw corrupt(`truncated HEIF: image item ${id}'s data ends at byte ${extent.offset + extent.length}, but the file has ${fileSize} bytes`);
      }
    }
  }
}

/** Transformative properties in association order (§6.5.10 clap, §6.5.12 irot, §6.5.13 imir). */
function transformed(meta: Meta, id: number, stored: { width: number; height: number }) {
  let { width, height } = stored;
  let anticlockwise = 0;
  let mirrored = false;
  for (const { type, body } of propertiesOf(meta, id)) {
    if (type === 'irot' && body.length >= 1) {
      const quarter = body[0]! & 3;
      anticlockwise = (anticlockwise + quarter) % 4;
      if (quarter % 2 === 1) [width, height] = [height, width];
    } else if (type === 'imir') {
      mirrored = !mirrored;
    } else if (type === 'clap' && body.length >= 32) {
      // Clean aperture width and height as rationals; a crop, so never more than the picture.
      const fraction = (at: number) => (body.readUInt32BE(at + 4) === 0 ? 0 : Math.round(body.readUInt32BE(at) / body.readUInt32BE(at + 4)));
      const [cropWidth, cropHeight] = [fraction(0), fraction(8)];
      if (cropWidth > 0 && cropWidth <= width) width = cropWidth;
      if (cropHeight > 0 && cropHeight <= height) height = cropHeight;
    }
  }
  const rotation = ([0, 270, 180, 90] as const)[anticlockwise]!;
  return { width, height, rotation, mirrored };
}

/** colr (§6.5.5, ISO/IEC 14496-12 §12.1.5): 'nclx' code points, or an ICC profile ('prof', 'rICC'). */
function colourOf(meta: Meta, id: number): HeifColour {
  let colour: HeifColour = { icc: false };
  for (const { type, body } of propertiesOf(meta, id)) {
    if (type !== 'colr' || body.length < 4) continue;
    const kind = body.toString('latin1', 0, 4);
    if (kind === 'prof' || kind === 'rICC') colour = { ...colour, icc: true };
    if (kind === 'nclx' && body.length >= 11) {
      colour = {
        ...colour,
        nclx: { primaries: body.readUInt16BE(4), transfer: body.readUInt16BE(6), matrix: body.readUInt16BE(8), fullRange: (body[10]! & 0x80) !== 0 },
      };
    }
  }
  return colour;
}

/**
 * Image items that are pictures in their own right: not hidden, not a grid's tile or an identity's source (dimg
 * targets), not an auxiliary image (alpha, depth, gain map: auxl) or a thumbnail (thmb).
 */
function topLevelImages(meta: Meta): number[] {
  const referenced = new Set<number>();
  for (const to of meta.references.get('dimg')?.values() ?? []) to.forEach((id) => referenced.add(id));
  for (const type of ['auxl', 'thmb']) for (const from of meta.references.get(type)?.keys() ?? []) referenced.add(from);
  return [...meta.items].filter(([id, item]) => IMAGE_ITEM_TYPES.has(item.type) && !item.hidden && !referenced.has(id)).map(([id]) => id);
}

function corrupt(message: string): PermanentError {
  return new PermanentError(PermanentErrorCode.CORRUPT_MEDIA, message.startsWith('truncated') ? message : `corrupt HEIF: ${message}`);
}
