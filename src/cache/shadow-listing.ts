/**
 * The listing of a shadow catalog (`Cache.shadow`): what one item of a listing says, and the checks a listing
 * request passes before the catalogs (shadow-catalog.ts) are asked.
 */
import { checkContext } from '../context.ts';
import { InvalidOptionError } from '../errors.ts';
import { oneOf, positiveInt } from '../options.ts';

/** One item of a catalog listing (`Cache.shadow`). Times in ms on the cache's clock. */
export type ShadowItem = {
  readonly key: string;
  /** Probability of the latest prediction that named the item for this catalog. */
  readonly probability: number;
  /** When the entry was fetched (its `createdAt`). */
  readonly fetchedAt: number;
  /** After this time the entry is refreshed from the origin before a read from the catalog is served. */
  readonly staleAt: number;
  readonly isStale: boolean;
  readonly version: number;
  /** The model that predicted the item ('manual' for `Cache.prefetch` hints). */
  readonly source: string;
  /** Reads this catalog served with the item. */
  readonly uses: number;
};

/** What a listing needs of the catalogs (ShadowCatalogs). */
export type ShadowLister = { list(kind: 'user' | 'segment', id: string, limit: number): ShadowItem[] };

/** Options of a catalog listing. */
export type ShadowListOptions = {
  /** Most items returned. @default all (at most `shadow.perUserLimit`) */
  readonly limit?: number;
  /** Whose catalog: the user's or the segment's with that id. @default 'user' */
  readonly of?: 'user' | 'segment';
};

/**
 * The listing behind `Cache.shadow` and `Cache.shadowForSegment`: checks the id and the limit, and answers empty
 * when the catalogs are off (`catalogs` undefined) or the id has no catalog.
 * @throws PrescientError ERR_INVALID_CONTEXT when `id` is not a string of 1 to 256 characters; InvalidOptionError
 * (ERR_INVALID_OPTION) when `limit` is not a positive integer.
 */
export function listShadow(catalogs: ShadowLister | undefined, id: string, options: ShadowListOptions = {}): ShadowItem[] {
  if (typeof options !== 'object' || options === null) throw new InvalidOptionError('options', 'an object', options);
  const kind = oneOf('of', options.of, ['user', 'segment'], 'user');
  checkContext(kind === 'user' ? { user: id } : { segment: id });
  const limit = positiveInt('limit', options.limit, Number.MAX_SAFE_INTEGER);
  return catalogs?.list(kind, id, limit) ?? [];
}
