/**
 * Text from users or data (keys, file names, person names and details, error messages that echo input), made safe and
 * sized for a terminal: a name holding `ESC[2J` or a right-to-left override must show as what it is, never clear the
 * screen or reorder the line around it.
 */

// C0 and C1 controls, DEL, the line and paragraph separators and the bidirectional embeddings, overrides and isolates.
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
export const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
const CONTROLS = new RegExp(CONTROL_CHARACTER.source, 'g');
// The same, less what JSON.stringify already escapes (C0 controls).
const CONTROLS_JSON_LEAVES = /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

const unicodeEscape = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

/** `text` with every control character written as `\uXXXX`; `keepNewlines` leaves `\n` for multi-line messages. */
export function printable(text: string, options: { keepNewlines?: boolean } = {}): string {
  return text.replace(CONTROLS, (c) => (options.keepNewlines && c === '\n' ? c : unicodeEscape(c)));
}

const ECHO_LIMIT = 80;

/** A value as it may be echoed in a message: quoted, control characters escaped, long values cut. */
export function quoteValue(raw: string): string {
  const cut = raw.length > ECHO_LIMIT ? `${raw.slice(0, ECHO_LIMIT)}…` : raw;
  return `"${printable(cut.replace(/\\/g, '\\\\').replace(/"/g, '\\"'))}"`;
}

/**
 * One JSON line, with the control characters JSON leaves raw (DEL, C1, separators, bidi) escaped too: the same value
 * for any JSON reader, and harmless when the line lands on a terminal.
 */
export function jsonLine(value: unknown): string {
  return `${JSON.stringify(value).replace(CONTROLS_JSON_LEAVES, unicodeEscape)}\n`;
}

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
// East Asian wide and full-width characters, and emoji, take two terminal columns.
const WIDE =
  /[\u1100-\u115f\u2e80-\u303e\u3041-\u33ff\u3400-\u4dbf\u4e00-\u9fff\ua000-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6\u{1f000}-\u{1faff}\u{20000}-\u{3fffd}]|\ufe0f/u;

const columnsOf = (grapheme: string) => (WIDE.test(grapheme) ? 2 : 1);

/** Terminal columns `text` takes (printable text: each grapheme is one column, or two when wide). */
export function displayWidth(text: string): number {
  let width = 0;
  for (const { segment } of graphemes.segment(text)) width += columnsOf(segment);
  return width;
}

/**
 * `text` in at most `width` columns: whole when it fits, else its start and its end around an ellipsis, cut between
 * graphemes (a long key keeps both its folder and its file name).
 */
export function fitWidth(text: string, width: number): string {
  if (displayWidth(text) <= width) return text;
  const parts = Array.from(graphemes.segment(text), (s) => s.segment);
  const room = Math.max(width - 1, 0);
  const headRoom = Math.ceil(room / 2);
  let head = '';
  let used = 0;
  for (const part of parts) {
    if (used + columnsOf(part) > headRoom) break;
    head += part;
    used += columnsOf(part);
  }
  let tail = '';
  let tailUsed = 0;
  for (let i = parts.length - 1; i >= 0; i--) {
    const part = parts[i] as string;
    if (used + tailUsed + columnsOf(part) > room) break;
    tail = part + tail;
    tailUsed += columnsOf(part);
  }
  return `${head}…${tail}`;
}

/** `text` padded with spaces to `width` columns (on the left with `align: 'right'`). */
export function padColumns(text: string, width: number, align: 'left' | 'right' = 'left'): string {
  const fill = ' '.repeat(Math.max(width - displayWidth(text), 0));
  return align === 'right' ? fill + text : text + fill;
}
