/**
 * Tags, chapters and cover facts read by music-metadata through the ranged tokenizer, from files ffmpeg makes here:
 * what lands on the probe summary, how hostile tags are bounded, and how few bytes an MP4 with its moov at the end
 * costs.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as samples from '../../scripts/sample-media/sample-audio.ts';
import { firestoreSize, MAX_TAG_VALUE_BYTES } from '../../shared/domain/bounded.ts';
import { MAX_CHAPTERS, MAX_METADATA_READS, readAudioMetadata, readCoverPicture, type AudioMetadata } from '../../shared/media/audio-metadata.ts';
import { withFileBytes, type ByteSource } from '../../shared/media/input.ts';
import { RangedTokenizer, ReadTooLargeError, TooManyReadsError } from '../../shared/media/ranged-tokenizer.ts';
import { resolveMediaTools } from '../../shared/media/tools.ts';

const LARGE_M4A_SECONDS = 300;
const MEGABYTE = 1024 * 1024;

let dir: string;
const files: Record<string, string> = {};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mediaflow-audio-metadata-'));
  const { ffmpeg } = await resolveMediaTools(process.env);
  const at = (name: string): string => join(dir, name);
  const made = await Promise.all([
    samples.taggedMp3WithCover(ffmpeg, at('tagged.mp3')),
    samples.mp3WithChapters(ffmpeg, at('podcast.mp3'), { durationSeconds: 6, chapters: 3 }),
    // An M4A: ID3's CTOC counts its entries in one byte, and ffmpeg writes a broken one past 255 chapters.
    samples.m4aWithCoverAndChapters(ffmpeg, at('many.m4a'), { durationSeconds: 60, chapters: MAX_CHAPTERS + 100 }),
    samples.m4aWithCoverAndChapters(ffmpeg, at('book.m4a'), { durationSeconds: 6, chapters: 3 }),
    samples.m4aWithCoverAndChapters(ffmpeg, at('large.m4a'), { durationSeconds: LARGE_M4A_SECONDS, chapters: 12, lossless: true }),
    samples.flacWithPicture(ffmpeg, at('album.flac')),
    samples.opusWithPicture(ffmpeg, at('voice.opus')),
    samples.hostileTagsMp3(ffmpeg, at('hostile.mp3')),
  ]);
  for (const path of made) files[path.slice(dir.length + 1)] = path;
}, 180_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Counts what a read costs: the requests and bytes a store would serve for it. */
function counting(source: ByteSource): { bytes: ByteSource; stats: { reads: number; bytes: number } } {
  const stats = { reads: 0, bytes: 0 };
  return {
    stats,
    bytes: {
      size: source.size,
      async read(offset, length) {
        const data = await source.read(offset, length);
        stats.reads += 1;
        stats.bytes += data.length;
        return data;
      },
    },
  };
}

async function read(
  name: string,
  durationSeconds: number | null = null,
): Promise<{ metadata?: AudioMetadata; warnings: string[]; stats: { reads: number; bytes: number }; size: number }> {
  const path = files[name];
  if (!path) throw new Error(`no sample ${name}`);
  return withFileBytes(path, async (source) => {
    const { bytes, stats } = counting(source);
    return { ...(await readAudioMetadata(bytes, { durationSeconds })), stats, size: source.size };
  });
}

