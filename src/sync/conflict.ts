/**
 * Conflict resolvers: what the write-back flusher writes when a journaled write meets the origin's record.
 *
 * Why: last-writer-wins by version (the origin's own upsert rule) is right for values that are replaced whole.
 * It is wrong for values that accumulate, such as counters: two increments would keep one. A resolver merges
 * the local write into the origin's current record instead; the flusher then reads the batch's records first
 * (one `getMany`) and writes the merged ones.
 *
 * Exactly once: the flusher may re-send a batch after a crash or a failed confirmation. A resolver must then
 * give the same result as before, so it must recognise a write already applied. The rule used here: the merged
 * record carries the local write's version, and a local write whose version is not above the origin's record is
 * already in it (or superseded) and is dropped. This is exact when one writer owns the key, because that
 * writer's versions rise and batches are applied in order; with several writers on one key, a delta whose
 * version is below one already applied by another writer is dropped as well, so shard counters per writer
 * (one key per node, summed on read) when several nodes increment the same count.
 */
import type { OriginRecord } from '../origin/origin.ts';

/**
 * Merges a local write into the origin's current record (undefined when the origin has none, or a tombstone).
 * Must be pure and deterministic, and must return `remote` unchanged when `local` is already applied (see above).
 * The result is written with `putMany`, so it keeps the key and carries a version at least `local.version`.
 */
export type ConflictResolver<V> = (local: OriginRecord<V>, remote: OriginRecord<V> | undefined) => OriginRecord<V>;

/** The default rule as a resolver: the record with the higher version wins, ties to the origin. */
export function lastWriterWins<V>(local: OriginRecord<V>, remote: OriginRecord<V> | undefined): OriginRecord<V> {
  return remote !== undefined && remote.version >= local.version ? remote : local;
}

/**
 * A resolver for counters: each local write's value is a delta, the origin holds the running total. A write
 * already applied (origin version not below it) is skipped, so a replayed increment is counted once. A local
 * tombstone resets the counter.
 */
export function counterResolver(local: OriginRecord<number>, remote: OriginRecord<number> | undefined): OriginRecord<number> {
  if (remote !== undefined && remote.version >= local.version) return remote;
  if (local.deleted === true) return local;
  const total = remote === undefined || remote.deleted === true ? 0 : remote.value;
  return { key: local.key, value: total + local.value, version: local.version };
}
