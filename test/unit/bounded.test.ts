/** Bounding what strangers control: text, map keys and values, document sizes, profiles, log lines. */
import { describe, expect, it } from 'vitest';
import type { IngestRequested, ObjectFinalized } from '../../events/catalog.ts';
import {
  MAX_METADATA_ENTRIES,
  MAX_METADATA_KEY_BYTES,
  MAX_METADATA_VALUE_BYTES,
  MAX_TAG_ENTRIES,
  MAX_TAG_VALUE_BYTES,
  MAX_TEXT_BYTES,
  boundMetadata,
  boundStringMap,
  boundTags,
  cleanText,
  firestoreSize,
  firstOf,
  isStorableKey,
  truncateUtf8,
} from '../../shared/domain/bounded.ts';
import {
  PROFILE_METADATA,
  SOURCE_NOT_ALLOWED,
  partnerRequest,
  partnerSource,
  resolveProfile,
  uploadRequest,
  uploadSource,
} from '../../shared/domain/ingest-request.ts';
import { PermanentError } from '../../shared/errors.ts';
import { MAX_LOG_STRING_CHARS, createLogger } from '../../shared/observability/log.ts';
import type { BlobMetadata } from '../../shared/ports/blob-store.ts';

const bytes = (text: string): number => Buffer.byteLength(text, 'utf8');
const ELLIPSIS = '…'; // three bytes of UTF-8

describe('truncateUtf8', () => {
  it.each([
    ['ascii that fits', 'hello', 5, 'hello'],
    ['the empty string', '', 0, ''],
    ['ascii one byte over', 'hello!', 5, 'he…'],
    ['CJK (3 bytes each) cut between characters', '日本語テキスト', 10, '日本…'], // 2 × 3 + 3 = 9 ≤ 10; a third would be 12
    ['CJK where the budget falls mid-character', '日本語テキスト', 11, '日本…'],
    ['CJK with room for exactly three', '日本語テキスト', 12, '日本語…'],
    ['an emoji pair never split', '😀😀😀', 8, '😀…'], // 4 + 3 = 7; a second emoji would make 11
    ['a budget smaller than the first emoji', '😀😀', 6, '…'],
    ['two-byte Latin', 'ééééé', 8, 'éé…'],
    ['a string exactly at the limit', '日本', 6, '日本'],
  ])('%s', (_label, text, maxBytes, expected) => {
    const result = truncateUtf8(text, maxBytes);
    expect(result).toBe(expected);
    expect(bytes(result)).toBeLessThanOrEqual(maxBytes);
    expect(result.isWellFormed()).toBe(true);
  });

  it('for every cut of a mixed-script string: within budget, well formed, a prefix of the original, marked', () => {
    const text = 'a😀é日\u{1F468}\u200D\u{1F469}b𝄞z'.repeat(5);
    for (let maxBytes = 3; maxBytes <= bytes(text) + 2; maxBytes += 1) {
      const result = truncateUtf8(text, maxBytes);
      expect(bytes(result), `maxBytes ${maxBytes}`).toBeLessThanOrEqual(maxBytes);
      expect(result.isWellFormed(), `maxBytes ${maxBytes}`).toBe(true);
      if (bytes(text) <= maxBytes) {
        expect(result).toBe(text);
      } else {
        expect(result.endsWith(ELLIPSIS)).toBe(true);
        expect(text.startsWith(result.slice(0, -1))).toBe(true);
        // Greedy: the next character would not have fit.
        const next = [...text.slice(result.length - 1)][0]!;
        expect(bytes(result) + bytes(next)).toBeGreaterThan(maxBytes);
      }
    }
  });

  it.each([0, 1, 2])('never exceeds a budget of %d bytes, even one smaller than the ellipsis', (maxBytes) => {
    // Bug: returns '…' (3 bytes) whatever the budget below 3.
    expect(bytes(truncateUtf8('abcdef', maxBytes))).toBeLessThanOrEqual(maxBytes);
  });
});

