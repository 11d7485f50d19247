/**
 * The read side of write-back: acknowledged, unflushed writes answer for their keys (a tombstone as absent), the real
 * origin for the rest; with a resolver, the origin's record merged with every pending write of the key. Versions read
 * from the origin are reported (`observe`), so the HLC stays ahead of them.
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

/** Answers aligned with `keys`. Rejects when the origin does (a key that needs it cannot be answered). */
export async function readThrough<V>(r: ReadThrough<V>): Promise<Array<OriginAnswer<V>>> {
  const answers: Array<OriginAnswer<V>> = new Array(r.keys.length);
  const ask: string[] = [];
  const askAt: number[] = [];
  r.keys.forEach((key, i) => {
    const latest = r.pending(key).at(-1);
    if (latest !== undefined && r.resolver === undefined) answers[i] = latest.deleted === true ? undefined : latest;
    else {
      ask.push(key);
      askAt.push(i);
    }
  });
  if (ask.length === 0) return answers;
  const fetched = r.isSettled ? await r.origin.getManySettled!(ask, r.options) : await r.origin.getMany(ask, r.options);
  for (let j = 0; j < ask.length; j++) {
    const answer = fetched[j];
    if (isOriginFailure(answer)) { answers[askAt[j]] = answer; continue; } // a key the origin could not read stays failed
    let record = answer?.deleted === true ? undefined : answer;
    if (record !== undefined) r.observe(record.version);
    for (const p of r.pending(ask[j])) record = r.resolver === undefined ? newer(p, record) : r.resolver(p, record);
    answers[askAt[j]] = record?.deleted === true ? undefined : record;
  }
  return answers;
}