describe("reading an audio file's tags, chapters and cover", () => {
  it('MP3 (ID3v2.3): every tag we keep, and the APIC front cover sniffed from its bytes', async () => {
    const { metadata, warnings } = await read('tagged.mp3');
    expect(metadata).toEqual({
      tags: {
        title: 'Night Drive',
        artist: 'The Testers',
        album: 'Synthetic Hours',
        albumArtist: 'Various Testers',
        track: { no: 3, of: 12 },
        disc: { no: 1, of: 2 },
        year: 2021,
        genre: ['Electronic'],
        isrc: ['USRC17607839'],
        language: 'eng',
        publisher: 'Mediaflow Records',
      },
      chapters: [],
      cover: { format: 'jpeg', width: 800, height: 700, bytes: metadata!.cover!.bytes },
    });
    expect(metadata!.cover!.bytes).toBeGreaterThan(1000);
    expect(warnings).toEqual([]);
  });

  it('MP3 with CHAP/CTOC frames: chapters in seconds, in table-of-contents order', async () => {
    const { metadata } = await read('podcast.mp3', 6.05);
    expect(metadata).toMatchObject({
      tags: { title: 'Episode 1' },
      cover: null,
      chapters: [
        { title: 'Chapter 1', start: 0, end: 2 },
        { title: 'Chapter 2', start: 2, end: 4 },
        { title: 'Chapter 3', start: 4, end: 6 },
      ],
    });
  });

  it('keeps the first 500 chapters of a file with more, and says so', async () => {
    const { metadata, warnings, stats } = await read('many.m4a');
    expect(stats.reads).toBeLessThan(MAX_METADATA_READS);
    expect(metadata!.chapters).toHaveLength(MAX_CHAPTERS);
    expect(metadata!.chaptersTotal).toBe(MAX_CHAPTERS + 100);
    expect(warnings).toContain(`audio chapters: the first ${MAX_CHAPTERS} of ${MAX_CHAPTERS + 100} kept`);
  });

  it('M4A: iTunes tags, the covr picture, and QuickTime chapters ending where the next starts (the last at the duration)', async () => {
    const { metadata } = await read('book.m4a', 6.02);
    expect(metadata).toMatchObject({
      tags: { title: 'Night Drive', artist: 'The Testers', album: 'Synthetic Hours', track: { no: 3, of: 12 }, year: 2021 },
      cover: { format: 'jpeg', width: 600, height: 600 },
    });
    expect(metadata!.chapters.map((chapter) => chapter.title)).toEqual(['Chapter 1', 'Chapter 2', 'Chapter 3']);
    expect(metadata!.chapters.map((chapter) => [chapter.start, chapter.end])).toEqual([
      [0, 2],
      [2, 4],
      [4, 6.02],
    ]);
  });

  it('a 50 MB M4A with its moov after the mdat is read with a few small ranges, not whole', async () => {
    const { metadata, stats, size } = await read('large.m4a', LARGE_M4A_SECONDS);
    expect(size).toBeGreaterThan(50 * MEGABYTE);
    expect(metadata!.chapters).toHaveLength(12);
    expect(metadata!.cover).toMatchObject({ format: 'jpeg', width: 600, height: 600 });
    // Measured: ~70 reads, ~40 KB (the ftyp, the moov with its sample tables, the chapter samples and the cover).
    console.info(`large.m4a: ${size} bytes, ${stats.reads} reads, ${stats.bytes} bytes read`);
    expect(stats.bytes).toBeLessThan(MEGABYTE);
  });

  it('FLAC: Vorbis comments and the PICTURE block', async () => {
    const { metadata } = await read('album.flac');
    expect(metadata).toMatchObject({
      tags: { title: 'Night Drive', artist: 'The Testers', isrc: ['USRC17607839'], track: { no: 3, of: 12 } },
      cover: { format: 'jpeg', width: 640, height: 640 },
    });
  });

  it('Opus: the METADATA_BLOCK_PICTURE comment', async () => {
    const { metadata } = await read('voice.opus');
    expect(metadata).toMatchObject({ tags: { title: 'Night Drive', artist: 'The Testers' }, cover: { format: 'jpeg', width: 500, height: 500 } });
  });

  it('the cover read again for the thumbnail step is the picture described at ingest', async () => {
    const described = (await read('tagged.mp3')).metadata!.cover!;
    const picture = await withFileBytes(files['tagged.mp3']!, (bytes) => readCoverPicture(bytes));
    expect(picture!.length).toBe(described.bytes);
    expect(picture!.subarray(0, 3)).toEqual(Buffer.from([0xff, 0xd8, 0xff]));
  });

  it('hostile tags: control characters stripped, a 100 KB title cut to 1 KiB, a TXXX named __name__ never becomes a field', async () => {
    const { metadata, warnings } = await read('hostile.mp3');
    const tags = metadata!.tags;
    expect(Object.keys(tags).sort()).toEqual(['album', 'artist', 'title']);
    expect(tags.artist).toBe('Evil[31mArtist');
    expect(tags.album).toBe('Album');
    expect(Buffer.byteLength(tags.title!, 'utf8')).toBeLessThanOrEqual(MAX_TAG_VALUE_BYTES);
    expect(tags.title).toMatch(/^T+…$/);
    expect(JSON.stringify(metadata)).not.toContain('__name__');
    expect(warnings).toContain('audio tags: 3 values cut to 1024 bytes or cleaned of control characters');
    expect(firestoreSize(metadata)).toBeLessThan(2 * 1024);
  });

  it('a file music-metadata cannot parse is a warning, never a failure', async () => {
    const garbage = Buffer.from('ID3\u0003\u0000\u0000\u007f\u007f\u007f\u007fnot really a tag', 'latin1');
    const result = await readAudioMetadata({ size: garbage.length, read: async (offset, length) => garbage.subarray(offset, offset + length) });
    expect(result.metadata).toBeUndefined();
    expect(result.warnings[0]).toMatch(/^audio metadata: not read/);
  });
});

describe('the ranged tokenizer', () => {
  const data = Buffer.from('0123456789abcdef');
  const source: ByteSource = { size: data.length, read: (offset, length) => Promise.resolve(data.subarray(offset, offset + length)) };

  it('reads anywhere, peeks without moving, and bounds each read and the number of reads', async () => {
    const tokenizer = new RangedTokenizer(source, { maxReadBytes: 8, maxReads: 3 });
    const target = new Uint8Array(4);
    await tokenizer.peekBuffer(target, { position: 12 });
    expect(Buffer.from(target).toString()).toBe('cdef');
    expect(tokenizer.position).toBe(0);
    await tokenizer.readBuffer(target, { position: 4 });
    expect([Buffer.from(target).toString(), tokenizer.position]).toEqual(['4567', 8]);
    await expect(tokenizer.readBuffer(new Uint8Array(9), { position: 0 })).rejects.toBeInstanceOf(ReadTooLargeError);
    await tokenizer.readBuffer(target, { position: 0 });
    await expect(tokenizer.readBuffer(target, { position: 0 })).rejects.toBeInstanceOf(TooManyReadsError);
  });
});
