/**
 * sendWriteBatch: what one flush sends to the origin for a batch of pending writes, and what the origin declined.
 *
 * Why apart from WriteBack: the batch is merged per key before it is sent — last writer by version, or, with a
 * conflict resolver, each write merged into the origin's current record in journal order (only records that change
 * it are sent) — and the origin's answer names the records it kept an equal or newer version over. Those are the
 * writes another node got in first (with clocks apart by more than the hybrid logical clock absorbs): this node's
 * cache still holds the older value it was given at `put`, and the caller must drop it, or it is served until its
 * TTL while the origin holds the newer one.
 */
import { checkAnswers, rejectFailures } from '../origin/check-answer.ts';
import type { OriginRecord } from '../origin/origin.ts';
import type { ConflictResolver } from './conflict.ts';
import type { WritableOrigin } from './write-back-options.ts';
import { newer } from './write-back-record.ts';

/** What `sendWriteBatch` did: records sent, and those of them the origin declined (a newer or equal version held). */
export type WriteBatchResult<V> = { readonly sent: number; readonly declined: ReadonlyArray<OriginRecord<V>> };

/**
 * Merges `records` (journal order) per key and writes them in one `putMany`. `observe` hears every version the
 * origin answered, with its key (the resolver path reads the current records first). Rejects as `putMany` or
 * `getMany` does.
 */
export async function sendWriteBatch<V>(
  origin: WritableOrigin<V>,
  resolver: ConflictResolver<V> | undefined,
  records: ReadonlyArray<OriginRecord<V>>,
  observe: (version: number, key: string) => void,
): Promise<WriteBatchResult<V>> {
  const merged = new Map<string, OriginRecord<V>>();
  if (resolver === undefined) {
    for (const record of records) merged.set(record.key, newer(record, merged.get(record.key)) ?? record);
  } else {
    const keys = [...new Set(records.map((r) => r.key))];
    // Checked as the cache checks a load: the resolver must not merge a delta into another key's record or a bad version.
    const { answers } = checkAnswers<V>(keys, await origin.getMany(keys), 'absent');
    rejectFailures(keys, answers); // the batch waits for the next flush, as for any origin failure
    const remote = answers as ReadonlyArray<OriginRecord<V> | undefined>;
    const held = new Map<string, OriginRecord<V> | undefined>();
    keys.forEach((key, i) => {
      const r = remote[i];
      if (r !== undefined) observe(r.version, key);
      held.set(key, r);
    });
    const current = new Map(held);
    for (const record of records) {
      const resolved = resolver(record, current.get(record.key));
      current.set(record.key, resolved);
      if (resolved !== held.get(record.key)) merged.set(record.key, resolved);
    }
  }
  if (merged.size === 0) return { sent: 0, declined: [] };
  const outcome = await origin.putMany([...merged.values()]);
  const declinedKeys = outcome?.declined ?? [];
  const declined: Array<OriginRecord<V>> = [];
  for (const key of declinedKeys) {
    const record = merged.get(key);
    if (record !== undefined) declined.push(record);
  }
  return { sent: merged.size, declined };
}