describe('cleanText', () => {
  it.each([
    ['keeps tab and newline', 'a\tb\nc', 'a\tb\nc'],
    ['drops NUL, BEL, ESC, CR and the other C0 controls', 'a\u0000b\u0007c\u001b[31md\re\u001f', 'abc[31mde'],
    ['drops DEL and the C1 controls, NEL included', 'a\u007fb\u0080c\u0085d\u009fe', 'abcde'],
    ['keeps U+00A0 and U+00A1, just past C1', 'a\u00a0\u00a1', 'a\u00a0\u00a1'],
    ['drops the bidi embeddings and overrides (U+202A..U+202E)', 'invoice\u202Efdp.exe\u202A\u202B\u202C\u202D', 'invoicefdp.exe'],
    ['drops the bidi isolates (U+2066..U+2069)', '\u2066a\u2067b\u2068c\u2069', 'abc'],
    ['keeps the bidi marks LRM/RLM and U+2065, U+206A outside the ranges', '\u200Ea\u200F\u2065\u206A', '\u200Ea\u200F\u2065\u206A'],
    ['replaces a lone high surrogate', 'a\uD83Db', 'a\uFFFDb'],
    ['replaces a lone low surrogate', '\uDE00x', '\uFFFDx'],
    ['keeps a proper surrogate pair', 'x😀y', 'x😀y'],
    ['keeps CJK and accents', '東京 café', '東京 café'],
  ])('%s', (_label, input, expected) => {
    expect(cleanText(input)).toBe(expected);
  });

  it('cuts to MAX_TEXT_BYTES by default, after removing controls (they do not use up the budget)', () => {
    expect(MAX_TEXT_BYTES).toBe(2000);
    const long = 'x'.repeat(5000);
    expect(bytes(cleanText(long))).toBeLessThanOrEqual(MAX_TEXT_BYTES);
    expect(cleanText(long).endsWith(ELLIPSIS)).toBe(true);
    const padded = `${'\u0000'.repeat(5000)}${'y'.repeat(10)}`;
    expect(cleanText(padded, 10)).toBe('y'.repeat(10));
  });

  it('a cut lone surrogate cannot survive: the result is always well formed and within budget', () => {
    const hostile = `${'\uD800'.repeat(100)}${'😀'.repeat(100)}\u202E`;
    const result = cleanText(hostile, 50);
    expect(result.isWellFormed()).toBe(true);
    expect(bytes(result)).toBeLessThanOrEqual(50);
    expect(result).not.toContain('\u202E');
  });
});

describe('isStorableKey', () => {
  it.each([
    ['', false],
    ['__name__', false],
    ['__x__', false],
    ['____', false],
    ['__', true], // the reserved shape needs both a leading and a trailing __ pair, which '__' alone does not have
    ['_x_', true],
    ['__x', true],
    ['x__', true],
    ['a__b__', true],
    ['title', true],
    [' ', true],
    ['k'.repeat(1500), true],
    ['k'.repeat(1501), false],
    ['é'.repeat(750), true], // 1500 bytes
    ['é'.repeat(750) + 'k', false], // 1501 bytes in 751 characters
  ])('%j → %s', (key, storable) => {
    expect(isStorableKey(key)).toBe(storable);
  });
});

