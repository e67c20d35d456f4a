/**
 * Everything a stranger controls (object names, custom metadata, container tags, error text) is bounded here before
 * it reaches a document, an event or a log line. Firestore refuses a document over 1 MiB and map keys that are
 * empty, longer than 1500 bytes or shaped `__name__`; an over-large record would turn a refusal into a retry loop.
 */

/** Custom metadata entries kept on an asset: GCS allows 8 KiB of them in all, partners' events 64. */
export const MAX_METADATA_ENTRIES = 64;
export const MAX_METADATA_KEY_BYTES = 256;
export const MAX_METADATA_VALUE_BYTES = 1024;
/** Container tags kept from the probe: enough for title/artist/comment, never a 1 MB lyrics blob. */
export const MAX_TAG_ENTRIES = 64;
export const MAX_TAG_VALUE_BYTES = 1024;
/** Ids, names and types in a record: an event id is an object name at most (1024 bytes) plus a generation. */
export const MAX_ID_BYTES = 1100;
/** One free-text field in a record (an error message, a validation issue). */
export const MAX_TEXT_BYTES = 2000;

const ELLIPSIS = '…';
/** C0 and C1 controls (but tab and newline), DEL, and the bidi overrides that make a name read differently than it is. */
function isControl(codePoint: number): boolean {
  if (codePoint === 0x09 || codePoint === 0x0a) return false;
  return (
    codePoint < 0x20 || (codePoint >= 0x7f && codePoint <= 0x9f) || (codePoint >= 0x202a && codePoint <= 0x202e) || (codePoint >= 0x2066 && codePoint <= 0x2069)
  );
}

function withoutControls(text: string): string {
  let kept = '';
  for (const character of text) if (!isControl(character.codePointAt(0)!)) kept += character;
  return kept;
}

/** Cuts a string to at most maxBytes of UTF-8, on a character boundary, marking the cut. */
export function truncateUtf8(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text, 'utf8') <= maxBytes) return text;
  // A budget too small for the mark gets the plain cut.
  const mark = maxBytes >= Buffer.byteLength(ELLIPSIS, 'utf8') ? ELLIPSIS : '';
  const budget = maxBytes - Buffer.byteLength(mark, 'utf8');
  let bytes = 0;
  let end = 0;
  for (const character of text) {
    const size = Buffer.byteLength(character, 'utf8');
    if (bytes + size > budget) break;
    bytes += size;
    end += character.length;
  }
  return `${text.slice(0, end)}${mark}`;
}

/** Control characters removed (tabs and newlines kept), lone surrogates replaced, then cut to maxBytes. */
export function cleanText(text: string, maxBytes: number = MAX_TEXT_BYTES): string {
  return truncateUtf8(withoutControls(text.toWellFormed()), maxBytes);
}

/** Firestore's rule for a map key, which a metadata or tag key becomes. */
export function isStorableKey(key: string): boolean {
  return key !== '' && !/^__.*__$/.test(key) && Buffer.byteLength(key, 'utf8') <= 1500;
}

export interface BoundedMap {
  readonly entries: Record<string, string>;
  /** What was left out or cut, for a note on the asset; empty when everything fit. */
  readonly notes: string[];
}

/**
 * Keeps the first `maxEntries` entries whose keys can be stored, with keys and values cleaned and cut. Keys are
 * cleaned, not refused: `Title\u0000` is still the title, and a dropped key is named in the notes.
 */
export function boundStringMap(
  input: Readonly<Record<string, unknown>> | undefined,
  limits: { maxEntries: number; maxKeyBytes: number; maxValueBytes: number },
): BoundedMap {
  // A Map, not an object: keys such as `constructor` or `__proto__` are data here, not the prototype's.
  const kept = new Map<string, string>();
  const notes: string[] = [];
  let skipped = 0;
  let cut = 0;
  for (const [rawKey, rawValue] of Object.entries(input ?? {})) {
    if (typeof rawValue !== 'string' && typeof rawValue !== 'number') continue;
    const key = cleanText(rawKey, limits.maxKeyBytes).trim();
    if (!isStorableKey(key) || kept.has(key) || kept.size >= limits.maxEntries) {
      skipped += 1;
      continue;
    }
    const value = cleanText(String(rawValue), limits.maxValueBytes);
    if (value !== String(rawValue)) cut += 1;
    kept.set(key, value);
  }
  const entries: Record<string, string> = Object.fromEntries(kept);
  if (skipped > 0) notes.push(`${skipped} entr${skipped === 1 ? 'y' : 'ies'} left out (empty, reserved or duplicate keys, or more than ${limits.maxEntries})`);
  if (cut > 0) notes.push(`${cut} value${cut === 1 ? '' : 's'} cut to ${limits.maxValueBytes} bytes or cleaned of control characters`);
  return { entries, notes };
}

export function boundMetadata(input: Readonly<Record<string, unknown>> | undefined): BoundedMap {
  return boundStringMap(input, { maxEntries: MAX_METADATA_ENTRIES, maxKeyBytes: MAX_METADATA_KEY_BYTES, maxValueBytes: MAX_METADATA_VALUE_BYTES });
}

export function boundTags(input: Readonly<Record<string, unknown>> | undefined): BoundedMap {
  return boundStringMap(input, { maxEntries: MAX_TAG_ENTRIES, maxKeyBytes: MAX_METADATA_KEY_BYTES, maxValueBytes: MAX_TAG_VALUE_BYTES });
}

/** The first `max` items and how many there were, so a list of 100,001 errors stays a list of 20 and a count. */
export function firstOf<T>(items: readonly T[], max: number): { readonly items: T[]; readonly total: number } {
  return { items: items.slice(0, max), total: items.length };
}

/**
 * The size Firestore charges a document (cloud.google.com/firestore/docs/storage-size): strings are UTF-8 bytes
 * plus one, numbers and dates 8, booleans and null 1, each field name its bytes plus one, plus 32 for the document.
 */
export function firestoreSize(value: unknown): number {
  return 32 + valueSize(value);
}

function valueSize(value: unknown): number {
  if (value === null || value === undefined || typeof value === 'boolean') return 1;
  if (typeof value === 'number' || value instanceof Date) return 8;
  if (typeof value === 'string') return Buffer.byteLength(value, 'utf8') + 1;
  if (Array.isArray(value)) return value.reduce<number>((sum, item) => sum + valueSize(item), 0);
  if (typeof value === 'object') {
    return Object.entries(value as Record<string, unknown>).reduce((sum, [key, item]) => sum + Buffer.byteLength(key, 'utf8') + 1 + valueSize(item), 0);
  }
  return 8;
}
