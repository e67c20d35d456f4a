/**
 * HEIF/AVIF stills from their meta box (shared/media/heif.ts) and the probe's summary of them: the primary item's
 * shown size (irot applied), its coding, grids, collections, colour signalling, and the refusals a header alone
 * can make (a declared giant, data cut off). Files are made by heif-enc (libheif-examples) in beforeAll.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { heifDeclaring, heifImage } from '../../scripts/sample-media/sample-images.ts';
import { PermanentErrorCode } from '../../shared/errors.ts';
import { readHeifHeader } from '../../shared/media/heif.ts';
import { withFileBytes } from '../../shared/media/input.ts';
import { probeFile } from '../../shared/media/probe.ts';
import { sniff } from '../../shared/media/sniff.ts';

/** An ffprobe that cannot start: a HEIF still must be summarized without running it. */
const NO_FFPROBE = { ffprobe: '/nonexistent/ffprobe' };

let dir: string;
let heic: string;
let avif: string;
let grid: string;
let collection: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mediaflow-heif-'));
  [heic, avif, grid, collection] = await Promise.all([
    heifImage('ffmpeg', join(dir, 'phone.heic')),
    heifImage('ffmpeg', join(dir, 'phone.avif'), { codec: 'av1' }),
    // Below 64 px heif-enc wraps the picture in a 1×1 grid, cropping the padded tile to the picture's size.
    heifImage('ffmpeg', join(dir, 'small.heic'), { width: 48, height: 32 }),
    heifImage('ffmpeg', join(dir, 'burst.heic'), { width: 96, height: 64, flat: [200, 30, 30], nextImages: [[30, 200, 30]], primary: 1 }),
  ]);
}, 60_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const header = (file: string) => withFileBytes(file, (bytes) => readHeifHeader(bytes));

describe('readHeifHeader', () => {
  it('reads a HEIC the way a phone writes it: size as shown after irot, HEVC, an ICC profile', async () => {
    expect(sniff(await readFile(heic))).toEqual({ kind: 'image', format: 'heif' });
    expect(await header(heic)).toMatchObject({
      codec: 'hevc',
      width: 320,
      height: 240,
      rotation: 90,
      mirrored: false,
      otherTopLevelImages: 0,
      colour: { icc: true },
    });
  });

  it('reads an AVIF as AV1', async () => {
    expect(await header(avif)).toMatchObject({ codec: 'av1', width: 320, height: 240, rotation: 90 });
  });

  it("takes a grid image's size from the grid, not from its padded tiles", async () => {
    const facts = await header(grid);
    expect(facts).toMatchObject({ codec: 'hevc', grid: { rows: 1, columns: 1 }, width: 48, height: 32 });
    // The one tile is coded at HEVC's 64 px minimum: more is decoded than shown.
    expect(facts!.decodedPixels).toBeGreaterThan(48 * 32);
  });

  it('finds the primary image of a collection, which need not be the first', async () => {
    // The second image (stored 64×96, no irot) is primary; the first (96×64 with irot) is another top-level image.
    expect(await header(collection)).toMatchObject({ width: 64, height: 96, rotation: 0, otherTopLevelImages: 1 });
  });

  it('refuses a header that declares a giant picture before anything decodes it', async () => {
    const giant = join(dir, 'giant.heic');
    await writeFile(giant, heifDeclaring(await readFile(heic), 40_000, 30_000));
    await expect(header(giant)).rejects.toMatchObject({
      code: PermanentErrorCode.IMAGE_TOO_LARGE,
      message: 'the HEIF primary image declares 40000×30000 = 1.2 Gpx, over the 268 Mpx limit',
    });
    await expect(probeFile(giant, NO_FFPROBE)).rejects.toMatchObject({ code: PermanentErrorCode.IMAGE_TOO_LARGE });
  });

  it('refuses a grid whose tiles add up to more than the budget, whatever its output size says', async () => {
    const tiles = join(dir, 'tiles.heic');
    const bytes = await readFile(grid);
    // Only the tile's ispe (the first one heif-enc writes) grows; the grid's output stays 48×32.
    await writeFile(tiles, heifDeclaringFirst(bytes, 20_000, 20_000));
    await expect(header(tiles)).rejects.toMatchObject({ code: PermanentErrorCode.IMAGE_TOO_LARGE });
    await expect(header(tiles)).rejects.toThrow('the HEIF primary image declares its 1×1 tiles are 400 Mpx, over the 268 Mpx limit');
  });

  it('says a cut-off upload is truncated, naming where its data should end', async () => {
    const cut = join(dir, 'cut.heic');
    const bytes = await readFile(heic);
    // The EXIF item comes last; cutting past it reaches the coded picture.
    await writeFile(cut, bytes.subarray(0, bytes.length - 400));
    await expect(header(cut)).rejects.toMatchObject({ code: PermanentErrorCode.CORRUPT_MEDIA });
    await expect(header(cut)).rejects.toThrow(/^truncated HEIF: image item \d+'s data ends at byte \d+, but the file has \d+ bytes$/);
  });
});

describe('the probe on HEIF stills', () => {
  it('summarizes a HEIC from its header, without ffprobe', async () => {
    const probe = await probeFile(heic, NO_FFPROBE);
    expect(probe).toMatchObject({ kind: 'image', formatName: 'heif', durationSeconds: null, animated: false, display: { width: 320, height: 240 } });
    expect(probe.streams).toEqual([{ index: 0, type: 'video', codec: 'hevc', width: 320, height: 240, attachedPicture: false }]);
  });

  it('summarizes an AVIF as avif / av1', async () => {
    const probe = await probeFile(avif, NO_FFPROBE);
    expect(probe).toMatchObject({ kind: 'image', formatName: 'avif', streams: [{ codec: 'av1', width: 320, height: 240 }] });
  });
});

/** The first ispe box only. */
function heifDeclaringFirst(heif: Buffer, width: number, height: number): Buffer {
  const at = heif.indexOf('ispe');
  return Buffer.concat([heif.subarray(0, at - 4), heifDeclaring(heif.subarray(at - 4, at + 16), width, height), heif.subarray(at + 16)]);
}
