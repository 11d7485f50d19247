/**
 * TierReads: the memory tier's answers that change nothing (no hit, recency or sketch count): lookups, listings and
 * identity. A base class of MemoryTier (memory-tier.ts), which keeps its entries in the `table` defined here.
 */
import type { Entry } from './entry.ts';
import { NodeTable, type KeyMatch } from './node-table.ts';

export abstract class TierReads<V> {
  /** The entries, their columns, lists and key index. */
  protected readonly table = new NodeTable<V>();

  /** Number of entries held, expired ones included. */
  get size(): number {
    return this.table.used;
  }

  /** True when the tier holds `entry`: the object itself, or, for a plain entry, one equal to it (`isSameEntry`). */
  holds(entry: Entry<V>): boolean {
    return this.table.holds(this.table.find(entry.key), entry);
  }

  /** The entry for `key` without side effect (no hit, recency or sketch count), expired or not. */
  peek(key: string): Entry<V> | undefined {
    const slot = this.table.find(key);
    return slot < 0 ? undefined : this.table.entry(slot);
  }

  /** `peek(key)?.version`, with no Entry built. */
  versionOf(key: string): number | undefined {
    const slot = this.table.find(key);
    return slot < 0 ? undefined : this.table.version(slot);
  }

  /** `peek(key)?.staleAt`, with no Entry built. */
  staleAtOf(key: string): number | undefined {
    const slot = this.table.find(key);
    return slot < 0 ? undefined : this.table.staleAt(slot);
  }

  /** True when an entry (expired or not) is held for `key`. No side effect. */
  has(key: string): boolean {
    return this.table.find(key) >= 0;
  }

  /** Keys held, in no particular order. */
  *keys(): IterableIterator<string> {
    for (const slot of this.table.slots()) yield this.table.key(slot);
  }

  /** Entries held, in no particular order. */
  *entries(): IterableIterator<Entry<V>> {
    for (const slot of this.table.slots()) yield this.table.entry(slot);
  }

  /** Keys held that start with `prefix` or whose entry carries `tag` (see NodeTable.matching), with their versions. */
  matching(prefix: string | undefined, tag: string | undefined): IterableIterator<KeyMatch> {
    return this.table.matching(prefix, tag);
  }
}