describe('boundStringMap', () => {
  const small = { maxEntries: 3, maxKeyBytes: 16, maxValueBytes: 8 };

  it('keeps everything that fits, with no notes', () => {
    expect(boundStringMap({ a: '1', b: 'two' }, small)).toEqual({ entries: { a: '1', b: 'two' }, notes: [] });
    expect(boundStringMap(undefined, small)).toEqual({ entries: {}, notes: [] });
    expect(boundStringMap({}, small)).toEqual({ entries: {}, notes: [] });
  });

  it('keeps the first maxEntries entries in input order and counts the rest', () => {
    const result = boundStringMap({ a: '1', b: '2', c: '3', d: '4', e: '5' }, small);
    expect(result.entries).toEqual({ a: '1', b: '2', c: '3' });
    expect(result.notes).toEqual(['2 entries left out (empty, reserved or duplicate keys, or more than 3)']);
  });

  it('leaves out empty, blank and reserved keys: one entry is "entry"', () => {
    expect(boundStringMap({ '': 'x', ok: 'y' }, small).notes).toEqual(['1 entry left out (empty, reserved or duplicate keys, or more than 3)']);
    const result = boundStringMap({ '   ': 'blank', __name__: 'reserved', '\u0000\u0001': 'only controls', ok: 'y' }, small);
    expect(result.entries).toEqual({ ok: 'y' });
    expect(result.notes).toEqual(['3 entries left out (empty, reserved or duplicate keys, or more than 3)']);
  });

  it('cleans keys rather than refusing them, and a cleaned key that collides with an earlier one is a duplicate', () => {
    const result = boundStringMap({ title: 'first', 'title\u0000': 'second', ' title ': 'third', 'ti\u202Etle': 'fourth' }, { ...small, maxEntries: 10 });
    expect(result.entries).toEqual({ title: 'first' });
    expect(result.notes).toEqual(['3 entries left out (empty, reserved or duplicate keys, or more than 10)']);
  });

  it('a key made of controls around a reserved name is still refused once cleaned', () => {
    expect(boundStringMap({ '\u0000__name__\u0000': 'x' }, small).entries).toEqual({});
  });

  it('skips values that are neither strings nor numbers silently, and keeps numbers as their decimal text', () => {
    const result = boundStringMap({ n: 42, f: 1.5, t: true, o: { nested: 'x' }, l: ['a'], z: null, u: undefined, s: 'ok' }, { ...small, maxEntries: 10 });
    expect(result.entries).toEqual({ n: '42', f: '1.5', s: 'ok' });
    expect(result.notes).toEqual([]);
  });

  it('cuts long values and cleans control characters, counting each changed value once', () => {
    const result = boundStringMap({ long: 'abcdefghijk', ctl: 'a\u0000b', fine: 'ok', tab: 'a\tb' }, { ...small, maxEntries: 10 });
    expect(result.entries).toEqual({ long: 'abcde…', ctl: 'ab', fine: 'ok', tab: 'a\tb' });
    expect(result.notes).toEqual(['2 values cut to 8 bytes or cleaned of control characters']);
    expect(boundStringMap({ one: '\u0007' }, small).notes).toEqual(['1 value cut to 8 bytes or cleaned of control characters']);
  });

  it('cuts long keys to maxKeyBytes (marked), so two long keys sharing a prefix collide', () => {
    const result = boundStringMap({ [`${'k'.repeat(20)}A`]: '1', [`${'k'.repeat(20)}B`]: '2' }, small);
    expect(Object.keys(result.entries)).toEqual([`${'k'.repeat(13)}…`]);
    expect(bytes(Object.keys(result.entries)[0]!)).toBeLessThanOrEqual(16);
    expect(result.notes).toEqual(['1 entry left out (empty, reserved or duplicate keys, or more than 3)']);
  });

  it('both notes at once, left-out first', () => {
    const result = boundStringMap({ '': 'x', a: '123456789' }, small);
    expect(result.notes).toEqual([
      '1 entry left out (empty, reserved or duplicate keys, or more than 3)',
      '1 value cut to 8 bytes or cleaned of control characters',
    ]);
  });

  it.each(['constructor', 'toString', 'hasOwnProperty', 'valueOf'])('keeps a key named %j: Object.prototype names are not duplicates', (key) => {
    // Bug: `key in entries` sees Object.prototype, so these keys are dropped and counted as duplicates.
    const result = boundStringMap({ [key]: 'v' }, small);
    expect(result.entries).toEqual({ [key]: 'v' });
    expect(result.notes).toEqual([]);
  });

  it('a "__proto__" key (from JSON) never changes the prototype, and is either kept as an own key or counted', () => {
    const input = JSON.parse('{"__proto__": {"polluted": "yes"}, "__proto__x": "1", "a": "2"}') as Record<string, unknown>;
    const stringy = JSON.parse('{"__proto__": "str", "a": "2"}') as Record<string, unknown>;
    for (const source of [input, stringy]) {
      const result = boundStringMap(source, { ...small, maxEntries: 10 });
      expect([Object.prototype, null]).toContain(Object.getPrototypeOf(result.entries));
      expect((result.entries as Record<string, unknown>).polluted).toBeUndefined();
      const kept = Object.keys(result.entries).length;
      const counted = Number(/^(\d+) entr/.exec(result.notes[0] ?? '')?.[1] ?? 0);
      const stringEntries = Object.values(source).filter((value) => typeof value === 'string').length;
      expect(kept + counted).toBe(stringEntries);
    }
  });
});

