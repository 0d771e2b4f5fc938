import type { ApiRequestOptions } from './factories';

/**
 * Random API requests for fuzz tests, from a seeded generator (the same seed gives the same requests): bodies written
 * as JSON text (so numbers reach the API exactly as written: `1e999`, `9007199254740993`), hostile strings and keys,
 * deep nesting, truncated and mangled text, and parameters for every route.
 */

export interface FuzzRequest {
  routeKey: string;
  options: ApiRequestOptions;
  /** Texts of the request that no log may ever carry (a marker unique to the request among them). */
  secrets: string[];
  /** What the request is, for a failure message (never the whole body). */
  summary: string;
}

export const FUZZ_PEOPLE = ['p1', 'p2', 'p3'];
const IMAGE_ID = '0123456789abcdef01234567';

const STRINGS = [
  '',
  ' ',
  '\ud800',
  '\udfff',
  'a\ud83d',
  '\ud83d\ude00',
  '__proto__',
  'constructor',
  'prototype',
  '../..',
  '%00',
  '%ED%A0%80',
  '\u0000',
  'null',
  '1e999',
  '9007199254740993',
  'PERSON#p1',
  '"',
  '\\',
  'é',
  'x'.repeat(300),
  'y'.repeat(1025),
];
const NUMBERS = [
  '0',
  '-0',
  '1',
  '-1',
  '0e0',
  '0.000',
  '9007199254740991',
  '-9007199254740991',
  '9007199254740992',
  '9007199254740993',
  '12345678901234567890',
  '1e999',
  '-1e999',
  '1e308',
  '1.7976931348623157e308',
  '5e-324',
  '1e-400',
  '1e-130',
  '1e-131',
  '0.1',
  '3.14159',
  '1.5e16',
  '2.5e15',
];
const KEYS = ['a', 'team', '', '__proto__', 'constructor', 'prototype', '\ud800', 'two words', 'k'.repeat(257), '0'];
const QUERY_NAMES = ['key', 'failed', 'since', 'until', 'limit', 'next', 'person', 'emotion', 'unknown', 'erase', 'zz'];
const QUERY_VALUES = [
  ...STRINGS,
  'true',
  'false',
  '2026-01-01',
  '2026-02-30',
  '2026-01-01T10:00:00Z',
  '10',
  '1000',
  '1001',
  'happy',
  'p1',
  'photos/a.jpg',
  IMAGE_ID,
  Buffer.from(JSON.stringify(['unknown', '2026-01-01T10:00:00.000Z', `${IMAGE_ID}-0`])).toString('base64url'),
  Buffer.from(JSON.stringify(['unknown', 1e300, `${IMAGE_ID}-0`])).toString('base64url'),
];
const ROUTES = [
  'GET /images',
  'GET /images/{imageId}',
  'DELETE /images/{imageId}',
  'DELETE /images',
  'GET /faces',
  'GET /people',
  'GET /people/{personId}',
  'DELETE /people/{personId}',
];
/** A real image (a PNG of one pixel): enrolment photos are checked from their header before the models load. */
const PHOTO = {
  name: 'a.jpg',
  data: 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
};

