/**
 * What an audio file says about itself: its tags (title, artist, album, …), its chapters (podcasts, audiobooks) and
 * whether it carries cover art. Read with music-metadata (ID3v2 incl. CHAP/CTOC and APIC, MP4 atoms incl. covr and
 * Nero/QuickTime chapters, Vorbis comments incl. METADATA_BLOCK_PICTURE, FLAC PICTURE) through a random-access
 * tokenizer over byte ranges of the source, so an MP4 whose moov sits after a long mdat costs the moov, not the file.
 * ffprobe still measures the streams; this only reads what the tags say.
 *
 * Everything here is a stranger's text: values are cleaned and capped (shared/domain/bounded.ts), and only the fixed
 * field names below reach the document, whatever keys the file uses (a TXXX frame named `__name__` included).
 */
import { readFileSync } from 'node:fs';
import { parseFromTokenizer, selectCover, type IAudioMetadata, type IChapter, type IPicture } from 'music-metadata';
import { cleanText, MAX_TAG_VALUE_BYTES } from '../domain/bounded.ts';
import { errorMessage } from '../errors.ts';
import type { ByteSource } from './input.ts';
import { RangedTokenizer, ReadTooLargeError } from './ranged-tokenizer.ts';
import { readImageHeader, sniff, type ImageFormat } from './sniff.ts';

/** Chapters kept on the asset: a long audiobook has a few hundred; more is a file built to bloat the document. */
export const MAX_CHAPTERS = 500;
/** A chapter title is a line of a table of contents, not a paragraph; 500 of them stay under 100 KB. */
export const MAX_CHAPTER_TITLE_BYTES = 160;
/** Genres and ISRCs may repeat; a handful is all a listing shows. */
export const MAX_LIST_ENTRIES = 8;
/**
 * The largest single read (an ID3v2 tag is read whole, cover included; an MP4 sample table, a FLAC picture). Real
 * covers are under 10 MB; a file declaring more gets its tags read without the cover, or not at all.
 */
export const MAX_METADATA_READ_BYTES = 32 * 1024 * 1024;
/**
 * Reads one parse may make. A plain file takes tens (the 50 MB M4A with 12 chapters: ~110; 600 chapters: ~700);
 * a fragmented MP4 would walk a box per fragment, each a request to the store, so the walk stops here instead.
 */
export const MAX_METADATA_READS = 2048;

/** Versions of the parser, recorded as provenance: a newer one may read more of the same file. */
export const MUSIC_METADATA_VERSION: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.resolve('music-metadata')), 'utf8')) as { version: string }
).version;

/** A type, not an interface: it is stored on the asset, and DocData wants index-compatible types. */
export type NumberOfTotal = { no: number | null; of: number | null };

/** Only these names ever become fields: a tag never names a Firestore field. */
export type AudioTags = {
  title?: string;
  artist?: string;
  album?: string;
  albumArtist?: string;
  track?: NumberOfTotal;
  disc?: NumberOfTotal;
  date?: string;
  year?: number;
  genre?: string[];
  isrc?: string[];
  language?: string;
  publisher?: string;
};

/** Seconds from the start; `end` is the next chapter's start, or the file's end, when the file does not say. */
export type Chapter = { title: string; start: number; end: number | null };

/** The picture a player shows, as found in the tags: its format sniffed from its bytes, never from the tag's MIME type. */
export type CoverInfo = { format: ImageFormat; width?: number; height?: number; bytes: number };

export type AudioMetadata = {
  tags: AudioTags;
  chapters: Chapter[];
  /** Chapters the file declares, when more than MAX_CHAPTERS were left out. */
  chaptersTotal?: number;
  cover: CoverInfo | null;
};

export interface AudioMetadataResult {
  /** Undefined when the file's tags could not be parsed at all (the warnings say why). */
  readonly metadata?: AudioMetadata;
  readonly warnings: string[];
}

export interface AudioMetadataOptions {
  /** The probe's duration, for the end of the last chapter. */
  readonly durationSeconds?: number | null;
}

/**
 * Tags, chapters and cover facts of an audio file. Never throws for the file's sake: a file music-metadata cannot
 * parse is still audio ffprobe could read, so the failure is a warning. A failure of the ByteSource itself (a
 * replaced object, a dropped connection) is the caller's to surface, e.g. with ServedSource.settle.
 */
export async function readAudioMetadata(bytes: ByteSource, options: AudioMetadataOptions = {}): Promise<AudioMetadataResult> {
  const warnings: string[] = [];
  let parsed: IAudioMetadata;
  try {
    parsed = await parse(bytes, false);
  } catch (error) {
    if (!(error instanceof ReadTooLargeError)) return { warnings: [`audio metadata: not read (${errorMessage(error)})`] };
    // The cover is the usual suspect; without it the tags may still fit (an ID3v2 tag is read whole either way).
    warnings.push(`audio metadata: a ${error.requested}-byte read was refused (over ${MAX_METADATA_READ_BYTES} bytes); cover art not read`);
    try {
      parsed = await parse(bytes, true);
    } catch (retry) {
      return { warnings: [...warnings, `audio metadata: not read (${errorMessage(retry)})`] };
    }
  }
  const { tags, notes } = boundTags(parsed);
  const chapters = boundChapters(parsed.format.chapters ?? [], options.durationSeconds ?? parsed.format.duration ?? null);
  const cover = await coverInfo(selectCover(parsed.common.picture));
  // The parser's own warnings (padding read as an empty frame, and the like) are left out: noise to ops.
  warnings.push(...notes, ...chapters.notes, ...cover.notes);
  return {
    metadata: { tags, chapters: chapters.kept, ...(chapters.total > chapters.kept.length ? { chaptersTotal: chapters.total } : {}), cover: cover.info },
    warnings: warnings.map((warning) => cleanText(warning, 300)),
  };
}