describe('boundMetadata and boundTags', () => {
  it('use the documented limits', () => {
    expect([MAX_METADATA_ENTRIES, MAX_METADATA_KEY_BYTES, MAX_METADATA_VALUE_BYTES, MAX_TAG_ENTRIES, MAX_TAG_VALUE_BYTES]).toEqual([64, 256, 1024, 64, 1024]);
  });

  it('keep 64 of 65 entries and name the limit', () => {
    const input = Object.fromEntries(Array.from({ length: 65 }, (_, index) => [`k${index}`, `v${index}`]));
    for (const bound of [boundMetadata, boundTags]) {
      const result = bound(input);
      expect(Object.keys(result.entries)).toHaveLength(64);
      expect(result.entries.k63).toBe('v63');
      expect(result.entries.k64).toBeUndefined();
      expect(result.notes).toEqual(['1 entry left out (empty, reserved or duplicate keys, or more than 64)']);
    }
  });

  it('a 1 MB lyrics tag becomes 1024 bytes; a 300-byte key becomes 256', () => {
    const tags = boundTags({ lyrics: '歌'.repeat(400_000), ['k'.repeat(300)]: 'v' });
    expect(bytes(tags.entries.lyrics!)).toBeLessThanOrEqual(1024);
    expect(tags.entries.lyrics!.startsWith('歌'.repeat(340))).toBe(true);
    const longKey = Object.keys(tags.entries).find((key) => key.startsWith('k'))!;
    expect(bytes(longKey)).toBeLessThanOrEqual(256);
    expect(tags.notes).toEqual(['1 value cut to 1024 bytes or cleaned of control characters']);
  });

  it("a worst-case metadata map stays far below Firestore's 1 MiB document limit", () => {
    const input = Object.fromEntries(Array.from({ length: 500 }, (_, index) => [`${'ключ'.repeat(100)}${index}`, '値'.repeat(10_000)]));
    const result = boundMetadata(input);
    expect(firestoreSize(result.entries)).toBeLessThan(64 * (257 + 1025) + 32 + 1);
  });
});

describe('firstOf', () => {
  it.each([
    [[], 3, [], 0],
    [[1, 2], 3, [1, 2], 2],
    [[1, 2, 3], 3, [1, 2, 3], 3],
    [[1, 2, 3, 4, 5], 2, [1, 2], 5],
    [[1, 2, 3], 0, [], 3],
  ])('firstOf(%j, %d) keeps %j of %d', (items, max, kept, total) => {
    expect(firstOf(items, max)).toEqual({ items: kept, total });
  });

  it("returns a copy, not the caller's array", () => {
    const items = [1, 2];
    const result = firstOf(items, 5);
    result.items.push(3);
    expect(items).toEqual([1, 2]);
  });
});

describe('firestoreSize', () => {
  it("matches Firestore's documented sizes, worked by hand", () => {
    // https://cloud.google.com/firestore/docs/storage-size
    //   32                          the document
    //   'name'  5  + 'abc'   4  =  9   (string: UTF-8 bytes + 1; field name likewise)
    //   'n'     2  + 1 (num) 8  = 10
    //   'ok'    3  + true    1  =  4
    //   'when'  5  + Date    8  = 13
    //   'café'  6  + 'é'     3  =  9   ('café' is 5 bytes of UTF-8, 'é' 2)
    //   'nested' 7 + { 'x' 2 + null 1 } = 10
    //   'list'  5  + ['a' 2, 'bb' 3] = 10   (an array is the sum of its values)
    //   total 32 + 9 + 10 + 4 + 13 + 9 + 10 + 10 = 97
    const doc = { name: 'abc', n: 1, ok: true, when: new Date(0), café: 'é', nested: { x: null }, list: ['a', 'bb'] };
    expect(firestoreSize(doc)).toBe(97);
  });

  it.each<[string, unknown, number]>([
    ['an empty document', {}, 32],
    ['an empty string field', { s: '' }, 32 + 2 + 1],
    ['a CJK string', { s: '日本' }, 32 + 2 + 7],
    ['an emoji (4 bytes, not 2 UTF-16 units)', { s: '😀' }, 32 + 2 + 5],
    ['false', { b: false }, 32 + 2 + 1],
    ['null', { z: null }, 32 + 2 + 1],
    ['a float', { f: 0.1 }, 32 + 2 + 8],
    ['an empty map', { m: {} }, 32 + 2],
    ['an empty array', { l: [] }, 32 + 2],
    ['a deeply nested map', { a: { b: { c: 'd' } } }, 32 + 2 + 2 + 2 + 2],
  ])('%s', (_label, doc, size) => {
    expect(firestoreSize(doc)).toBe(size);
  });
});

