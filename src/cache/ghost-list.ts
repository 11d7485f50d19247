/**
 * GhostList: the keys of the last few entries evicted from a region, without their values.
 *
 * Why: a miss on a key that was evicted moments ago says the region it left was too small, by about one entry.
 * ARC (Megiddo & Modha, "ARC: A Self-Tuning, Low Overhead Replacement Cache", FAST 2003) balances two lists by
 * exactly this signal; the memory tier uses two ghost lists to balance its prefetch region against the demand
 * regions. Cost: one Set insertion and one ring write per eviction, one Set lookup per miss.
 */
export class GhostList {
  /** Each key remembered, with its place in the ring (a taken key's old place may later hold it again). */
  readonly #keys = new Map<string, number>();
  #ring: Array<string | undefined>;
  #head = 0;

  /** @param capacity most keys remembered; older ones are forgotten first. */
  constructor(capacity: number) {
    this.#ring = new Array(Math.max(1, capacity)).fill(undefined);
  }

  get size(): number {
    return this.#keys.size;
  }

  get capacity(): number {
    return this.#ring.length;
  }

  /** Remembers `key` as just evicted, forgetting the oldest when full. */
  add(key: string): void {
    const keys = this.#keys;
    if (keys.has(key)) return;
    const head = this.#head;
    const old = this.#ring[head];
    // The slot's old key is forgotten only if this is still its place: one taken and added again since lives on
    // at its newer place, for `capacity` more additions.
    if (old !== undefined && keys.get(old) === head) keys.delete(old);
    keys.set(key, head);
    this.#ring[head] = key;
    this.#head = (head + 1) % this.#ring.length;
  }

  /** True (and forgets it) when `key` was evicted recently. */
  take(key: string): boolean {
    return this.#keys.delete(key);
  }

  /** Resizes, forgetting everything (a resize happens rarely: when the tier's entry count changes a lot). */
  resize(capacity: number): void {
    this.#ring = new Array(Math.max(1, capacity)).fill(undefined);
    this.#keys.clear();
    this.#head = 0;
  }

  clear(): void {
    this.#ring.fill(undefined);
    this.#keys.clear();
    this.#head = 0;
  }
}
