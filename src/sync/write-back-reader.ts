/**
 * The read side of write-back: a key with acknowledged, unflushed writes answers the newer of its latest write and
 * the origin's record (a tombstone as absent); with a resolver, the origin's record merged with every pending write.
 * The origin is asked for those keys too, because another node may have flushed a later version of the key: a newer
 * record there wins (last writer by version), where answering the pending write alone served this node's older value
 * until its TTL (its own flush is then declined by the origin and no change notice follows). While the origin fails,
 * the pending write answers for its key, as it did without asking. Versions read from the origin are reported
 * (`observe`), so the HLC stays ahead of them.
 */
import { isOriginFailure, type FetchOptions, type Origin, type OriginAnswer, type OriginRecord } from '../origin/origin.ts';
import type { ConflictResolver } from './conflict.ts';
import { newer } from './write-back-record.ts';

export type ReadThrough<V> = {
  readonly origin: Origin<V>;
  readonly keys: readonly string[];
  readonly options: FetchOptions | undefined;
  /** Ask the origin's `getManySettled` (per-key failures pass through) instead of `getMany`. */
  readonly isSettled: boolean;
  /** The pending writes of `key`, oldest first. */
  readonly pending: (key: string) => readonly OriginRecord<V>[];
  readonly resolver: ConflictResolver<V> | undefined;
  readonly observe: (version: number) => void;
};

/** Answers aligned with `keys`. Rejects when the origin does, unless every key has a pending write to answer with. */
export async function readThrough<V>(r: ReadThrough<V>): Promise<Array<OriginAnswer<V>>> {
  const { keys } = r;
  const answers: Array<OriginAnswer<V>> = new Array(keys.length);
  // Without a resolver, a key's latest pending write stands in for the origin when the origin cannot answer.
  const hasFallback = (key: string): boolean => r.resolver === undefined && r.pending(key).length > 0;
  let fetched: Array<OriginAnswer<V>>;
  try {
    fetched = r.isSettled ? await r.origin.getManySettled!(keys, r.options) : await r.origin.getMany(keys, r.options);
  } catch (error) {
    if (!keys.every(hasFallback)) throw error;
    fetched = keys.map(() => undefined);
  }
  for (let j = 0; j < keys.length; j++) {
    let answer = fetched[j];
    if (isOriginFailure(answer) && hasFallback(keys[j])) answer = undefined; // the pending write answers alone
    if (isOriginFailure(answer)) { answers[j] = answer; continue; } // a key the origin could not read stays failed
    let record = answer?.deleted === true ? undefined : answer;
    if (record !== undefined) r.observe(record.version);
    for (const p of r.pending(keys[j])) record = r.resolver === undefined ? newer(p, record) : r.resolver(p, record);
    answers[j] = record?.deleted === true ? undefined : record;
  }
  return answers;
}
