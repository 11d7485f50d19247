/**
 * AccessBuffer: the bounded ring the read path writes every access into, drained in batches by the prediction
 * and prefetch side.
 *
 * Why: a read must never wait for a model update (Caffeine's read buffer makes the same trade). Recording is a few
 * array stores with no allocation; when the ring is full the access is dropped and counted, so a slow model degrades
 * prediction quality, never read latency. Parallel arrays (keys, contexts, times, status codes) keep it compact.
 */
import type { ReadContext } from '../context.ts';

/** How a read was served; the buffer stores it as a small code. */
export type ReadStatus = 'hit' | 'miss' | 'stale' | 'prefetched';

const statusCodes: readonly ReadStatus[] = ['hit', 'miss', 'stale', 'prefetched'];

/** The code of a status: comparisons of interned strings, where a keyed lookup in a table costs an inline cache. */
function codeOf(status: ReadStatus): number {
  return status === 'hit' ? 0 : status === 'miss' ? 1 : status === 'stale' ? 2 : 3;
}

/** One drained access. */
export type BufferedAccess = {
  readonly key: string;
  readonly ctx: ReadContext;
  readonly at: number;
  readonly status: ReadStatus;
};

export class AccessBuffer {
  readonly #keys: Array<string | undefined>;
  readonly #ctxs: Array<ReadContext | undefined>;
  readonly #times: Float64Array;
  readonly #codes: Uint8Array;
  #head = 0;
  #size = 0;
  #dropped = 0;
  #recorded = 0;

  /** @param capacity most accesses held before new ones are dropped. */
  constructor(capacity: number) {
    this.#keys = new Array(capacity).fill(undefined);
    this.#ctxs = new Array(capacity).fill(undefined);
    this.#times = new Float64Array(capacity);
    this.#codes = new Uint8Array(capacity);
  }

  get size(): number {
    return this.#size;
  }

  get capacity(): number {
    return this.#times.length;
  }

  /** Accesses dropped because the buffer was full. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Accesses accepted since creation. */
  get recorded(): number {
    return this.#recorded;
  }

  /** True when a `push` now would be dropped. */
  get isFull(): boolean {
    return this.#size === this.#times.length;
  }

  /** Counts an access the caller dropped without pushing it (it saw `isFull`). */
  countDrop(): void {
    this.#dropped++;
  }

  /** Records an access; returns false (and counts a drop) when the buffer is full. */
  push(key: string, ctx: ReadContext, at: number, status: ReadStatus): boolean {
    const cap = this.#times.length;
    if (this.#size === cap) {
      this.#dropped++;
      return false;
    }
    let i = this.#head + this.#size;
    if (i >= cap) i -= cap;
    this.#keys[i] = key;
    this.#ctxs[i] = ctx;
    this.#times[i] = at;
    this.#codes[i] = codeOf(status);
    this.#size++;
    this.#recorded++;
    return true;
  }

  /** Removes up to `max` accesses, oldest first, and hands each to `visit`. Returns how many were drained. */
  drain(visit: (access: BufferedAccess) => void, max = Infinity): number {
    const cap = this.#times.length;
    let n = 0;
    while (this.#size > 0 && n < max) {
      const i = this.#head;
      const access: BufferedAccess = {
        key: this.#keys[i] as string,
        ctx: this.#ctxs[i] as ReadContext,
        at: this.#times[i],
        status: statusCodes[this.#codes[i]],
      };
      this.#keys[i] = undefined;
      this.#ctxs[i] = undefined;
      this.#head = i + 1 === cap ? 0 : i + 1;
      this.#size--;
      n++;
      visit(access);
    }
    return n;
  }
}
