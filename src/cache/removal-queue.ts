/**
 * RemovalQueue: the memory tier's removals, told to its `onRemoval` listener once the operation that made them ends.
 *
 * Why not call the listener at once: an eviction happens in the middle of an operation (a slot in no list yet, a
 * cursor in an eviction loop), and a listener may call back into the tier (the Cache's events reach user code, which
 * may read or write the cache): it must find the tier consistent. A listener's own calls into the tier queue their
 * removals behind the ones being delivered, and the same loop delivers them. The first error a listener throws is
 * rethrown once everything is delivered (the tier's state is complete by then). Cost: two array pushes a removal.
 */
import type { Entry, RemovalCause } from './entry.ts';

export class RemovalQueue<V> {
  readonly #listener: (entry: Entry<V>, cause: RemovalCause) => void;
  readonly #entries: Array<Entry<V>> = [];
  readonly #causes: RemovalCause[] = [];
  #isDelivering = false;

  constructor(listener: (entry: Entry<V>, cause: RemovalCause) => void) {
    this.#listener = listener;
  }

  /** Queues a removal. */
  push(entry: Entry<V>, cause: RemovalCause): void {
    this.#entries.push(entry);
    this.#causes.push(cause);
  }

  /** Tells the listener of every queued removal, then throws the first error it threw (none while already delivering). */
  deliver(): void {
    const entries = this.#entries;
    if (this.#isDelivering || entries.length === 0) return;
    this.#isDelivering = true;
    let failure: { error: unknown } | undefined;
    try {
      for (let i = 0; i < entries.length; i++) {
        try {
          this.#listener(entries[i], this.#causes[i]);
        } catch (error) {
          failure ??= { error };
        }
      }
    } finally {
      entries.length = 0;
      this.#causes.length = 0;
      this.#isDelivering = false;
    }
    if (failure !== undefined) throw failure.error;
  }
}
