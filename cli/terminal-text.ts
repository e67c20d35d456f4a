/**
 * Text for a terminal: user-controlled strings (object names, error messages, profiles) made inert and measured in
 * terminal columns, so a crafted file name can neither drive the terminal nor break the table's alignment.
 */

/** Width when stdout is not a terminal (a pipe, a file, CI logs): room for the structured columns and a useful message. */
export const DEFAULT_TERMINAL_WIDTH = 160;
export const ELLIPSIS = '…';

/**
 * What must never reach a terminal raw: C0 and C1 controls and DEL (escape sequences, line breaks, bells), the
 * Unicode line and paragraph separators, bidirectional overrides (they reorder what follows on screen), and lone
 * surrogates (not text at all). Other invisible format characters, such as the zero-width joiner inside emoji, stay.
 */
const UNSAFE = /[\p{Cc}\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/gu;
const NAMED_ESCAPES = new Map([
  ['\n', '\\n'],
  ['\r', '\\r'],
  ['\t', '\\t'],
]);
const BYTE_ESCAPE_LIMIT = 0x100;

/** The text with every unsafe character shown as a visible escape: ESC becomes `\x1b`, LF `\n`, U+202E `\u202e`. */
export function printable(text: string): string {
  return text.replace(UNSAFE, (char) => {
    const named = NAMED_ESCAPES.get(char);
    if (named) return named;
    const code = char.charCodeAt(0);
    return code < BYTE_ESCAPE_LIMIT ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** Like printable, but line breaks stay line breaks: for our own multi-line messages that quote user input. */
export function printableLines(text: string): string {
  return text.split('\n').map(printable).join('\n');
}

/** The columns to fit: the terminal's own width, else COLUMNS (how a pipe asks for a width), else the default. */
export function terminalWidth(stream: { readonly isTTY?: boolean; readonly columns?: number } = process.stdout, env: NodeJS.ProcessEnv = process.env): number {
  if (stream.isTTY && stream.columns && stream.columns > 0) return stream.columns;
  const fromEnv = Number(env.COLUMNS);
  return Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : DEFAULT_TERMINAL_WIDTH;
}

// Graphemes, so an emoji sequence or a letter with its combining accent is measured and cut as one character.
const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
/** East Asian wide and fullwidth blocks (CJK, Hangul, fullwidth forms): two columns each in a terminal. */
const WIDE =
  /^[\u1100-\u115f\u2e80-\u303e\u3041-\u33ff\u3400-\u4dbf\u4e00-\u9fff\ua000-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6\u{20000}-\u{3fffd}]|\p{Emoji_Presentation}|\ufe0f/u;
/** Combining marks and format characters on their own take no column. */
const ZERO_WIDTH = /^[\p{Mn}\p{Me}\p{Cf}]+$/u;

function graphemes(text: string): string[] {
  return Array.from(segmenter.segment(text), (part) => part.segment);
}

function graphemeWidth(grapheme: string): number {
  if (ZERO_WIDTH.test(grapheme)) return 0;
  return WIDE.test(grapheme) ? 2 : 1;
}

/** Terminal columns the (already printable) text takes. */
export function displayWidth(text: string): number {
  let width = 0;
  for (const grapheme of graphemes(text)) width += graphemeWidth(grapheme);
  return width;
}

/** Pads with spaces to the given number of columns (String.padEnd counts UTF-16 units, not columns). */
export function padToWidth(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - displayWidth(text)));
}

/** How many of the graphemes, from the first, fit in `width` columns. */
function fittingCount(parts: readonly string[], width: number): number {
  let used = 0;
  let count = 0;
  for (const part of parts) {
    used += graphemeWidth(part);
    if (used > width) break;
    count += 1;
  }
  return count;
}

/** Cuts the end off and marks the cut, for free text whose start says the most. */
export function truncateEnd(text: string, width: number): string {
  if (displayWidth(text) <= width) return text;
  const parts = graphemes(text);
  return `${parts.slice(0, fittingCount(parts, Math.max(0, width - 1))).join('')}${ELLIPSIS}`;
}

/** Cuts the middle out, for names: their start says where, their end says what (the extension). */
export function truncateMiddle(text: string, width: number): string {
  if (displayWidth(text) <= width) return text;
  const room = Math.max(0, width - 1);
  const parts = graphemes(text);
  const head = fittingCount(parts, Math.ceil(room / 2));
  const tail = fittingCount([...parts].reverse(), Math.floor(room / 2));
  return `${parts.slice(0, head).join('')}${ELLIPSIS}${parts.slice(parts.length - tail).join('')}`;
}

/** Lines of at most `width` columns, broken at spaces where possible, for the detail view's long messages. */
export function wrap(text: string, width: number): string[] {
  const limit = Math.max(1, width);
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    const candidate = line === '' ? word : `${line} ${word}`;
    if (displayWidth(candidate) <= limit) {
      line = candidate;
      continue;
    }
    if (line !== '') lines.push(line);
    let rest = graphemes(word);
    // A word wider than the line (a long name, a URL) is broken wherever it must be.
    while (displayWidth(rest.join('')) > limit) {
      const taken = Math.max(1, fittingCount(rest, limit));
      lines.push(rest.slice(0, taken).join(''));
      rest = rest.slice(taken);
    }
    line = rest.join('');
  }
  lines.push(line);
  return lines;
}
