/**
 * FunctionOrigin: an origin made from a function, or an in-memory map for unit tests and simple adapters.
 */
import { isDeepStrictEqual } from 'node:util';
import { InvalidOptionError } from '../errors.ts';
import type { FetchOptions, Origin, OriginRecord, PutManyOutcome } from './origin.ts';

export type FunctionOriginOptions<V> = {
  /** Loads records for keys, aligned with keys (undefined where absent). */
  readonly getMany: (keys: readonly string[], options?: FetchOptions) => Promise<Array<OriginRecord<V> | undefined>>;
  /** Optional write side: upsert keeping the higher version, optionally reporting the keys it declined. */
  readonly putMany?: (records: readonly OriginRecord<V>[]) => Promise<PutManyOutcome | void>;
};

/** An origin that delegates to functions. */
export class FunctionOrigin<V> implements Origin<V> {
  readonly #get: FunctionOriginOptions<V>['getMany'];
  readonly putMany?: (records: readonly OriginRecord<V>[]) => Promise<PutManyOutcome | void>;

  constructor(options: FunctionOriginOptions<V>) {
    if (typeof options?.getMany !== 'function') throw new InvalidOptionError('getMany', 'a function', options?.getMany);
    if (options.putMany !== undefined && typeof options.putMany !== 'function') throw new InvalidOptionError('putMany', 'a function', options.putMany);
    this.#get = options.getMany;
    const put = options.putMany;
    if (put !== undefined) this.putMany = (records) => put(records);
  }

  getMany(keys: readonly string[], options?: FetchOptions): Promise<Array<OriginRecord<V> | undefined>> {
    return this.#get(keys, options);
  }
}

/**
 * An origin over an in-memory map: `getMany` answers from the map (tombstones as absent), `putMany` keeps the
 * higher version per key (tombstones included), `changes` lists records past a version. It counts calls and
 * keys so tests can assert batching and single-flight.
 */
export class MapOrigin<V> implements Origin<V> {
  readonly records = new Map<string, OriginRecord<V>>();
  calls = 0;
  keysFetched = 0;
  readonly batches: Array<{ readonly keys: readonly string[]; readonly purpose: string }> = [];

  constructor(initial: Iterable<readonly [string, V]> = []) {
    for (const [key, value] of initial) this.records.set(key, { key, value, version: 1 });
  }

  async getMany(keys: readonly string[], options?: FetchOptions): Promise<Array<OriginRecord<V> | undefined>> {
    return this.#lookup(keys, options).map((r) => (r?.deleted === true ? undefined : r));
  }

  /** Like `getMany` (and counted the same), but tombstones answer `{ deleted: true }`, as TieredOrigin asks. */
  async getRecords(keys: readonly string[], options?: FetchOptions): Promise<Array<OriginRecord<V> | undefined>> {
    return this.#lookup(keys, options);
  }

  /** Records with version > `sinceVersion`, ascending by version then key, tombstones included; at most `limit`. */
  async changes(sinceVersion: number, limit = Number.POSITIVE_INFINITY): Promise<OriginRecord<V>[]> {
    const changed = [...this.records.values()].filter((r) => r.version > sinceVersion);
    changed.sort((a, b) => a.version - b.version || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return changed.slice(0, limit);
  }

  /**
   * Keeps each record whose version is above the one held; reports the keys of the others whose held record differs
   * (a newer version, or another write at the same one), not a replay of the record held.
   */
  async putMany(records: readonly OriginRecord<V>[]): Promise<PutManyOutcome> {
    const declined = new Set<string>();
    for (const r of records) {
      const held = this.records.get(r.key);
      if (held === undefined || r.version > held.version) {
        this.records.set(r.key, r);
        declined.delete(r.key);
      } else if (!isSameWrite(held, r)) {
        declined.add(r.key);
      }
    }
    return { declined: [...declined] };
  }

  #lookup(keys: readonly string[], options?: FetchOptions): Array<OriginRecord<V> | undefined> {
    this.calls++;
    this.keysFetched += keys.length;
    this.batches.push({ keys: [...keys], purpose: options?.purpose ?? 'demand' });
    return keys.map((k) => this.records.get(k));
  }
}

/** True when `b` is `a` again: the same version, both tombstones or both holding equal values. */
function isSameWrite(a: OriginRecord<unknown>, b: OriginRecord<unknown>): boolean {
  if (a.version !== b.version || (a.deleted === true) !== (b.deleted === true)) return false;
  return a.deleted === true || isDeepStrictEqual(a.value, b.value);
}
