/**
 * Writing and reading HLS playlists (RFC 8216). mediaflow writes its own rather than keep ffmpeg's: its hls
 * muxer lists an audio-only stream as a variant beside the video ones and names the audio group after the
 * stream map, and its BANDWIDTH comes from the encoder's settings, not from the segments that were made.
 *
 * Reading (what validation and the tests use) runs every playlist through hls-parser in strict mode, the
 * RFC 8216 checks (group references, one DEFAULT per group, EXTINF within the target duration, the version a
 * feature needs, VIDEO-RANGE values). The values handed back are read here, as written: hls-parser's model
 * normalizes the very text validation compares (FRAME-RATE=29.970 becomes 29.97, CLOSED-CAPTIONS=NONE and
 * DEFAULT=NO read the same as absent), gives a MAP with no segment after it a phantom segment of URI '', and
 * accepts a TARGETDURATION of 5.5. Writing stays ours: hls-parser's stringify drops CLOSED-CAPTIONS=NONE (or,
 * with allowClosedCaptionsNone, adds it to audio-only variants too), drops EXT-X-MEDIA-SEQUENCE:0, reorders
 * tags and attributes, and prints EXTINF 1.5 where ffmpeg and we print 1.500000 (docs/design/libraries.md).
 */
import { getOptions, parse as parseStrictly, setOptions } from 'hls-parser';

/** §7: EXT-X-MAP in a playlist without EXT-X-I-FRAMES-ONLY needs protocol version 6; nothing here needs more. */
export const PROTOCOL_VERSION = 6;
export const PLAYLIST_CONTENT_TYPE = 'application/vnd.apple.mpegurl';

export interface MediaSegmentEntry {
  readonly uri: string;
  readonly durationSeconds: number;
}

export interface MediaPlaylist {
  readonly targetDuration: number;
  /** The fMP4 init segment; absent for WebVTT subtitles, whose segments stand alone. */
  readonly initUri?: string;
  readonly segments: readonly MediaSegmentEntry[];
}

export interface AudioRenditionEntry {
  readonly groupId: string;
  readonly name: string;
  readonly uri: string;
  readonly channels: number;
  readonly language?: string;
  /** DEFAULT=YES; when no entry says so, the first one is the default. */
  readonly default?: boolean;
}

export interface SubtitleRenditionEntry {
  readonly groupId: string;
  readonly name: string;
  readonly uri: string;
  readonly language?: string;
  readonly default: boolean;
  readonly forced: boolean;
}

export interface VariantEntry {
  readonly uri: string;
  readonly bandwidth: number;
  readonly averageBandwidth: number;
  readonly codecs: readonly string[];
  readonly resolution?: { readonly width: number; readonly height: number };
  readonly frameRate?: number;
  readonly audioGroup?: string;
  readonly subtitlesGroup?: string;
  /** §4.3.4.2 VIDEO-RANGE: set on every variant of a presentation with an HDR ladder, absent otherwise (SDR implied). */
  readonly videoRange?: VideoRange;
}

/** §4.3.4.2: the transfer a variant's video needs of the display. */
export type VideoRange = 'SDR' | 'PQ' | 'HLG';

export interface MasterPlaylist {
  readonly audio: readonly AudioRenditionEntry[];
  readonly subtitles?: readonly SubtitleRenditionEntry[];
  readonly variants: readonly VariantEntry[];
}

/**
 * LANGUAGE (§4.3.4.1: an RFC 5646 tag) from a stream's language tag: ISO 639-2 codes become their canonical
 * BCP-47 form ('eng' → 'en', 'fre' → 'fr'); 'und', private-use codes ('qaa'…) and anything unparsable are omitted.
 */
export function languageTag(tag: string | undefined): string | undefined {
  if (!tag || tag.toLowerCase() === 'und') return undefined;
  try {
    const [canonical] = Intl.getCanonicalLocales(tag);
    return canonical && !/^q[a-t][a-z]$/i.test(canonical) ? canonical : undefined;
  } catch {
    return undefined;
  }
}

