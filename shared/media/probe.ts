/**
 * Probes media with ffprobe and decides whether the pipeline can process it: a local file, or an object served
 * with byte ranges (the ingest step reads a film's header and index, never the whole upload). Failures caused by the file
 * are PermanentErrors with a reason a user can act on; failures of the machine (timeout, spawn) are transient.
 */
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { PermanentError, PermanentErrorCode } from '../errors.ts';
import { isImageDemuxer, summarize, summarizePicture } from './classify.ts';
import type { ProbeSummary } from './classify.ts';
import { describePixels, formatPixels, MAX_IMAGE_PIXELS } from './image-limits.ts';
import { fileInput, inputArgs, withFileBytes, type ByteSource, type MediaInput } from './input.ts';
import { classifyExit } from './ffmpeg/classify.ts';
import { spawnTool } from './ffmpeg/run.ts';
import { durationBasis, id3TagBytes, splitLevels, type DurationBasis } from './ffprobe-log.ts';
import { walkIsoBmff } from './isobmff.ts';
import {
  describeStart,
  formatOfCodec,
  IMAGE_FORMAT_NAMES,
  looksLikeText,
  readImageHeader,
  sniff,
  SNIFF_BYTES,
  type ImageFormat,
  type Sniffed,
} from './sniff.ts';
import type { MediaTools } from './tools.ts';

/** Headers of even a multi-gigabyte file parse in well under a second; this bounds pathological inputs. */
export const PROBE_TIMEOUT_MS = 30_000;
/**
 * The MP4 structure check's budget over an object read with byte ranges: each top-level box can cost a request,
 * and a fragmented film has thousands. 512 boxes cover every unfragmented file and the first ~250 fragments of
 * a fragmented one; past that, a cut-off tail is left to the decoders of the later steps to report.
 */
export const REMOTE_MAX_BOX_READS = 512;
/** Warnings are read from the top (ffprobe-log.ts), so stderr is kept whole up to this; real files print a few KiB. */
const MAX_STDERR_CHARS = 16 * 1024 * 1024;
const MAX_WARNINGS = 20;
/**
 * Pictures whose size ffprobe learns by decoding them whole: measured on 8000×8000 files, ffprobe peaked at 238 MB
 * for a PNG, 145 MB for a WebP, 207 MB for a TIFF and 424 MB for a BMP, against 54 MB for a JPEG or a GIF, which
 * it parses without decoding; a 16000×16000 SVG of 70 bytes, rendered by librsvg, took 1 GB, one with a filter
 * over 3.6 GB. These are summarized from their headers and ffprobe never opens them.
 */
const HEADER_ONLY_FORMATS: ReadonlySet<ImageFormat> = new Set(['png', 'webp', 'tiff', 'bmp', 'psd', 'qoi', 'svg', 'heif']);
/**
 * HEIF stills: Debian's ffprobe 5.1 cannot open them at all (it reads only HEIF/AVIF sequences, as MP4), so they are
 * summarized from the meta box (shared/media/heif.ts), named after the primary image's coding.
 */
const HEIF_FORMAT_NAMES: Readonly<Record<string, string>> = { hevc: 'heif', av1: 'avif' };
/** A file holding less than this share of the bytes its MP3 header counts is cut short, not merely padded differently. */
const CUT_SHORT_RATIO = 0.95;
/** An ID3v1 tag: 128 bytes at the very end of an MP3. */
const ID3V1_BYTES = 128;

interface FfprobeRun {
  exitCode: number;
  stdout: string;
  /** The error lines (ffprobe-log.ts): what `-v error` would have printed. */
  stderr: string;
  warnings: string;
}

export interface ProbeOptions {
  readonly timeoutMs?: number;
  /**
   * Most top-level boxes the MP4 structure check reads. Unbounded for a local file; a served object pays a
   * request per box, so a fragmented film's walk stops early (its tail is then checked by the decoders).
   */
  readonly maxBoxReads?: number;
}

export async function probeFile(path: string, tools: Pick<MediaTools, 'ffprobe'>, options: ProbeOptions = {}): Promise<ProbeSummary> {
  const info = await stat(path);
  if (!info.isFile()) throw new PermanentError(PermanentErrorCode.UNSUPPORTED_MEDIA, 'not a regular file');
  return withFileBytes(path, (bytes) => probeMedia(fileInput(resolve(path)), bytes, tools, options));
}