describe('resolveProfile', () => {
  it.each<[string | undefined, string, string[]]>([
    [undefined, 'default', []],
    ['portfolio', 'portfolio', []],
    ['Portfolio', 'portfolio', []],
    ['  Video-HD ', 'video-hd', []],
    ['a', 'a', []],
    ['p'.repeat(40), 'p'.repeat(40), []],
  ])('%j → %j', (requested, name, notes) => {
    expect(resolveProfile(requested, 'default')).toEqual({ name, notes });
  });

  it.each([
    ['Evil Profile!', "profile 'Evil Profile!' is not a valid profile name (^[a-z][a-z0-9-]{0,39}$); used 'default'"],
    ['', "profile '' is not a valid profile name (^[a-z][a-z0-9-]{0,39}$); used 'default'"],
    ['9lives', "profile '9lives' is not a valid profile name (^[a-z][a-z0-9-]{0,39}$); used 'default'"],
    ['p'.repeat(41), `profile '${'p'.repeat(41)}' is not a valid profile name (^[a-z][a-z0-9-]{0,39}$); used 'default'`],
    ['under_score', "profile 'under_score' is not a valid profile name (^[a-z][a-z0-9-]{0,39}$); used 'default'"],
  ])('%j falls back to the default with a note', (requested, note) => {
    expect(resolveProfile(requested, 'default')).toEqual({ name: 'default', notes: [note] });
  });

  it('the note is cleaned and bounded: a 1 MB profile with controls cannot flood the history', () => {
    const { name, notes } = resolveProfile(`x\u0000\u202E${'!'.repeat(1_000_000)}`, 'fallback');
    expect(name).toBe('fallback');
    expect(notes).toHaveLength(1);
    expect(notes[0]).not.toContain('\u0000');
    expect(notes[0]).not.toContain('\u202E');
    expect(bytes(notes[0]!)).toBeLessThan(200);
  });

  it('a newline does not pass the pattern', () => {
    expect(resolveProfile('video\n', 'default').name).toBe('video'); // trimmed
    expect(resolveProfile('vid\neo', 'default').name).toBe('default');
  });
});

describe('upload and partner requests', () => {
  const object = (metadata?: Record<string, string>): ObjectFinalized => ({
    bucket: 'mediaflow-ingest',
    name: 'clips/a.mp4',
    generation: '1700000000000001',
    size: 10,
    contentType: 'video/mp4',
    md5Hash: 'abc==',
    origin: 'eventarc',
    ...(metadata ? { metadata } : {}),
  });
  const partnerEvent = (extra: Partial<IngestRequested> = {}): IngestRequested => ({
    partner: 'acme',
    idempotencyKey: 'k1',
    source: { uri: 'gs://acme-drop/in/a.mp4' },
    ...extra,
  });
  const live: BlobMetadata = {
    bucket: 'acme-drop',
    name: 'in/a.mp4',
    generation: '42',
    metageneration: '1',
    size: 99,
    contentType: 'video/mp4\u0000',
    md5Hash: 'm==',
    timeCreated: new Date(0),
    updated: new Date(0),
    metadata: {},
  };

  it('an upload with a usable profile: lower-cased, no notes, ordered', () => {
    const request = uploadRequest(object({ [PROFILE_METADATA]: 'Portfolio' }), 'default');
    expect(request).toMatchObject({ profile: 'portfolio', ordered: true, notes: [] });
    expect(request.source).toMatchObject({
      uri: 'gs://mediaflow-ingest/clips/a.mp4',
      via: 'eventarc',
      partner: null,
      contentType: 'video/mp4',
      metadata: { [PROFILE_METADATA]: 'Portfolio' },
    });
  });

  it('an upload with a bad profile and oversized metadata: the profile note first, then metadata notes prefixed', () => {
    const metadata = {
      [PROFILE_METADATA]: 'Evil Profile!',
      big: 'x'.repeat(2000),
      ...Object.fromEntries(Array.from({ length: 70 }, (_, index) => [`k${index}`, 'v'])),
    };
    const request = uploadRequest(object(metadata), 'default');
    expect(request.profile).toBe('default');
    expect(request.notes).toEqual([
      "profile 'Evil Profile!' is not a valid profile name (^[a-z][a-z0-9-]{0,39}$); used 'default'",
      'metadata: 8 entries left out (empty, reserved or duplicate keys, or more than 64)',
      'metadata: 1 value cut to 1024 bytes or cleaned of control characters',
    ]);
    expect(Object.keys(request.source.metadata)).toHaveLength(64);
  });

  it('an upload without metadata or contentType', () => {
    const bare: ObjectFinalized = object();
    delete bare.contentType;
    const { source, notes } = uploadSource(bare);
    expect(source).toMatchObject({ contentType: null, metadata: {} });
    expect(notes).toEqual([]);
  });

  it('a hostile contentType is cleaned and cut to 256 bytes', () => {
    const { source } = uploadSource({ ...object(), contentType: `video/mp4\u001b[2J${'x'.repeat(1000)}` });
    expect(source.contentType).not.toContain('\u001b');
    expect(bytes(source.contentType!)).toBeLessThanOrEqual(256);
  });

  it('a partner request pins the live generation and cleans its content type', () => {
    const { source } = partnerSource(partnerEvent({ source: { uri: 'gs://acme-drop/in/a.mp4', generation: '7' } }), live);
    expect(source).toMatchObject({
      bucket: 'acme-drop',
      name: 'in/a.mp4',
      generation: '42',
      size: 99,
      contentType: 'video/mp4',
      via: 'partner-ingest',
      partner: 'acme',
      idempotencyKey: 'k1',
    });
  });

  it.each<[string | undefined, string]>([
    ['7', '7'],
    [undefined, '0'],
  ])('an unread partner object with requested generation %j records %j', (generation, recorded) => {
    const { source } = partnerSource(partnerEvent({ source: { uri: 'gs://acme-drop/in/a.mp4', ...(generation ? { generation } : {}) } }), undefined);
    expect(source).toMatchObject({ generation: recorded, size: null, contentType: null, md5Hash: null });
  });

  it('a partner request carries its refusal, bounded metadata notes and an unordered id', () => {
    const refusal = new PermanentError(SOURCE_NOT_ALLOWED, 'no');
    const request = partnerRequest(
      partnerEvent({ profile: 'Evil Profile!', metadata: { '': 'x', ok: 'y' }, correlationId: 'c-1' }),
      undefined,
      'default',
      refusal,
    );
    expect(request).toMatchObject({ assetId: 'acme:k1', profile: 'default', ordered: false, refusal });
    expect(request.source).toMatchObject({ correlationId: 'c-1', metadata: { ok: 'y' } });
    expect(request.notes).toHaveLength(2);
    expect(request.notes[1]).toBe('metadata: 1 entry left out (empty, reserved or duplicate keys, or more than 64)');
    expect('refusal' in partnerRequest(partnerEvent(), live, 'default')).toBe(false);
  });
});

