import type { ApiRequest } from './types';

/**
 * The cause of a 500 goes to the log, but a cause may quote what the caller sent: the SDK's marshaller names the
 * number it refuses, a parser quotes the text around an error. So the logged error is cut down to its name, code,
 * message, stack and causes, and every text the request body holds (each string, key and number, raw and decoded)
 * is cut out of them. What cannot be checked is not logged.
 */

export const REDACTED = '[redacted]';
/** Beyond this many texts to cut, the message and stack are dropped whole rather than searched. */
const MAX_TEXTS = 5000;
const MAX_CAUSES = 5;

/** An error as the log shows it. */
export interface LoggedError {
  name: string;
  code?: string;
  message: string;
  stack?: string;
  /** An AWS SDK error's HTTP status and AWS request id: what an operator quotes to AWS. */
  httpStatusCode?: number;
  awsRequestId?: string;
  cause?: LoggedError | string;
}

const STRING_LITERAL = /"((?:[^"\\]|\\.)*)"?/g;
/** What stands between JSON's punctuation outside string literals: numbers, true, false, null, or any bare word. */
const BARE_TOKEN = /[^\s{}[\],:"]+/g;
const JSON_WORDS = new Set(['true', 'false', 'null']);

const escapedForm = (text: string) => JSON.stringify(text).slice(1, -1);

/**
 * Every text of a request body a log must not carry: each string literal (as written, decoded and escaped) and each
 * number or bare word (a number also as JavaScript prints the value it parses to: `9007199254740993` is logged as
 * `9007199254740992`). Read from the text, so a body that is not valid JSON is covered too.
 */
export function bodyTexts(request: Pick<ApiRequest, 'body' | 'isBase64Encoded'>): string[] {
  if (!request.body) return [];
  const text = request.isBase64Encoded ? Buffer.from(request.body, 'base64').toString('utf8') : request.body;
  const texts = new Set<string>();
  for (const [literal, inner] of text.matchAll(STRING_LITERAL)) {
    texts.add(inner as string);
    try {
      const decoded = JSON.parse(literal.endsWith('"') && literal.length > 1 ? literal : `${literal}"`) as string;
      texts.add(decoded).add(escapedForm(decoded));
    } catch {
      // Not a valid literal: its raw text is cut out.
    }
  }
  for (const [token] of text.replace(STRING_LITERAL, ' ').matchAll(BARE_TOKEN)) {
    if (JSON_WORDS.has(token)) continue;
    texts.add(token);
    if (!Number.isNaN(Number(token))) texts.add(String(Number(token)));
  }
  texts.delete('');
  return [...texts];
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const WORD = /[\p{L}\p{N}_]/u;
const NOT_AFTER_WORD = '(?<![\\p{L}\\p{N}_])';
const NOT_BEFORE_WORD = '(?![\\p{L}\\p{N}_])';

/**
 * A secret as a whole word: `p` is cut from `PERSON#p` or `"p"`, not from `/opt/models`. A value glued to letters on
 * both sides is another word, not the value.
 */
function wholeWord(secret: string): string {
  const points = [...secret];
  const first = WORD.test(points[0] ?? '') ? NOT_AFTER_WORD : '';
  const last = WORD.test(points.at(-1) ?? '') ? NOT_BEFORE_WORD : '';
  return `${first}${escapeRegExp(secret)}${last}`;
}

/** `text` with every occurrence of every secret cut out (longest first, in one pass); undefined when unsure. */
function redact(text: string, secrets: readonly string[]): string | undefined {
  const present = secrets.filter((secret) => secret.length <= text.length && text.includes(secret));
  if (present.length === 0) return text;
  if (present.length > MAX_TEXTS) return undefined;
  const ordered = present.sort((a, b) => b.length - a.length);
  const pattern = new RegExp(ordered.map(wholeWord).join('|'), 'gu');
  const result = text.replace(pattern, REDACTED);
  // Belt and braces: a cut must not have joined text into a secret again.
  pattern.lastIndex = 0;
  return pattern.test(result) ? undefined : result;
}

/** The error as the log may show it: no body text of the request in any of its parts. */
export function loggableError(error: unknown, secrets: readonly string[], depth = 0): LoggedError {
  if (typeof error !== 'object' || error === null) {
    return { name: typeof error, message: redact(String(error), secrets) ?? REDACTED };
  }
  const { name, message, stack, code, cause, $metadata } = error as Error & {
    code?: unknown;
    $metadata?: { httpStatusCode?: number; requestId?: string };
  };
  const logged: LoggedError = {
    name: typeof name === 'string' ? (redact(name, secrets) ?? REDACTED) : 'Error',
    message: redact(String(message ?? ''), secrets) ?? REDACTED,
  };
  if (typeof code === 'string') logged.code = redact(code, secrets) ?? REDACTED;
  if (typeof stack === 'string') logged.stack = redact(stack, secrets) ?? REDACTED;
  if (typeof $metadata?.httpStatusCode === 'number') logged.httpStatusCode = $metadata.httpStatusCode;
  if (typeof $metadata?.requestId === 'string') logged.awsRequestId = $metadata.requestId;
  if (cause !== undefined && cause !== null) {
    logged.cause = depth < MAX_CAUSES ? loggableError(cause, secrets, depth + 1) : REDACTED;
  }
  return logged;
}