/** `input` for ffprobe, `bytes` (the same bytes) for the checks that read them directly. */
export async function probeMedia(input: MediaInput, bytes: ByteSource, tools: Pick<MediaTools, 'ffprobe'>, options: ProbeOptions = {}): Promise<ProbeSummary> {
  if (bytes.size === 0) throw new PermanentError(PermanentErrorCode.EMPTY_OBJECT, 'the object is empty (0 bytes)');
  // The kind is decided by the content: ffprobe's image2 demuxer believes the file's extension.
  const head = await bytes.read(0, SNIFF_BYTES);
  const sniffed = sniff(head);
  if (sniffed.kind === 'image') {
    const picture = await probePicture(sniffed.format, head, bytes);
    if (picture) return picture;
  }
  const run = await runFfprobe(tools.ffprobe, input, options.timeoutMs ?? PROBE_TIMEOUT_MS);
  const basis = durationBasis(run.warnings);
  const json = parseJson(run.stdout);
  if (run.exitCode !== 0 || json === undefined || 'error' in json) throw await explainFailure(input, bytes, run, json, options.maxBoxReads);

  const formatName = typeof json.format === 'object' && json.format !== null ? (json.format as { format_name?: unknown }).format_name : undefined;
  if (typeof formatName === 'string' && formatName.split(',').some((name) => name === 'mov' || name === 'mp4')) {
    const check = await walkIsoBmff(bytes, options.maxBoxReads);
    if (!check.ok) throw new PermanentError(PermanentErrorCode.CORRUPT_MEDIA, `truncated or corrupt MP4: ${check.reason}`);
  }
  const summary = summarize(json, bytes.size);
  assertContentIsImage(summary, sniffed, head);
  assertNotCutShort(summary, basis);
  const warnings = [...diagnostics(run.stderr, input), ...diagnostics(run.warnings, input)].slice(0, MAX_WARNINGS);
  return { ...summary, ...(basis ? { durationBasis: basis } : {}), warnings };
}

/**
 * A picture's header facts: its size checked against the pixel budget before anything decodes it, and, for the
 * formats ffprobe would decode to learn them, the whole summary. Undefined leaves the picture to ffprobe.
 */
async function probePicture(format: ImageFormat, head: Buffer, bytes: ByteSource): Promise<ProbeSummary | undefined> {
  const header = await readImageHeader(format, head, bytes);
  if (!header) return undefined;
  // An SVG is drawn at the size of its renditions, not the size it declares (shared/media/image-limits.ts).
  if (format !== 'svg' && header.width !== undefined && header.height !== undefined && header.width * header.height > MAX_IMAGE_PIXELS) {
    throw new PermanentError(
      PermanentErrorCode.IMAGE_TOO_LARGE,
      `${describePixels(header.width, header.height)} exceeds the ${formatPixels(MAX_IMAGE_PIXELS)} limit`,
    );
  }
  if (!HEADER_ONLY_FORMATS.has(format)) return undefined;
  if (format === 'heif') return summarizePicture(header, HEIF_FORMAT_NAMES[header.codec] ?? 'heif', bytes.size);
  // ffprobe names a picture's demuxer after its codec when it goes by content; APNG has a demuxer of its own.
  return summarizePicture(header, header.codec === 'apng' ? 'apng' : `${header.codec}_pipe`, bytes.size);
}

/**
 * An MP3 whose Xing/LAME header counts more bytes than the file holds was cut short (an interrupted download or
 * copy): the header's bitrate, which ffprobe reports for the stream, is then well above what the file's size over
 * the header's duration gives. Extra bytes (a large tag) push it the other way and are no sign of damage. An MP3
 * without that header cannot tell; its duration is estimated from its size and decoding finds what is there.
 */
function assertNotCutShort(summary: ProbeSummary, basis: DurationBasis | undefined): void {
  if (basis !== 'inconsistent' || summary.formatName !== 'mp3' || summary.bitRate === null || summary.durationSeconds === null) return;
  const stated = summary.streams.find((stream) => stream.type === 'audio')?.bitRate;
  if (stated === undefined || summary.bitRate >= stated * CUT_SHORT_RATIO) return;
  const heldSeconds = (summary.durationSeconds * summary.bitRate) / stated;
  throw new PermanentError(
    PermanentErrorCode.CORRUPT_MEDIA,
    `truncated MP3: its header counts ${summary.durationSeconds.toFixed(2)} s of audio, the file holds about ${heldSeconds.toFixed(2)} s (${summary.sizeBytes} bytes)`,
  );
}

/** ffprobe opened the file as a picture by its name: the bytes must be that picture, and text never is one. */
function assertContentIsImage(summary: ProbeSummary, sniffed: Sniffed, head: Buffer): void {
  if (summary.kind !== 'image' || !isImageDemuxer(summary.formatName)) return;
  if (sniffed.kind === 'text') throw new PermanentError(PermanentErrorCode.UNSUPPORTED_MEDIA, 'the file is text, not an image');
  const codec = summary.streams.find((stream) => stream.type === 'video')?.codec;
  const expected = codec === undefined ? undefined : formatOfCodec(codec);
  if (expected === undefined || (sniffed.kind === 'image' && sniffed.format === expected)) return;
  throw new PermanentError(PermanentErrorCode.UNSUPPORTED_MEDIA, `content is not a ${IMAGE_FORMAT_NAMES[expected]} image (starts with ${describeStart(head)})`);
}