export function fuzzer(random: () => number) {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const chance = (p: number) => random() < p;
  let counter = 0;

  /** A JSON value as text, with the strings it holds (secrets of length 4 or more, unlikely to occur by chance). */
  function value(depth: number, secrets: string[]): string {
    const roll = random();
    if (depth <= 0 || roll < 0.4) {
      if (chance(0.4)) return pick(NUMBERS);
      if (chance(0.2)) return pick(['true', 'false', 'null']);
      const text = chance(0.5) ? pick(STRINGS) : `v${Math.floor(random() * 1e9)}-${pick(STRINGS)}`;
      if (text.length >= 4 && !STRINGS.includes(text)) secrets.push(text);
      return JSON.stringify(text);
    }
    const size = Math.floor(random() * 4);
    if (roll < 0.7) return `[${Array.from({ length: size }, () => value(depth - 1, secrets)).join(',')}]`;
    const entries = Array.from({ length: size }, () => `${JSON.stringify(pick(KEYS))}:${value(depth - 1, secrets)}`);
    return `{${entries.join(',')}}`;
  }

  /** Details: an object, sometimes nested right at or past the depth limit, always holding the request's marker. */
  function details(marker: string, secrets: string[]): string {
    const inner = value(3, secrets);
    if (chance(0.1)) {
      const depth = pick([29, 30, 31, 32, 40, 5000]);
      return `{"marker":${JSON.stringify(marker)},"deep":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`;
    }
    return `{"marker":${JSON.stringify(marker)},"x":${inner}${chance(0.3) ? `,${JSON.stringify(pick(KEYS))}:${pick(NUMBERS)}` : ''}}`;
  }

  function enrolmentBody(marker: string, secrets: string[]): { text: string; kind: string } {
    const personId = chance(0.9) ? pick(FUZZ_PEOPLE) : pick(STRINGS);
    const name = `Name ${marker}`;
    secrets.push(name);
    const fields = [
      `"personId":${JSON.stringify(personId)}`,
      ...(chance(0.8) ? [`"name":${chance(0.95) ? JSON.stringify(name) : value(1, secrets)}`] : []),
      ...(chance(0.9) ? [`"details":${chance(0.9) ? details(marker, secrets) : value(2, secrets)}`] : []),
      `"photos":${chance(0.9) ? JSON.stringify([PHOTO]) : value(2, secrets)}`,
      ...(chance(0.05) ? ['"__proto__":{"polluted":true}'] : []),
    ];
    const text = `{${fields.join(',')}}`;
    if (chance(0.1)) return { text: text.slice(0, Math.floor(random() * text.length)), kind: 'truncated enrolment' };
    if (chance(0.05)) {
      const at = Math.floor(random() * text.length);
      return {
        text: `${text.slice(0, at)}${pick(['"', '}', ']', ',', '\\', '\ud800'])}${text.slice(at + 1)}`,
        kind: 'mangled enrolment',
      };
    }
    return { text, kind: 'enrolment' };
  }

  /** The next random request. */
  return function next(): FuzzRequest {
    const marker = `fuzz-secret-${++counter}-${Math.floor(random() * 1e9)}`;
    const secrets = [marker];
    if (chance(0.6)) {
      const { text, kind } = chance(0.9)
        ? enrolmentBody(marker, secrets)
        : { text: value(4, secrets), kind: 'any JSON' };
      const encoded = chance(0.2);
      return {
        routeKey: 'POST /people',
        options: { body: encoded ? Buffer.from(text).toString('base64') : text, isBase64Encoded: encoded },
        secrets,
        summary: `POST /people, ${kind}${encoded ? ' (base64)' : ''}, ${text.length} characters`,
      };
    }
    const routeKey = chance(0.1) ? '$default' : pick(ROUTES);
    const query: Record<string, string> = {};
    for (let i = Math.floor(random() * 4); i > 0; i--) query[pick(QUERY_NAMES)] = pick(QUERY_VALUES);
    const path: Record<string, string> = {};
    if (routeKey.includes('{personId}')) path.personId = chance(0.7) ? pick(FUZZ_PEOPLE) : pick(STRINGS);
    if (routeKey.includes('{imageId}')) path.imageId = chance(0.5) ? IMAGE_ID : pick(QUERY_VALUES);
    const options: ApiRequestOptions = { query, path };
    if (routeKey === '$default') {
      options.method = pick(['GET', 'DELETE', 'POST', 'PUT']);
      options.rawPath = pick([
        '/people',
        '/people/p1',
        `/images/${IMAGE_ID}`,
        '/faces',
        '/nowhere',
        '/people/%E0%A4%A',
        '/',
      ]);
    }
    // A body where none belongs is ignored, but must not leak either.
    if (chance(0.2)) options.body = details(marker, secrets);
    return { routeKey, options, secrets, summary: `${routeKey} ${JSON.stringify({ query, path })}` };
  };
}
