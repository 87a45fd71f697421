/**
 * The one list shape every collection route answers with: `{items, offset, limit}`, where `offset`
 * and `limit` echo the page that was applied. A page shorter than `limit` is the last one. The event
 * feed pages by cursor instead and answers `{items, after, limit}` (see routes/events.ts).
 */
import type { Page } from './parse';

export interface ListBody<T> {
  items: T[];
  offset: number;
  limit: number;
}

/** Wraps items the store already paged. */
export function listBody<T>(items: T[], page: Page): ListBody<T> {
  return { items, offset: page.offset, limit: page.limit };
}

/** Pages an in-memory collection (the registry's roles, a deployment's handful of attribs). */
export function pageOf<T>(all: readonly T[], page: Page): ListBody<T> {
  return listBody(all.slice(page.offset, page.offset + page.limit), page);
}
