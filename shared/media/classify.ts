/**
 * Turns ffprobe's JSON (`-print_format json -show_format -show_streams`) into the summary the planner works from.
 * Pure: no I/O, so every rule below is covered by table tests on hand-written ffprobe output.
 */
import { PermanentError, PermanentErrorCode } from '../errors.ts';
import type { DurationBasis } from './ffprobe-log.ts';
import type { AudioMetadata } from './audio-metadata.ts';
import type { InterlaceVerdict } from './interlace.ts';

export type MediaKind = 'image' | 'audio' | 'video';

export interface StreamSummary {
  index: number;
  type: 'video' | 'audio' | 'subtitle' | 'data' | 'attachment';
  codec: string;
  profile?: string;
  bitRate?: number;
  durationSeconds?: number;
  width?: number;
  height?: number;
  sampleAspectRatio?: string;
  displayAspectRatio?: string;
  /** Clockwise display rotation in degrees, normalised to 0/90/180/270. */
  rotation?: number;
  frameRate?: number;
  frameRateExact?: string;
  variableFrameRate?: boolean;
  frameCount?: number;
  pixelFormat?: string;
  bitDepth?: number;
  colorSpace?: string;
  colorTransfer?: string;
  colorPrimaries?: string;
  /** ffprobe's color_range: 'tv' (limited) or 'pc' (full). */
  colorRange?: string;
  /** ffprobe's field_order as stated: 'progressive', 'tt', 'bb', 'tb', 'bt' (coded field, displayed field). */
  fieldOrder?: string;
  /** The primary video stream only: the field order weighed against idet's look at decoded frames (shared/media/interlace.ts). */
  interlace?: InterlaceVerdict;
  sampleRate?: number;
  channels?: number;
  channelLayout?: string;
  /** disposition.attached_pic === 1: cover art, not a picture to process. */
  attachedPicture: boolean;
  /**
   * Where the stream's first timestamp lands when ffmpeg reads it alone with -copyts -start_at_zero, as the HLS
   * steps do: seconds from the file's start (an MP4's edit list delays a track, a Matroska video starts after its
   * AAC's priming). MPEG-TS/PS state no start: ffmpeg takes the first timestamp of the streams it reads, so a
   * stream read alone starts at 0 and the streams' real distance is measured at run time (hls-audio/source-start.ts).
   */
  startSeconds?: number;
  /** Audio and subtitles: the language tag as stated (ISO 639-2 'eng', or BCP-47), 'und' omitted. */
  language?: string;
  /** Audio and subtitles: the stream's title tag (Matroska's track name), trimmed and bounded. */
  title?: string;
  /** Audio and subtitles: disposition.default and disposition.forced. */
  defaultTrack?: boolean;
  forced?: boolean;
}

export interface ProbeSummary {
  kind: MediaKind;
  formatName: string;
  formatLongName?: string;
  durationSeconds: number | null;
  sizeBytes: number;
  bitRate: number | null;
  streams: StreamSummary[];
  tags: Record<string, string>;
  /** Display size of the primary picture (after sample aspect ratio and rotation), even-rounding not applied. */
  display?: { width: number; height: number };
  animated?: boolean;
  warnings: string[];
  /** Audio only: tags, chapters and cover facts read by music-metadata at ingest (shared/media/audio-metadata.ts). */
  audioMetadata?: AudioMetadata;
  /** Present when the container's duration cannot be trusted as stated (see ffprobe-log.ts); decoded truth then rules. */
  durationBasis?: DurationBasis;
}

type Json = Record<string, unknown>;

/** Codecs that carry one still picture. A stream of one of these with more frames (MJPEG in AVI) is video. */
const STILL_IMAGE_CODECS = new Set([
  'mjpeg',
  'jpegls',
  'jpeg2000',
  'jpegxl',
  'png',
  'apng',
  'webp',
  'gif',
  'tiff',
  'bmp',
  'ppm',
  'pgm',
  'pgmyuv',
  'pbm',
  'pam',
  'pcx',
  'sgi',
  'targa',
  'sunrast',
  'xbm',
  'xpm',
  'xwd',
  'dpx',
  'exr',
  'hdr',
  'psd',
  'qoi',
  'svg',
  'photocd',
  'alias_pix',
  'pictor',
  'ptx',
  'ico',
]);
/** Demuxers of image files. Every single-image demuxer is named `<codec>_pipe`; these are the rest. */
const IMAGE_FORMATS = new Set(['image2', 'image2pipe', 'gif', 'apng', 'ico', 'webp']);
/** ISO BMFF major brands of HEIF/AVIF images (ISO/IEC 23008-12, AV1 Image File Format); 'avis'/'msf1' are sequences. */
const IMAGE_BRANDS = new Set(['avif', 'avis', 'heic', 'heix', 'heis', 'hevc', 'mif1', 'msf1']);
const STREAM_TYPES = new Set<StreamSummary['type']>(['video', 'audio', 'subtitle', 'data', 'attachment']);

