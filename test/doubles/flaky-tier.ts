/**
 * FlakyTier: a shared tier that can be cut off on command, over a MemoryTier. While `isDown`, reads miss, plain
 * writes answer false and the strict writes reject with ERR_TIER_FAILED, as RedisTier does while Redis is
 * unreachable; what it held before stays held (Redis keeps its data across a network cut).
 */
import type { Clock } from '../../src/clock.ts';
import { PrescientError } from '../../src/errors.ts';
import type { Entry } from '../../src/cache/entry.ts';
import { MemoryTier } from '../../src/cache/memory-tier.ts';
import type { Tier, TierStats } from '../../src/cache/tier.ts';

export class FlakyTier<V> implements Tier<V> {
  readonly name = 'flaky';
  readonly inner: MemoryTier<V>;
  isDown = false;
  /** Entries larger than this are declined, as a tier with a small budget would. */
  maxEntryBytes = Infinity;
  clears = 0;

  constructor(clock: Clock, maxBytes = 1_000_000) {
    this.inner = new MemoryTier<V>({ maxBytes, clock });
  }

  get(key: string, includeExpired?: boolean): Entry<V> | undefined {
    return this.isDown ? undefined : this.inner.get(key, includeExpired);
  }
  getMany(keys: readonly string[]): Array<Entry<V> | undefined> {
    return keys.map((k) => this.get(k));
  }
  set(entry: Entry<V>): boolean {
    return !this.isDown && entry.sizeBytes <= this.maxEntryBytes && this.inner.set(entry);
  }
  delete(key: string): boolean {
    return !this.isDown && this.inner.delete(key);
  }
  async setStrict(entry: Entry<V>): Promise<boolean> {
    this.#check();
    return this.set(entry);
  }
  async deleteStrict(key: string, maxVersion?: number): Promise<boolean> {
    this.#check();
    const held = this.inner.peek(key);
    if (held === undefined || (maxVersion !== undefined && held.version > maxVersion)) return false;
    return this.inner.delete(key);
  }
  async clear(): Promise<void> {
    this.#check();
    this.clears++;
    this.inner.clear();
  }
  stats(): TierStats {
    return this.inner.stats();
  }
  /** The version held, whatever the connection state. */
  heldVersion(key: string): number | undefined {
    return this.inner.peek(key)?.version;
  }
  #check(): void {
    if (this.isDown) throw new PrescientError('ERR_TIER_FAILED', 'flaky tier is down');
  }
}