/** The cover's bytes, for the thumbnail step: the same picture readAudioMetadata described. */
export async function readCoverPicture(bytes: ByteSource): Promise<Buffer | undefined> {
  const picture = selectCover((await parse(bytes, false)).common.picture);
  return picture ? Buffer.from(picture.data.buffer, picture.data.byteOffset, picture.data.byteLength) : undefined;
}

function parse(bytes: ByteSource, skipCovers: boolean): Promise<IAudioMetadata> {
  // duration: false, or an MP3 without a Xing header would be read whole to count its frames (ffprobe says it anyway).
  return parseFromTokenizer(new RangedTokenizer(bytes, { maxReadBytes: MAX_METADATA_READ_BYTES, maxReads: MAX_METADATA_READS }), {
    duration: false,
    skipCovers,
    includeChapters: true,
    skipPostHeaders: false,
  });
}

function text(value: string | undefined, maxBytes = MAX_TAG_VALUE_BYTES): string | undefined {
  const cleaned = value === undefined ? '' : cleanText(value, maxBytes).trim();
  return cleaned === '' ? undefined : cleaned;
}

function count(value: number | null | undefined): number | null {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : null;
}

function numberOf(value: { no: number | null; of: number | null }): NumberOfTotal | undefined {
  const no = count(value.no);
  const of = count(value.of);
  return no === null && of === null ? undefined : { no, of };
}

function list(values: readonly string[] | undefined): string[] | undefined {
  const kept = [...new Set((values ?? []).map((value) => text(value)).filter((value): value is string => value !== undefined))].slice(0, MAX_LIST_ENTRIES);
  return kept.length > 0 ? kept : undefined;
}

function boundTags(parsed: IAudioMetadata): { tags: AudioTags; notes: string[] } {
  const { common } = parsed;
  const raw = {
    title: common.title,
    artist: common.artist,
    album: common.album,
    albumArtist: common.albumartist,
    date: common.date,
    language: common.language,
    publisher: common.publisher?.[0] ?? common.label?.[0],
  };
  const tags: AudioTags = {};
  let cut = 0;
  for (const [key, value] of Object.entries(raw)) {
    const kept = text(value);
    if (kept !== undefined && kept !== value) cut += 1;
    if (kept !== undefined) Object.assign(tags, { [key]: kept });
  }
  const track = numberOf(common.track);
  const disc = numberOf(common.disk);
  const genre = list(common.genre);
  const isrc = list(common.isrc);
  Object.assign(tags, {
    ...(track ? { track } : {}),
    ...(disc ? { disc } : {}),
    ...(count(common.year) !== null ? { year: common.year } : {}),
    ...(genre ? { genre } : {}),
    ...(isrc ? { isrc } : {}),
  });
  return {
    tags,
    notes: cut > 0 ? [`audio tags: ${cut} value${cut === 1 ? '' : 's'} cut to ${MAX_TAG_VALUE_BYTES} bytes or cleaned of control characters`] : [],
  };
}

/** Seconds, whatever the source's unit: ID3 chapters are already in seconds, MP4 ones in their track's timescale. */
function seconds(chapter: IChapter, at: number): number | null {
  const value = chapter.timeScale ? at / chapter.timeScale : at;
  return Number.isFinite(value) && value >= 0 ? Math.round(value * 1000) / 1000 : null;
}

function boundChapters(found: readonly IChapter[], durationSeconds: number | null): { kept: Chapter[]; total: number; notes: string[] } {
  const timed = found
    .map((chapter) => ({
      title: text(chapter.title, MAX_CHAPTER_TITLE_BYTES) ?? '',
      start: seconds(chapter, chapter.start),
      end: chapter.end === undefined ? null : seconds(chapter, chapter.end),
    }))
    .filter((chapter): chapter is { title: string; start: number; end: number | null } => chapter.start !== null);
  const kept = timed.slice(0, MAX_CHAPTERS).map((chapter, index, all): Chapter => {
    const next = all[index + 1]?.start ?? (durationSeconds !== null && durationSeconds > chapter.start ? Math.round(durationSeconds * 1000) / 1000 : null);
    return { title: chapter.title, start: chapter.start, end: chapter.end !== null && chapter.end >= chapter.start ? chapter.end : next };
  });
  const notes = timed.length > MAX_CHAPTERS ? [`audio chapters: the first ${MAX_CHAPTERS} of ${timed.length} kept`] : [];
  return { kept, total: timed.length, notes };
}

/** The picture's real format and size, from its own header: the tag's MIME type is whatever the tagger wrote. */
async function coverInfo(picture: IPicture | null): Promise<{ info: CoverInfo | null; notes: string[] }> {
  if (!picture || picture.data.byteLength === 0) return { info: null, notes: [] };
  const data = Buffer.from(picture.data.buffer, picture.data.byteOffset, picture.data.byteLength);
  const sniffed = sniff(data);
  if (sniffed.kind !== 'image') return { info: null, notes: ['audio cover: the attached picture is not an image format mediaflow reads; left out'] };
  const header = await readImageHeader(sniffed.format, data, {
    size: data.length,
    read: (offset, length) => Promise.resolve(data.subarray(offset, offset + length)),
  });
  return {
    info: {
      format: sniffed.format,
      ...(header?.width !== undefined ? { width: header.width } : {}),
      ...(header?.height !== undefined ? { height: header.height } : {}),
      bytes: data.length,
    },
    notes: [],
  };
}