/** NAME (§4.3.4.1: human-readable): the stream's title, else the language's English name, else the fallback. */
export function renditionName(title: string | undefined, language: string | undefined, fallback: string): string {
  const clean = title?.replace(/["\r\n]/g, ' ').trim();
  if (clean) return clean;
  if (language) {
    const name = new Intl.DisplayNames(['en'], { type: 'language', fallback: 'none' }).of(language);
    if (name) return name;
  }
  return fallback;
}

/** A VOD media playlist: every segment exists, so PLAYLIST-TYPE is VOD and the list ends with EXT-X-ENDLIST (§4.3.3.5, §4.3.3.4). */
export function writeMediaPlaylist(playlist: MediaPlaylist): string {
  const lines = [
    '#EXTM3U',
    `#EXT-X-VERSION:${PROTOCOL_VERSION}`,
    `#EXT-X-TARGETDURATION:${playlist.targetDuration}`,
    '#EXT-X-MEDIA-SEQUENCE:0',
    '#EXT-X-PLAYLIST-TYPE:VOD',
    // §4.3.5.1: every segment starts with a sync sample (an IDR frame, or any AAC frame), checked before this is written.
    '#EXT-X-INDEPENDENT-SEGMENTS',
    ...(playlist.initUri === undefined ? [] : [`#EXT-X-MAP:URI=${quoted(playlist.initUri)}`]),
  ];
  for (const segment of playlist.segments) lines.push(`#EXTINF:${formatDuration(segment.durationSeconds)},`, segment.uri);
  lines.push('#EXT-X-ENDLIST');
  return `${lines.join('\n')}\n`;
}

/**
 * The master playlist: one AUDIO group that every video variant references, so the audio is its own rendition
 * and video segment boundaries never cut it (§4.3.4.1.1). An audio-only asset has no video variant; its
 * audio playlist is then the one variant, with an audio-only CODECS.
 */
export function writeMasterPlaylist(master: MasterPlaylist): string {
  const lines = ['#EXTM3U', `#EXT-X-VERSION:${PROTOCOL_VERSION}`, '#EXT-X-INDEPENDENT-SEGMENTS'];
  // §4.3.4.1.1: at most one member of a group has DEFAULT=YES.
  const defaultAudio = Math.max(
    0,
    master.audio.findIndex((audio) => audio.default === true),
  );
  master.audio.forEach((audio, index) => {
    const attributes = [
      'TYPE=AUDIO',
      `GROUP-ID=${quoted(audio.groupId)}`,
      `NAME=${quoted(audio.name)}`,
      ...(audio.language ? [`LANGUAGE=${quoted(audio.language)}`] : []),
      `DEFAULT=${index === defaultAudio ? 'YES' : 'NO'}`,
      'AUTOSELECT=YES',
      `CHANNELS=${quoted(String(audio.channels))}`,
      `URI=${quoted(audio.uri)}`,
    ];
    lines.push(`#EXT-X-MEDIA:${attributes.join(',')}`);
  });
  for (const subtitles of master.subtitles ?? []) {
    const attributes = [
      'TYPE=SUBTITLES',
      `GROUP-ID=${quoted(subtitles.groupId)}`,
      `NAME=${quoted(subtitles.name)}`,
      ...(subtitles.language ? [`LANGUAGE=${quoted(subtitles.language)}`] : []),
      `DEFAULT=${subtitles.default ? 'YES' : 'NO'}`,
      // §4.3.4.1: AUTOSELECT must be YES where DEFAULT is; a forced track is only ever chosen automatically.
      `AUTOSELECT=${subtitles.default || subtitles.forced || subtitles.language !== undefined ? 'YES' : 'NO'}`,
      // FORCED is only for TYPE=SUBTITLES, and YES only when the track carries just the forced narrative.
      `FORCED=${subtitles.forced ? 'YES' : 'NO'}`,
      `URI=${quoted(subtitles.uri)}`,
    ];
    lines.push(`#EXT-X-MEDIA:${attributes.join(',')}`);
  }
  for (const variant of master.variants) {
    const attributes = [
      `BANDWIDTH=${variant.bandwidth}`,
      `AVERAGE-BANDWIDTH=${variant.averageBandwidth}`,
      `CODECS=${quoted(variant.codecs.join(','))}`,
      ...(variant.resolution ? [`RESOLUTION=${variant.resolution.width}x${variant.resolution.height}`] : []),
      // §4.3.4.2: FRAME-RATE is a decimal-floating-point rounded to three decimal places.
      ...(variant.frameRate !== undefined ? [`FRAME-RATE=${variant.frameRate.toFixed(3)}`] : []),
      ...(variant.videoRange ? [`VIDEO-RANGE=${variant.videoRange}`] : []),
      ...(variant.audioGroup ? [`AUDIO=${quoted(variant.audioGroup)}`] : []),
      ...(variant.subtitlesGroup ? [`SUBTITLES=${quoted(variant.subtitlesGroup)}`] : []),
      ...(variant.resolution ? ['CLOSED-CAPTIONS=NONE'] : []),
    ];
    lines.push(`#EXT-X-STREAM-INF:${attributes.join(',')}`, variant.uri);
  }
  return `${lines.join('\n')}\n`;
}

/** One tag line or URI line of a parsed playlist. */
export interface PlaylistLine {
  readonly tag?: string;
  /** The text after the colon, for tags that have one. */
  readonly value?: string;
  readonly uri?: string;
}

export interface ParsedMaster {
  readonly version: number | undefined;
  readonly independentSegments: boolean;
  readonly media: readonly Readonly<Record<string, string>>[];
  readonly variants: readonly { readonly attributes: Readonly<Record<string, string>>; readonly uri: string }[];
}

export interface ParsedMedia {
  readonly version: number | undefined;
  readonly targetDuration: number;
  readonly independentSegments: boolean;
  readonly playlistType: string | undefined;
  readonly mapUri: string | undefined;
  readonly ended: boolean;
  readonly segments: readonly MediaSegmentEntry[];
}

export class PlaylistError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PlaylistError';
  }
}