export function summarize(ffprobeJson: unknown, sizeBytes: number): ProbeSummary {
  const root = asObject(ffprobeJson);
  const format = asObject(root.format);
  const formatName = str(format.format_name);
  if (!formatName) throw new PermanentError(PermanentErrorCode.UNSUPPORTED_MEDIA, 'ffprobe recognised no container format');
  // The tty demuxer renders text files (.txt, .nfo, .asc) as an "ansi" video stream; text is not media.
  if (formatName === 'tty') throw new PermanentError(PermanentErrorCode.UNSUPPORTED_MEDIA, 'the file is text, not media');
  const streams = (Array.isArray(root.streams) ? root.streams : []).map((s, i) => summarizeStream(asObject(s), i));
  relativeStarts(streams, PACKET_TIMED_FORMATS.has(formatName.split(',')[0] ?? '') ? undefined : num(format.start_time));
  const tags = lowerCaseTags(format.tags);

  // Cover art (attached_pic) is metadata of an audio file, not a picture to render, so it never decides the kind.
  const pictures = streams.filter((s) => s.type === 'video' && !s.attachedPicture);
  const audio = streams.filter((s) => s.type === 'audio');
  const primary = pictures[0];
  const imageContainer = isImageDemuxer(formatName) || IMAGE_BRANDS.has(tags.major_brand?.trim() ?? '');

  let kind: MediaKind;
  if (primary && audio.length === 0 && (imageContainer || (pictures.length === 1 && isStill(primary)))) {
    // Animated GIF/APNG/WebP and AVIF sequences stay images: they are rendered like pictures, not transcoded.
    kind = 'image';
  } else if (pictures.some((s) => !isStill(s))) {
    kind = 'video';
  } else if (audio.length > 0) {
    // Includes a still picture muxed as an ordinary track next to audio (podcast MKV/MP4): it is cover art in effect.
    kind = 'audio';
  } else {
    throw new PermanentError(PermanentErrorCode.UNSUPPORTED_MEDIA, 'no audio or video streams: nothing to process');
  }

  const durationSeconds = num(format.duration) ?? maxOf(streams.map((s) => s.durationSeconds));
  const animated = kind === 'image' && primary ? frames(primary) > 1 : undefined;
  return {
    kind,
    formatName,
    ...(str(format.format_long_name) ? { formatLongName: str(format.format_long_name) } : {}),
    // A still image has no duration: image2 reports one frame at a nominal 25 fps (0.04 s), which means nothing.
    durationSeconds: kind === 'image' && !animated ? null : (durationSeconds ?? null),
    sizeBytes,
    bitRate: int(format.bit_rate) ?? null,
    streams,
    tags,
    ...(kind !== 'audio' && primary ? displaySize(primary) : {}),
    ...(animated === undefined ? {} : { animated }),
    warnings: [],
  };
}

/** What a picture's header states (shared/media/sniff.ts), for the summary of a picture ffprobe did not open. */
export interface PictureHeader {
  /** ffprobe's codec name. */
  readonly codec: string;
  readonly width?: number;
  readonly height?: number;
  readonly pixelFormat?: string;
  /** Frames of an animation; 0 when the header walk did not count them. */
  readonly frames: number;
}

/**
 * The summary ffprobe would give a picture, from its header: one video stream, no duration, the stored size as
 * the display size (pictures carry no sample aspect ratio or display matrix that ffprobe reports).
 */
export function summarizePicture(header: PictureHeader, formatName: string, sizeBytes: number): ProbeSummary {
  const animated = header.frames !== 1;
  const stream: StreamSummary = { index: 0, type: 'video', codec: header.codec, attachedPicture: false };
  const fields: Partial<StreamSummary> = {
    width: header.width,
    height: header.height,
    pixelFormat: header.pixelFormat,
    // Only an animation states a count, as ffprobe does; a still is one frame without saying so.
    frameCount: header.frames > 1 ? header.frames : undefined,
  };
  for (const [key, value] of Object.entries(fields)) {
    if (value !== undefined) Object.assign(stream, { [key]: value });
  }
  return {
    kind: 'image',
    formatName,
    durationSeconds: null,
    sizeBytes,
    bitRate: null,
    streams: [stream],
    tags: {},
    ...displaySize(stream),
    animated,
    warnings: [],
  };
}

