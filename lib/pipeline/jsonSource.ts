/**
 * What `JSON.parse` loses: the source text of numbers. `1e999` parses to Infinity, `9007199254740993` to
 * 9007199254740992 and `1e-400` to 0, so whether a number arrived intact can only be told from its text. The scanner
 * walks JSON text that `JSON.parse` has already accepted and yields each number token with the path of its value.
 */

/** Where a value sits in a JSON document: object keys and array indexes from the root. */
export type JsonPath = readonly (string | number)[];

export interface NumberToken {
  path: JsonPath;
  /** The token exactly as written, e.g. `-1.5e3`. */
  source: string;
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/** The index just past the string literal that starts at `start` (an opening quote). */
function endOfString(text: string, start: number): number {
  let i = start + 1;
  while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
  return i + 1;
}

/** Where to look: only under one key of the top-level object, and paths cut at a depth (so a token costs at most that). */
export interface ScanOptions {
  under?: string;
  maxDepth?: number;
}

/**
 * Every number token of `text`, in document order, with its path. `text` must be valid JSON (parse it first): the
 * scanner trusts its structure. Iterative, so nesting depth costs no stack; a token's path is cut at `maxDepth`.
 */
export function numberTokens(text: string, options: ScanOptions = {}): NumberToken[] {
  const maxDepth = options.maxDepth ?? Number.POSITIVE_INFINITY;
  const tokens: NumberToken[] = [];
  // The path of the value being read; in an object, its last element is the current key once it has been read.
  const path: (string | number)[] = [];
  const containers: ('object' | 'array')[] = [];
  let expectingKey = false;
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (c === '{' || c === '[') {
      containers.push(c === '{' ? 'object' : 'array');
      path.push(c === '{' ? '' : 0);
      expectingKey = c === '{';
      i++;
    } else if (c === '}' || c === ']') {
      containers.pop();
      path.pop();
      expectingKey = false;
      i++;
    } else if (c === ',') {
      if (containers.at(-1) === 'array') path[path.length - 1] = (path.at(-1) as number) + 1;
      else expectingKey = true;
      i++;
    } else if (c === '"') {
      const end = endOfString(text, i);
      if (expectingKey) {
        // Keys are decoded only where a path may be reported.
        if (path.length <= maxDepth) path[path.length - 1] = JSON.parse(text.slice(i, end)) as string;
        expectingKey = false;
      }
      i = end;
    } else if (c === '-' || (c >= '0' && c <= '9')) {
      NUMBER.lastIndex = i;
      const source = NUMBER.exec(text)?.[0] ?? c;
      if (options.under === undefined || path[0] === options.under) {
        tokens.push({ path: path.slice(0, maxDepth), source });
      }
      i += source.length;
    } else {
      i++; // whitespace, ':' and the letters of true, false and null
    }
  }
  return tokens;
}

/** Whether JSON text nests objects and lists deeper than `limit` (strings are skipped); stops at the first excess. */
export function nestsDeeperThan(text: string, limit: number): boolean {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') i = endOfString(text, i) - 1;
    else if (c === '{' || c === '[') {
      if (++depth > limit) return true;
    } else if (c === '}' || c === ']') depth--;
  }
  return false;
}

const MAX_PATH_TEXT = 200;

/** A path as a reader writes it: `details.team[0]["two words"]`, cut short after 200 characters. */
export function pathText(path: JsonPath): string {
  const text = path
    .map((part, i) => {
      if (typeof part === 'number') return `[${part}]`;
      if (/^[A-Za-z_$][\w$]*$/.test(part)) return i === 0 ? part : `.${part}`;
      return `[${JSON.stringify(part)}]`;
    })
    .join('');
  // By code points: a cut never splits a surrogate pair.
  const points = [...text];
  return points.length > MAX_PATH_TEXT ? `${points.slice(0, MAX_PATH_TEXT).join('')}…` : text;
}
