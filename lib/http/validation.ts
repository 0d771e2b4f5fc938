import { FacepipeError } from '../errors';
import { validatePersonId } from '../pipeline/people';
import type { TimeRange } from '../pipeline/ports';
import { emotionLabel, timeWindow } from '../pipeline/queries';
import type { Emotion } from '../vision/types';
import type { ApiLimits } from './limits';

/**
 * Every query and path parameter is checked here before it reaches the table: a refusal is a 400 (INVALID_OPTION)
 * that names the parameter and says what it takes.
 */

type Query = Readonly<Record<string, string | undefined>>;

const invalid = (message: string) => new FacepipeError('INVALID_OPTION', message);

/** Refuses parameters the route does not take, naming them (a typo must not silently widen a query). */
export function allowOnly(query: Query, allowed: readonly string[]): void {
  const unknown = Object.keys(query).filter((name) => !allowed.includes(name));
  if (unknown.length === 0) return;
  const takes = allowed.length > 0 ? `it takes ${allowed.join(', ')}` : 'it takes none';
  throw invalid(`Unknown query parameter(s) ${unknown.sort().join(', ')}: ${takes}.`);
}

/** Which one of `names` the query gives; exactly one must be there. */
export function exactlyOne<T extends string>(query: Query, names: readonly T[]): T {
  const given = names.filter((name) => query[name] !== undefined);
  if (given.length !== 1) throw invalid(`Give exactly one of ${names.join(', ')}.`);
  return given[0] as T;
}

/** A parameter that only switches something on: it must say `true`. */
export function trueFlag(value: string | undefined, name: string): true {
  if (value !== 'true') throw invalid(`${name} takes only the value true.`);
  return true;
}

export function booleanParam(value: string | undefined, name: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (value === 'true' || value === 'false') return value === 'true';
  throw invalid(`${name} must be true or false.`);
}

export function pageSize(value: string | undefined, limits: ApiLimits): number {
  if (value === undefined) return limits.defaultPageSize;
  const size = /^\d{1,7}$/.test(value) ? Number(value) : Number.NaN;
  if (!(size >= 1 && size <= limits.maxPageSize)) {
    throw invalid(`limit must be a whole number from 1 to ${limits.maxPageSize}.`);
  }
  return size;
}

const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2}))?$/;

/**
 * An ISO 8601 date (`2026-01-31`, midnight UTC) or date and time with its zone (`2026-01-31T12:00:00Z`,
 * `...+02:00`), as the ISO UTC string the table's sort keys start with. A time without a zone is refused: it would
 * mean the server's local time.
 */
export function isoTimeParam(value: string | undefined, name: string): string | undefined {
  if (value === undefined) return undefined;
  const match = ISO_TIME.exec(value);
  const date = new Date(value);
  const [year, month, day] = (match ?? []).slice(1, 4).map(Number) as [number, number, number];
  // Date accepts 2026-02-30 as March 2nd: the day must exist in its month.
  const dayExists = match !== null && new Date(Date.UTC(year, month - 1, day)).getUTCDate() === day && month <= 12;
  if (!dayExists || Number.isNaN(date.getTime())) {
    throw invalid(`${name} must be an ISO 8601 date (2026-01-31) or date and time with a zone (2026-01-31T12:00:00Z).`);
  }
  return date.toISOString();
}

/** `since`, `until` and `limit` of a query over time, newest first. */
export function timeRange(query: Query, limits: ApiLimits): Required<Pick<TimeRange, 'limit'>> & TimeRange {
  const window = timeWindow(isoTimeParam(query.since, 'since'), isoTimeParam(query.until, 'until'), {
    since: 'since',
    until: 'until',
  });
  return { ...window, limit: pageSize(query.limit, limits) };
}

const IMAGE_ID = /^[0-9a-f]{24}$/;

/** Image ids are 24 lowercase hex characters (see `imageIdOf` in lib/pipeline/ids.ts). */
export function imageIdParam(value: string | undefined): string {
  if (value === undefined || !IMAGE_ID.test(value)) {
    throw invalid('An image id is 24 lowercase hexadecimal characters (the imageId of a query result).');
  }
  return value;
}

export function personIdParam(value: string | undefined): string {
  return validatePersonId(value ?? '');
}

/**
 * An ingest key as S3 takes it: 1 to `maxKeyBytes` bytes of UTF-8. A lone surrogate has no UTF-8 form (the SDK
 * cannot even encode it into a request), so such a key is refused here.
 */
export function keyParam(value: string | undefined, limits: ApiLimits): string {
  if (value !== undefined && !value.isWellFormed()) {
    throw invalid('key must be well-formed Unicode text (it holds a lone surrogate): S3 keys are UTF-8.');
  }
  const bytes = Buffer.byteLength(value ?? '');
  if (value === undefined || bytes === 0 || bytes > limits.maxKeyBytes) {
    throw invalid(`key must be an image key of 1 to ${limits.maxKeyBytes} bytes.`);
  }
  return value;
}

export function emotionParam(value: string | undefined): Emotion {
  return emotionLabel(value ?? '', 'emotion');
}