/** A demuxer of picture files, which ffprobe's image2 picks by the file's extension rather than its content. */
export function isImageDemuxer(formatName: string): boolean {
  return formatName.split(',').some((name) => IMAGE_FORMATS.has(name) || name.endsWith('_pipe'));
}

/** One picture and nothing that moves: a still-image codec with at most one frame. */
function isStill(stream: StreamSummary): boolean {
  return STILL_IMAGE_CODECS.has(stream.codec) && frames(stream) <= 1;
}

/**
 * nb_frames when the container states it (GIF, MP4, AVI do); otherwise duration × frame rate, which is one for a
 * single image (image2 reports 0.04 s at 25 fps); otherwise one, since a stream with neither is not a sequence.
 */
function frames(stream: StreamSummary): number {
  if (stream.frameCount !== undefined) return stream.frameCount;
  if (stream.durationSeconds && stream.frameRate) return Math.max(1, Math.round(stream.durationSeconds * stream.frameRate));
  return 1;
}

/** Container tags are a stranger's text: a track title longer than this is cut. */
const MAX_TRACK_TITLE_CHARS = 120;

/** Demuxers whose start is the first timestamp read, of whichever streams are read (see startSeconds). */
const PACKET_TIMED_FORMATS = new Set(['mpegts', 'mpeg', 'mpegtsraw']);

/** Stream starts as offsets from the file's start (undefined: each stream read alone starts at 0); summarizeStream stored the raw start_time. */
function relativeStarts(streams: StreamSummary[], formatStart: number | undefined): void {
  for (const stream of streams) {
    const zero = formatStart ?? stream.startSeconds;
    if (stream.startSeconds === undefined || zero === undefined) continue;
    // Microseconds: ffprobe prints six decimals, and subtraction must not leave 0.19999999.
    stream.startSeconds = Math.max(0, Math.round((stream.startSeconds - zero) * 1e6) / 1e6);
  }
}

