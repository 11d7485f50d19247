/**
 * CandidateQueue: the prefetch scheduler's waiting candidates, best benefit popped first, at most `maxQueue` kept.
 *
 * Why its own module: the scheduler decides what to offer and when to send; how the waiting list is ordered, cut to
 * an offer's best few (offer-limit.ts sets how many) and trimmed is one mechanism. Sorting is lazy: pushes only mark
 * the queue unsorted, and the next pump sorts once. Cost: O(c log c) per sort for c candidates.
 */
import type { ReadContext } from '../context.ts';

/** One key to prefetch and why. */
export type PrefetchRequest = {
  readonly key: string;
  readonly probability: number;
  readonly source: string;
  readonly ctx: ReadContext;
};

export type Candidate = {
  readonly request: PrefetchRequest;
  /** What the candidate ranks by within its offer (candidate-score.ts): its probability, scaled by its source's record when asked. */
  readonly score: number;
  readonly benefit: number;
  readonly ctxKey: string;
  readonly generation: number;
  readonly at: number;
  readonly attempt: number;
};

export class CandidateQueue {
  #items: Candidate[] = [];
  #isSorted = true;

  get length(): number {
    return this.#items.length;
  }

  push(c: Candidate): void {
    this.#items.push(c);
    this.#isSorted = false;
  }

  /** The best candidate (call `sortAndTrim` first), removed. */
  pop(): Candidate | undefined {
    return this.#items.pop();
  }

  /** Keeps only the `limit` best scored of the candidates pushed from index `from` on; returns how many it dropped. */
  capFrom(from: number, limit: number): number {
    const items = this.#items;
    const excess = items.length - from - limit;
    if (excess <= 0) return 0;
    const offered = items.splice(from).sort((a, b) => b.score - a.score);
    for (let i = 0; i < limit; i++) items.push(offered[i]);
    return excess;
  }

  /** Sorts ascending by benefit (best at the end, popped first) and trims to `maxQueue`; returns how many it dropped. */
  sortAndTrim(maxQueue: number): number {
    if (!this.#isSorted) {
      this.#items.sort((a, b) => a.benefit - b.benefit);
      this.#isSorted = true;
    }
    const excess = this.#items.length - maxQueue;
    if (excess <= 0) return 0;
    this.#items.splice(0, excess);
    return excess;
  }

  /** Removes the candidates `isDropped` picks (order kept); returns how many. */
  removeIf(isDropped: (c: Candidate) => boolean): number {
    const before = this.#items.length;
    this.#items = this.#items.filter((c) => !isDropped(c));
    return before - this.#items.length;
  }

  clear(): void {
    this.#items = [];
  }
}

/** True when `batch` already holds a candidate for `key` (a batch holds at most `maxBatch`: a scan beats a Set). */
export function hasKey(batch: readonly Candidate[], key: string): boolean {
  for (let i = 0; i < batch.length; i++) if (batch[i].request.key === key) return true;
  return false;
}
