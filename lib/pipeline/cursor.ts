import { FacepipeError } from '../errors';
import type { PagePosition } from './ports';

/**
 * Paging cursors, owned by the core: an opaque token naming the listing it came from and the position of the last
 * item of its page. The listing is always taken from the request (its filter, as authorised), never from the token,
 * and a token from another listing is refused: a cursor can only say where to continue within the listing the caller
 * may read anyway, so a tampered token reads nothing more than a `since`/`until` window of the same query would.
 * Every part is checked strictly (ISO time, id format) before it reaches a store.
 */

/** The listing a page belongs to, as the request names it (e.g. `person:obama`, `emotion:happy`, `unknown`, `failed`). */
export type ListingKey = string;

const TOKEN = /^[A-Za-z0-9_-]{1,600}$/;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
/** Face ids (`<imageId>-<index>`), image ids (24 lowercase hex) and cluster ids (`c` and 15 hex). */
const ITEM_ID = /^([0-9a-f]{24}(-\d{1,6})?|c[0-9a-f]{15})$/;

/**
 * The cursor of the next page: only a full page (as many items as asked for) has one, and a full last page gives a
 * cursor whose page is empty.
 */
export function nextCursor<T>(
  listing: ListingKey,
  items: readonly T[],
  limit: number | undefined,
  positionOf: (item: T) => PagePosition,
): string | undefined {
  const last = items[items.length - 1];
  if (limit === undefined || items.length < limit || last === undefined) return undefined;
  const { at, id } = positionOf(last);
  return Buffer.from(JSON.stringify([listing, at, id]), 'utf8').toString('base64url');
}

/** The position a cursor from `nextCursor` of the same listing stands for; anything else is refused, naming `name`. */
export function cursorPosition(token: string | undefined, listing: ListingKey, name: string): PagePosition | undefined {
  if (token === undefined) return undefined;
  const refuse = () => new FacepipeError('INVALID_OPTION', `${name} must be a cursor from a previous page.`);
  if (!TOKEN.test(token)) throw refuse();
  let parts: unknown;
  try {
    parts = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw refuse();
  }
  if (!Array.isArray(parts) || parts.length !== 3) throw refuse();
  const [from, at, id] = parts as unknown[];
  if (typeof from !== 'string') throw refuse();
  if (typeof at !== 'string' || typeof id !== 'string' || !ISO_TIME.test(at) || !ITEM_ID.test(id)) throw refuse();
  if (Number.isNaN(Date.parse(at))) throw refuse();
  if (from !== listing) {
    throw new FacepipeError(
      'INVALID_OPTION',
      `${name} is a cursor of another query: page with the query it came from.`,
    );
  }
  return { at, id };
}
