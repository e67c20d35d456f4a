/**
 * The CLI's table and text helpers: user-controlled text is made inert, and a table fits the width it is given by
 * cutting the free-text column (and, for very long names, the name column) while structured columns stay whole.
 */
import { describe, expect, it } from 'vitest';
import { GCS_OBJECT_NAME_MAX_BYTES, objectNameProblem } from '../../cli/object-name.ts';
import { DEFAULT_TERMINAL_WIDTH, displayWidth, printable, printableLines, terminalWidth, truncateEnd, truncateMiddle, wrap } from '../../cli/terminal-text.ts';
import { table, tableMessage } from '../../cli/view.ts';

const ESC = '\u001b';
/** Anything a terminal would act on rather than print: C0, DEL, C1 and the bidi overrides. */
function hasRawControl(text: string): boolean {
  return Array.from(text).some((char) => {
    const code = char.codePointAt(0)!;
    return code < 0x20 || (code >= 0x7f && code <= 0x9f) || (code >= 0x202a && code <= 0x202e) || (code >= 0x2066 && code <= 0x2069);
  });
}

describe('printable', () => {
  it.each([
    [`${ESC}[31mred${ESC}[0m`, '\\x1b[31mred\\x1b[0m'],
    ['new\nline\r\ttab', 'new\\nline\\r\\ttab'],
    ['bell\u0007 del\u007f c1\u009b', 'bell\\x07 del\\x7f c1\\x9b'],
    ['evil\u202egpj.exe', 'evil\\u202egpj.exe'],
    ['line\u2028sep', 'line\\u2028sep'],
    ['lone \ud800 surrogate', 'lone \\ud800 surrogate'],
  ])('shows %j as %s', (raw, shown) => {
    expect(printable(raw)).toBe(shown);
    expect(hasRawControl(printable(raw))).toBe(false);
  });

  it('leaves ordinary text alone, accents, CJK and emoji included', () => {
    const text = 'café/写真 👨‍👩‍👧 a\\b.jpg';
    expect(printable(text)).toBe(text);
  });

  it('printableLines keeps our own line breaks and escapes the rest', () => {
    expect(printableLines(`no asset '${ESC}[2J'\nusage: ...`)).toBe("no asset '\\x1b[2J'\nusage: ...");
  });
});

describe('terminal columns', () => {
  it.each([
    ['abc', 3],
    ['写真', 4],
    ['e\u0301', 1],
    ['👍', 2],
    ['👨‍👩‍👧', 2],
  ])('%s takes %i columns', (text, width) => {
    expect(displayWidth(text)).toBe(width);
  });

  it('truncateEnd cuts at a column count and marks the cut', () => {
    expect(truncateEnd('abcdefghij', 5)).toBe('abcd…');
    expect(truncateEnd('abc', 5)).toBe('abc');
    expect(truncateEnd('写真写真写真', 5)).toBe('写真…');
    expect(displayWidth(truncateEnd('写真写真写真', 5))).toBeLessThanOrEqual(5);
  });

  it('truncateMiddle keeps both ends of a name', () => {
    const name = `${'a'.repeat(100)}.jpg`;
    const short = truncateMiddle(name, 21);
    expect(displayWidth(short)).toBe(21);
    expect(short).toMatch(/^a{10}…a{6}\.jpg$/);
  });

  it('wrap breaks at spaces and breaks a word longer than a line', () => {
    expect(wrap('the quick brown fox', 10)).toEqual(['the quick', 'brown fox']);
    expect(wrap(`x ${'y'.repeat(12)} z`, 5)).toEqual(['x', 'yyyyy', 'yyyyy', 'yy z']);
  });

  it('terminalWidth: the terminal first, then COLUMNS for a pipe, then the default', () => {
    expect(terminalWidth({ isTTY: true, columns: 93 }, { COLUMNS: '200' })).toBe(93);
    expect(terminalWidth({ isTTY: false }, { COLUMNS: '72' })).toBe(72);
    expect(terminalWidth({ isTTY: false }, { COLUMNS: 'wide' })).toBe(DEFAULT_TERMINAL_WIDTH);
    expect(terminalWidth({ isTTY: false }, {})).toBe(DEFAULT_TERMINAL_WIDTH);
  });
});

