import { FacepipeError } from '../errors';
import { type JsonPath, type NumberToken, pathText } from './jsonSource';

/**
 * A person's details: a JSON object given at enrolment and shown with the person and their faces, stored as a map on
 * the person's item. Checked here for every caller (CLI, API, the core) before anything is written, so the table
 * stores exactly what was given or nothing: a refusal names the field's path and never quotes its value.
 */

/** DynamoDB nests attribute values at most 32 levels, counting the item as the first. dynalite and moto do not check. */
export const DYNAMODB_MAX_NESTING = 32;
/** The details map is an attribute of the person's item, on its second level. */
const DETAILS_LEVEL = 2;
/** How deep details may nest, counting the details object itself as 1: 31. */
export const MAX_DETAILS_DEPTH = DYNAMODB_MAX_NESTING - DETAILS_LEVEL + 1;
/** The details as JSON, in UTF-8 bytes. */
export const MAX_DETAILS_BYTES = 16 * 1024;
export const MAX_DETAILS_KEY_LENGTH = 256;
/** Keys that name an object's prototype to code that copies objects by assignment (DynamoDB's unmarshall does). */
const RESERVED_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
/** DynamoDB refuses a non-zero number of a smaller magnitude. */
const MIN_MAGNITUDE = 1e-130;

const invalid = (message: string) => new FacepipeError('INVALID_OPTION', message);

const isObject = (value: unknown): value is Record<string, unknown> =>
  Object.prototype.toString.call(value) === '[object Object]';

/**
 * Whether a number cannot be stored exactly as given: not finite, beyond JavaScript's safe integers (the SDK's
 * marshaller refuses those, and larger integers have already lost digits), or below DynamoDB's smallest magnitude.
 * With its JSON text, also a number that parsing turned into 0 (`1e-400`).
 */
function numberRefused(value: number, source?: string): boolean {
  if (!Number.isFinite(value) || Math.abs(value) > Number.MAX_SAFE_INTEGER) return true;
  if (value !== 0 && Math.abs(value) < MIN_MAGNITUDE) return true;
  const digits = source?.split(/[eE]/)[0] ?? '';
  return value === 0 && /[1-9]/.test(digits);
}

const numberMessage = (path: JsonPath) =>
  `${pathText(path)} must be a number from -${Number.MAX_SAFE_INTEGER} to ${Number.MAX_SAFE_INTEGER} ` +
  "(JavaScript's safe integers; beyond them digits are lost) and, unless it is 0, no smaller than 1e-130 in size.";

function checkKey(key: string, path: JsonPath): void {
  const where = pathText(path);
  if (key === '') throw invalid(`${where} has an empty key: keys are 1 to ${MAX_DETAILS_KEY_LENGTH} characters.`);
  if (key.length > MAX_DETAILS_KEY_LENGTH) {
    throw invalid(`${where} has a key over ${MAX_DETAILS_KEY_LENGTH} characters.`);
  }
  if (!key.isWellFormed()) throw invalid(`${where} has a key that is not well-formed Unicode (a lone surrogate).`);
  if (RESERVED_KEYS.has(key)) throw invalid(`${where} has the key "${key}", which JavaScript reserves: rename it.`);
}

/** Checks one value and, within the depth limit, what it holds (the recursion is bounded by that limit). */
function checkValue(value: unknown, path: (string | number)[], depth: number): void {
  if (value === null || typeof value === 'boolean') return;
  if (typeof value === 'string') {
    if (!value.isWellFormed()) {
      throw invalid(`${pathText(path)} must be well-formed Unicode text (it holds a lone surrogate).`);
    }
    return;
  }
  if (typeof value === 'number') {
    if (numberRefused(value)) throw invalid(numberMessage(path));
    return;
  }
  const list = Array.isArray(value);
  if (!list && !isObject(value)) {
    throw invalid(`${pathText(path)} must be JSON: text, a number, true, false, null, a list or an object.`);
  }
  if (depth > MAX_DETAILS_DEPTH) {
    throw invalid(
      `${pathText(path)} nests too deep: lists and objects in details may nest ${MAX_DETAILS_DEPTH} levels, ` +
        'counting details itself (the table nests 32 levels in a person record).',
    );
  }
  if (list) {
    value.forEach((item, i) => {
      checkValue(item, [...path, i], depth + 1);
    });
    return;
  }
  for (const key of Object.keys(value)) {
    checkKey(key, path);
    checkValue(value[key], [...path, key], depth + 1);
  }
}

/**
 * A person's details, checked: a JSON object whose numbers, text and keys the table stores exactly as given, at most
 * `MAX_DETAILS_DEPTH` levels deep and `MAX_DETAILS_BYTES` as JSON. `numbers` are the details' number tokens as written
 * (paths from the details object, see `numberTokens`), when the details came as JSON text: parsing loses what they
 * said (`1e-400` became 0).
 */
export function validateDetails(details: unknown, numbers: readonly NumberToken[] = []): Record<string, unknown> {
  if (!isObject(details)) {
    throw invalid('Person details must be a JSON object, e.g. {"team":"blue"}.');
  }
  checkValue(details, ['details'], 1);
  for (const token of numbers) {
    if (numberRefused(Number(token.source), token.source)) throw invalid(numberMessage(['details', ...token.path]));
  }
  const size = Buffer.byteLength(JSON.stringify(details));
  if (size > MAX_DETAILS_BYTES) {
    throw invalid(`Person details are ${size} bytes as JSON; the limit is ${MAX_DETAILS_BYTES}.`);
  }
  return details;
}
