/**
 * The probe's summary as it comes back from a document (the probe step's outputs, the asset's `probe` field): a
 * plain document until this guard has checked it has the shape of a ProbeSummary. The probe is ours, so a mismatch
 * is a bug or a document from another version, and it is said so rather than planned from.
 */
import type { ProbeSummary, StreamSummary } from '../media/classify.ts';

const KINDS: ReadonlySet<unknown> = new Set(['image', 'audio', 'video']);
const STREAM_TYPES: ReadonlySet<unknown> = new Set(['video', 'audio', 'subtitle', 'data', 'attachment']);
const DURATION_BASES: ReadonlySet<unknown> = new Set(['estimated', 'inconsistent']);
const SCANS: ReadonlySet<unknown> = new Set(['tff', 'bff', 'progressive']);
const SCAN_METHODS: ReadonlySet<unknown> = new Set(['idet', 'flag', 'frame-rate']);

type Fields = { readonly [key: string]: unknown };

const isFields = (value: unknown): value is Fields => typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
const optional = (value: unknown, check: (value: unknown) => boolean): boolean => value === undefined || check(value);
const isNumber = (value: unknown): boolean => typeof value === 'number' && Number.isFinite(value);
const isString = (value: unknown): boolean => typeof value === 'string';
const isBoolean = (value: unknown): boolean => typeof value === 'boolean';
const numberOrNull = (value: unknown): boolean => value === null || isNumber(value);

const STREAM_NUMBERS = [
  'bitRate',
  'durationSeconds',
  'width',
  'height',
  'rotation',
  'frameRate',
  'frameCount',
  'bitDepth',
  'sampleRate',
  'channels',
  'startSeconds',
];
const STREAM_STRINGS = [
  'profile',
  'sampleAspectRatio',
  'displayAspectRatio',
  'frameRateExact',
  'pixelFormat',
  'colorSpace',
  'colorTransfer',
  'colorPrimaries',
  'colorRange',
  'fieldOrder',
  'channelLayout',
  'language',
  'title',
];
const STREAM_BOOLEANS = ['variableFrameRate', 'defaultTrack', 'forced'];

function isInterlaceVerdict(value: unknown): boolean {
  return (
    isFields(value) &&
    (value.flagged === 'unknown' || SCANS.has(value.flagged)) &&
    SCANS.has(value.detected) &&
    SCAN_METHODS.has(value.method) &&
    isNumber(value.frames) &&
    optional(value.counts, isFields)
  );
}

export function isStreamSummary(value: unknown): value is StreamSummary {
  if (!isFields(value)) return false;
  return (
    isNumber(value.index) &&
    STREAM_TYPES.has(value.type) &&
    isString(value.codec) &&
    isBoolean(value.attachedPicture) &&
    STREAM_NUMBERS.every((key) => optional(value[key], isNumber)) &&
    STREAM_STRINGS.every((key) => optional(value[key], isString)) &&
    STREAM_BOOLEANS.every((key) => optional(value[key], isBoolean)) &&
    optional(value.interlace, isInterlaceVerdict)
  );
}

export function isProbeSummary(value: unknown): value is ProbeSummary {
  if (!isFields(value)) return false;
  const { display, tags, streams, warnings } = value;
  return (
    KINDS.has(value.kind) &&
    isString(value.formatName) &&
    optional(value.formatLongName, isString) &&
    numberOrNull(value.durationSeconds) &&
    isNumber(value.sizeBytes) &&
    numberOrNull(value.bitRate) &&
    Array.isArray(streams) &&
    streams.every(isStreamSummary) &&
    isFields(tags) &&
    Object.values(tags).every(isString) &&
    (display === undefined || (isFields(display) && isNumber(display.width) && isNumber(display.height))) &&
    optional(value.animated, isBoolean) &&
    Array.isArray(warnings) &&
    warnings.every(isString) &&
    // Tags, chapters and cover facts: read by music-metadata at ingest and only shown, never planned from.
    optional(value.audioMetadata, isFields) &&
    optional(value.durationBasis, (basis) => DURATION_BASES.has(basis))
  );
}

/** The probe summary a document holds, or an error saying it holds none. */
export function probeSummaryOf(value: unknown): ProbeSummary {
  if (!isProbeSummary(value)) throw new Error('the recorded probe does not have the shape of a probe summary');
  return value;
}