async function runFfprobe(ffprobe: string, input: MediaInput, timeoutMs: number): Promise<FfprobeRun> {
  const args = [
    // Warnings too, each line tagged with its level: two of them say whether the duration can be trusted.
    '-loglevel',
    'level+warning',
    '-hide_banner',
    '-print_format',
    'json',
    '-show_format',
    '-show_streams',
    '-show_error',
    // The input's own protocols only: a playlist or reference movie must not make a worker fetch URLs (SSRF).
    ...inputArgs(input),
  ];
  const { exit, stdout, stderr } = await spawnTool(ffprobe, args, {
    tool: 'ffprobe',
    label: 'ffprobe',
    timeoutMs,
    stdout: true,
    stderrLimitChars: MAX_STDERR_CHARS,
  });
  // ffprobe's own exit code is explained from what it printed (explainFailure); a run that ended without one (a
  // deadline, a crash, a kill, a spawn failure, too much output) gets the shared verdict.
  if (exit.code === null) throw classifyExit(exit, { what: 'ffprobe could not read the file', hide: [input.url] });
  const log = splitLevels(stderr);
  return { exitCode: exit.code, stdout, stderr: log.errors, warnings: log.warnings };
}

/** Picks the most useful explanation; the order matters because ffprobe's own words are often generic. */
async function explainFailure(
  input: MediaInput,
  bytes: ByteSource,
  run: FfprobeRun,
  json: Record<string, unknown> | undefined,
  maxBoxReads?: number,
): Promise<PermanentError> {
  const lines = diagnostics(run.stderr, input);
  const reported = (json?.error as { string?: unknown } | undefined)?.string;
  const headline = typeof reported === 'string' ? reported : (lines[0] ?? `ffprobe exited with code ${run.exitCode} and no message`);
  // stderr repeats the headline as "<file>: <headline>" (the path is stripped above); keep only what it adds.
  const extra = lines.filter((line) => line !== headline).slice(0, 3);
  const detail = extra.length > 0 ? `${headline} (${extra.join('; ')})` : headline;
  const head = await bytes.read(0, 4096);
  // The demuxer whitelist (source-server.ts) refused a format that fetches other files: say what it is, not the list.
  const refused = /^(\w+): Format not on whitelist/m.exec(lines.join('\n'))?.[1];
  if (refused) {
    return new PermanentError(
      PermanentErrorCode.UNSUPPORTED_MEDIA,
      `a ${refused.toUpperCase()} playlist or reference file, which names other files to fetch: mediaflow processes media files, not playlists`,
    );
  }

  // An MP4 whose moov sits at the end (no faststart) and was cut short makes ffprobe say "moov atom not found".
  if (['ftyp', 'moov', 'mdat', 'wide', 'free', 'skip'].includes(head.toString('latin1', 4, 8))) {
    const check = await walkIsoBmff(bytes, maxBoxReads);
    if (!check.ok) return new PermanentError(PermanentErrorCode.CORRUPT_MEDIA, `truncated or corrupt MP4: ${check.reason}; ffprobe: ${detail}`);
    if (check.boxes.includes('meta') && !check.boxes.includes('moov')) {
      return new PermanentError(PermanentErrorCode.UNSUPPORTED_MEDIA, `HEIF/AVIF still images are not supported by this ffprobe; ffprobe: ${detail}`);
    }
  }
  if (looksLikeText(head)) {
    return new PermanentError(PermanentErrorCode.UNSUPPORTED_MEDIA, `the file is text, not media; ffprobe could not read the file: ${detail}`);
  }
  // A tagger's leftover: the ID3 tag is all there is (an ID3v1 tag of 128 bytes may follow it).
  const tagBytes = id3TagBytes(head);
  if (tagBytes !== undefined && bytes.size <= tagBytes + ID3V1_BYTES) {
    return new PermanentError(PermanentErrorCode.CORRUPT_MEDIA, `the file is an ID3 tag of ${tagBytes} bytes with no audio after it`);
  }
  // A "[demuxer @ 0x…]" line means a container was recognised and then failed: damaged rather than foreign data.
  const recognised = /^\[[\w,]+ @ 0x[0-9a-f]+\]/m.test(run.stderr);
  const code = recognised ? PermanentErrorCode.CORRUPT_MEDIA : PermanentErrorCode.UNSUPPORTED_MEDIA;
  return new PermanentError(code, `ffprobe could not read the file: ${detail}`);
}

/** ffprobe's stderr as short, path-free lines: "[mp3 @ 0x55d…] Header missing" becomes "mp3: Header missing". */
function diagnostics(stderr: string, input: MediaInput): string[] {
  const lines = stderr
    .split(/\r?\n/)
    .map((line) =>
      line
        .replace(/^\[([\w,]+) @ 0x[0-9a-f]+\] ?/, '$1: ')
        .replaceAll(`${input.url}: `, '')
        .replaceAll(input.url, 'the file')
        .trim()
        .slice(0, 300),
    )
    .filter((line) => line !== '');
  return [...new Set(lines)];
}

function parseJson(stdout: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(stdout);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