describe('the logger bounds string fields', () => {
  const capture = (): { lines: string[]; write: (line: string) => void } => {
    const lines: string[] = [];
    return { lines, write: (line) => lines.push(line) };
  };

  it('caps a 2 MB field, nested ones and the message, and the line stays one valid JSON object', () => {
    const { lines, write } = capture();
    const huge = 'n'.repeat(2 * 1024 * 1024);
    createLogger('info', {}, write).warn(huge, { objectName: huge, nested: { deeper: [huge] }, short: 'ok', count: 3 });
    expect(lines).toHaveLength(1);
    expect(lines[0]!.length).toBeLessThan(4 * (MAX_LOG_STRING_CHARS + 100));
    const entry = JSON.parse(lines[0]!) as Record<string, unknown>;
    const capped = `${'n'.repeat(MAX_LOG_STRING_CHARS)}… (${huge.length} chars)`;
    expect(entry).toMatchObject({ severity: 'WARNING', message: capped, objectName: capped, nested: { deeper: [capped] }, short: 'ok', count: 3 });
  });

  it('keeps a string of exactly the cap whole, and caps the base fields of a child logger too', () => {
    const { lines, write } = capture();
    const exact = 'e'.repeat(MAX_LOG_STRING_CHARS);
    createLogger('debug', { service: 's'.repeat(MAX_LOG_STRING_CHARS + 1) }, write)
      .child({ asset: 'a' })
      .debug('m', { exact });
    const entry = JSON.parse(lines[0]!) as Record<string, string>;
    expect(entry.exact).toBe(exact);
    expect(entry.service).toBe(`${'s'.repeat(MAX_LOG_STRING_CHARS)}… (${MAX_LOG_STRING_CHARS + 1} chars)`);
    expect(entry.asset).toBe('a');
  });

  it('a cut through an emoji or a newline-laden name still gives one parseable line', () => {
    const { lines, write } = capture();
    createLogger('info', {}, write).error('x', { name: `a${'😀'.repeat(MAX_LOG_STRING_CHARS)}`, text: '\n'.repeat(MAX_LOG_STRING_CHARS * 2) });
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain('\n');
    expect(() => JSON.parse(lines[0]!) as unknown).not.toThrow();
  });

  it('does not write below its level, nor at silent', () => {
    const { lines, write } = capture();
    createLogger('warn', {}, write).info('hidden', { big: 'x'.repeat(3_000_000) });
    createLogger('silent', {}, write).error('hidden');
    expect(lines).toEqual([]);
  });
});