describe('table', () => {
  const headers = ['file', 'kind', 'status', 'time', 'steps / error'];
  const lines = (text: string): string[] => text.split('\n');

  it('pads columns to their widest cell when everything fits', () => {
    const text = table(headers, [['a.jpg', 'image', 'READY', '1.2 s', 'probe, checksum']], { width: 100 });
    expect(lines(text)).toEqual([
      'file   kind   status  time   steps / error',
      '-----  -----  ------  -----  ---------------',
      'a.jpg  image  READY   1.2 s  probe, checksum',
    ]);
  });

  it('cuts only the last column to fit the width; structured columns stay whole', () => {
    const message = `probe: CORRUPT_MEDIA: ${'the file ends before its index says it does; '.repeat(6)}`;
    const text = table(headers, [['cut.mp4', 'video', 'REJECTED', '312 ms', message]], { width: 80 });
    for (const line of lines(text)) expect(displayWidth(line)).toBeLessThanOrEqual(80);
    const row = lines(text)[2]!;
    expect(row).toMatch(/^cut\.mp4 +video +REJECTED +312 ms +probe: CORRUPT_MEDIA: .*…$/);
  });

  it('shortens a huge name in the middle only when the message would otherwise have no room', () => {
    const longName = `${'n'.repeat(300)}.jpg`;
    const rows = [
      [longName, '-', 'SKIPPED', '-', 'NAME_TOO_LONG: object name is 1100 bytes; the limit is 1024'],
      ['good.jpg', 'image', 'READY', '1.0 s', 'probe, checksum, thumbnail, tag'],
    ];
    const text = table(headers, rows, { width: 120, nameColumn: 0 });
    for (const line of lines(text)) expect(displayWidth(line)).toBeLessThanOrEqual(120);
    expect(text).toMatch(/n…n+\.jpg +- +SKIPPED +- +NAME_TOO_LONG: object name is 1100 bytes/);
    expect(text).toMatch(/good\.jpg +image +READY +1\.0 s +probe, checksum, thumbnail, tag/);
  });

  it('cuts nothing without a width, as benches writing tables to files expect', () => {
    const long = 'x'.repeat(500);
    expect(lines(table(headers, [[long, '-', 'READY', '-', long]], { nameColumn: 0 }))[2]).toBe(`${long}  -     READY   -     ${long}`);
  });

  it('escapes control characters in cells and measures the escaped text', () => {
    const text = table(
      ['asset', 'status'],
      [
        [`${ESC}[31mred.jpg`, 'READY'],
        ['new\nline.jpg', 'READY'],
      ],
      { width: 80 },
    );
    for (const line of lines(text)) expect(hasRawControl(line)).toBe(false);
    expect(lines(text)).toEqual(['asset            status', '---------------  ------', '\\x1b[31mred.jpg  READY', 'new\\nline.jpg    READY']);
  });

  it('aligns wide characters by columns, not by UTF-16 length', () => {
    const text = table(
      ['file', 'status'],
      [
        ['写真.jpg', 'READY'],
        ['ab.jpg', 'READY'],
      ],
      { width: 80 },
    );
    const [, , first, second] = lines(text);
    expect(first!.indexOf('READY') + 2).toBe(second!.indexOf('READY'));
  });
});

describe('tableMessage', () => {
  it("drops the row's own quoted name, so the reason comes first", () => {
    const name = `${'a'.repeat(251)}.jpg`;
    expect(tableMessage(`INVALID_ARGUMENT: invalid object name ${JSON.stringify(name)}: path segments must be at most 250 bytes`, name)).toBe(
      'INVALID_ARGUMENT: invalid object name: path segments must be at most 250 bytes',
    );
  });

  it('cuts any other long quoted value in the middle and leaves short ones alone', () => {
    const quoted = `"mediaflow-ingest%2F${'b'.repeat(200)}.jpg#1/thumbnail/v1/still-64.avif"`;
    expect(tableMessage(`invalid object name ${quoted}: too long`)).toBe('invalid object name "mediaflow-in…till-64.avif": too long');
    expect(tableMessage('bucket "a-b" missing')).toBe('bucket "a-b" missing');
  });
});

describe('objectNameProblem (GCS naming rules checked before upload)', () => {
  it('accepts names up to the limit, counted in UTF-8 bytes', () => {
    expect(objectNameProblem('photos/cat.jpg')).toBeUndefined();
    expect(objectNameProblem('é'.repeat(GCS_OBJECT_NAME_MAX_BYTES / 2))).toBeUndefined();
  });

  it('refuses a name over the limit, saying how long it is', () => {
    expect(objectNameProblem(`${'é'.repeat(GCS_OBJECT_NAME_MAX_BYTES / 2)}x`)).toEqual({
      code: 'NAME_TOO_LONG',
      message: 'object name is 1025 bytes; the limit is 1024',
    });
  });

  it.each(['new\nline.jpg', 'carriage\rreturn.jpg'])('refuses %j: GCS forbids CR and LF', (name) => {
    expect(objectNameProblem(name)?.code).toBe('NAME_HAS_LINE_BREAK');
  });
});