export function parseLines(text: string): PlaylistLine[] {
  const lines = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '');
  if (lines[0] !== '#EXTM3U') throw new PlaylistError('a playlist must start with #EXTM3U (§4.3.1.1)');
  return lines.slice(1).flatMap((line): PlaylistLine[] => {
    if (!line.startsWith('#')) return [{ uri: line }];
    if (!line.startsWith('#EXT')) return []; // a comment
    const colon = line.indexOf(':');
    return [colon === -1 ? { tag: line.slice(1) } : { tag: line.slice(1, colon), value: line.slice(colon + 1) }];
  });
}

export function parseMaster(text: string): ParsedMaster {
  const lines = parseLines(text);
  const variants: { attributes: Record<string, string>; uri: string }[] = [];
  lines.forEach((line, index) => {
    if (line.tag !== 'EXT-X-STREAM-INF') return;
    const uri = lines[index + 1]?.uri;
    if (!uri) throw new PlaylistError('EXT-X-STREAM-INF must be followed by a URI (§4.3.4.2)');
    variants.push({ attributes: parseAttributes(line.value ?? ''), uri });
  });
  checkStrictly(text);
  return {
    version: versionOf(lines),
    independentSegments: lines.some((line) => line.tag === 'EXT-X-INDEPENDENT-SEGMENTS'),
    media: lines.filter((line) => line.tag === 'EXT-X-MEDIA').map((line) => parseAttributes(line.value ?? '')),
    variants,
  };
}

export function parseMedia(text: string): ParsedMedia {
  const lines = parseLines(text);
  const segments: MediaSegmentEntry[] = [];
  let pending: number | undefined;
  for (const line of lines) {
    if (line.tag === 'EXTINF') pending = Number.parseFloat((line.value ?? '').split(',')[0] ?? '');
    if (line.uri !== undefined) {
      if (pending === undefined || !Number.isFinite(pending)) throw new PlaylistError(`segment ${line.uri} has no EXTINF (§4.3.2.1)`);
      segments.push({ uri: line.uri, durationSeconds: pending });
      pending = undefined;
    }
  }
  const target = lines.find((line) => line.tag === 'EXT-X-TARGETDURATION')?.value;
  if (target === undefined || !/^\d+$/.test(target)) throw new PlaylistError('EXT-X-TARGETDURATION is missing or not an integer (§4.3.3.1)');
  const map = lines.find((line) => line.tag === 'EXT-X-MAP')?.value;
  checkStrictly(text);
  return {
    version: versionOf(lines),
    targetDuration: Number(target),
    independentSegments: lines.some((line) => line.tag === 'EXT-X-INDEPENDENT-SEGMENTS'),
    playlistType: lines.find((line) => line.tag === 'EXT-X-PLAYLIST-TYPE')?.value,
    mapUri: map === undefined ? undefined : parseAttributes(map).URI,
    ended: lines.some((line) => line.tag === 'EXT-X-ENDLIST'),
    segments,
  };
}

/**
 * RFC 8216 as hls-parser checks it in strict mode, after this module's own checks (whose messages callers
 * match). hls-parser's options are module-wide, so they are set for this one call and put back.
 */
function checkStrictly(text: string): void {
  const previous = getOptions();
  setOptions({ strictMode: true, silent: true });
  try {
    parseStrictly(text);
  } catch (error) {
    throw new PlaylistError(`hls-parser (strict): ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    setOptions(previous);
  }
}

/** §4.2 attribute lists: NAME=value pairs separated by commas, where quoted strings may hold commas. */
export function parseAttributes(list: string): Record<string, string> {
  const attributes: Record<string, string> = {};
  const pattern = /([A-Z0-9-]+)=("[^"]*"|[^,]*)(?:,|$)/gy;
  for (let match = pattern.exec(list); match && match[0] !== ''; match = pattern.exec(list)) {
    const raw = match[2] ?? '';
    attributes[match[1]!] = raw.startsWith('"') ? raw.slice(1, -1) : raw;
  }
  return attributes;
}

/** Microsecond precision: enough to tell 1001/30000 s frames apart across an hour, and what ffmpeg's own muxer prints. */
export function formatDuration(seconds: number): string {
  return seconds.toFixed(6);
}

function quoted(value: string): string {
  if (/["\r\n]/.test(value)) throw new PlaylistError(`a quoted-string may not contain '"', CR or LF (§4.2): ${value}`);
  return `"${value}"`;
}

function versionOf(lines: readonly PlaylistLine[]): number | undefined {
  const value = lines.find((line) => line.tag === 'EXT-X-VERSION')?.value;
  return value === undefined ? undefined : Number(value);
}