/** Language, title and default/forced dispositions of an audio or subtitle stream, as HLS renditions name them. */
function trackFacts(s: Json, disposition: Json): Partial<StreamSummary> {
  const tags = lowerCaseTags(s.tags);
  const language = tags.language?.trim();
  const title = tags.title
    ?.replace(/[\p{Cc}"]/gu, ' ')
    .trim()
    .slice(0, MAX_TRACK_TITLE_CHARS);
  return {
    ...(language && language.toLowerCase() !== 'und' && /^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$/.test(language) ? { language } : {}),
    ...(title ? { title } : {}),
    defaultTrack: disposition.default === 1,
    forced: disposition.forced === 1,
  };
}

function summarizeStream(s: Json, position: number): StreamSummary {
  const codecType = str(s.codec_type);
  const type = codecType && STREAM_TYPES.has(codecType as StreamSummary['type']) ? (codecType as StreamSummary['type']) : 'data';
  const disposition = asObject(s.disposition);
  const summary: StreamSummary = {
    index: int(s.index) ?? position,
    type,
    codec: str(s.codec_name) ?? 'unknown',
    attachedPicture: disposition.attached_pic === 1,
    ...(num(s.start_time) === undefined ? {} : { startSeconds: num(s.start_time) }),
    ...(type === 'audio' || type === 'subtitle' ? trackFacts(s, disposition) : {}),
  };
  const fields: Partial<StreamSummary> = {
    profile: str(s.profile),
    bitRate: int(s.bit_rate),
    durationSeconds: num(s.duration),
    frameCount: int(s.nb_frames),
    bitDepth: int(s.bits_per_raw_sample) ?? positive(int(s.bits_per_sample)),
  };
  if (type === 'video') {
    const avg = rational(s.avg_frame_rate);
    const real = rational(s.r_frame_rate);
    // Cover art reports the container's time base as a frame rate (90000/1 in MP3), which means nothing.
    const rate = summary.attachedPicture ? undefined : (avg ?? real);
    Object.assign(fields, {
      width: positive(int(s.width)),
      height: positive(int(s.height)),
      sampleAspectRatio: ratio(s.sample_aspect_ratio),
      displayAspectRatio: ratio(s.display_aspect_ratio),
      rotation: rotationOf(s),
      frameRate: rate?.value,
      frameRateExact: rate?.text,
      // r_frame_rate is the rate that represents every timestamp; when the average differs by more than rounding
      // (30000/1001 vs 2997/100 does not), frames are unevenly spaced. A heuristic, as ffprobe offers no flag.
      variableFrameRate: rate && avg && real ? Math.abs(avg.value - real.value) / real.value > 0.01 : undefined,
      pixelFormat: str(s.pix_fmt),
      colorSpace: known(s.color_space),
      colorTransfer: known(s.color_transfer),
      colorPrimaries: known(s.color_primaries),
      colorRange: known(s.color_range),
      fieldOrder: known(s.field_order),
    });
  } else if (type === 'audio') {
    Object.assign(fields, { sampleRate: int(s.sample_rate), channels: positive(int(s.channels)), channelLayout: str(s.channel_layout) });
  }
  for (const [key, value] of Object.entries(fields)) {
    if (value !== undefined) Object.assign(summary, { [key]: value });
  }
  return summary;
}

/**
 * Clockwise degrees. ffprobe's Display Matrix `rotation` is counter-clockwise (av_display_rotation_get), so a phone's
 * portrait clip reports -90 and must be turned 90° clockwise; the legacy `rotate` tag was already clockwise.
 */
function rotationOf(s: Json): number | undefined {
  const sideData = Array.isArray(s.side_data_list) ? s.side_data_list.map(asObject) : [];
  const matrix = sideData.find((d) => d.side_data_type === 'Display Matrix' && num(d.rotation) !== undefined);
  const clockwise = matrix ? -(num(matrix.rotation) ?? 0) : num(asObject(s.tags).rotate);
  if (clockwise === undefined) return undefined;
  return (((Math.round(clockwise / 90) * 90) % 360) + 360) % 360;
}

/** width × SAR, then swapped for a quarter turn. SAR 0:1 means "unknown", which players treat as square pixels. */
function displaySize(stream: StreamSummary): { display?: { width: number; height: number } } {
  if (!stream.width || !stream.height) return {};
  const sar = rational(stream.sampleAspectRatio?.replace(':', '/'));
  const width = Math.round(stream.width * (sar && sar.value > 0 ? sar.value : 1));
  const turned = stream.rotation === 90 || stream.rotation === 270;
  return { display: turned ? { width: stream.height, height: width } : { width, height: stream.height } };
}

function lowerCaseTags(value: unknown): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const [key, tag] of Object.entries(asObject(value))) {
    // ffprobe prints every tag value as a string; numbers are tolerated for hand-built input, anything else dropped.
    if (typeof tag === 'string' || typeof tag === 'number') tags[key.toLowerCase()] = String(tag);
  }
  return tags;
}

function asObject(value: unknown): Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : {};
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** ffprobe prints most numbers as strings, and "N/A" when unknown. */
function num(value: unknown): number | undefined {
  const parsed = typeof value === 'number' ? value : typeof value === 'string' ? Number.parseFloat(value) : Number.NaN;
  return Number.isFinite(parsed) ? parsed : undefined;
}

function int(value: unknown): number | undefined {
  const parsed = num(value);
  return parsed === undefined ? undefined : Math.trunc(parsed);
}

function positive(value: number | undefined): number | undefined {
  return value !== undefined && value > 0 ? value : undefined;
}

/** "30000/1001" → 29.97…; "0/0" (unknown) → undefined. */
function rational(value: unknown): { value: number; text: string } | undefined {
  if (typeof value !== 'string') return undefined;
  const [n, d] = value.split('/').map(Number);
  if (n === undefined || !Number.isFinite(n) || n <= 0) return undefined;
  const denominator = d ?? 1;
  return Number.isFinite(denominator) && denominator > 0 ? { value: n / denominator, text: value } : undefined;
}

/** Aspect ratios as "N:D"; ffprobe prints "0:1" or "N/A" when it has none. */
function ratio(value: unknown): string | undefined {
  return typeof value === 'string' && /^\d+:\d+$/.test(value) && !value.startsWith('0:') ? value : undefined;
}

function known(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' && value !== 'unknown' && value !== 'unspecified' ? value : undefined;
}

function maxOf(values: (number | undefined)[]): number | undefined {
  const defined = values.filter((v): v is number => v !== undefined);
  return defined.length > 0 ? Math.max(...defined) : undefined;
}
