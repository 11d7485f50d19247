/**
 * Belady's MIN: the offline optimum of a demand-only cache, the ceiling no replacement policy can pass.
 *
 * Why: L. A. Belady, "A study of replacement algorithms for a virtual-storage computer" (IBM Systems Journal,
 * 1966): evicting the entry whose next use lies farthest in the future minimises misses. With bypass (the default,
 * as in REFERENCE.md), a missed key whose own next use is farther than every cached entry's is not admitted at
 * all. Cached entries sit in a max-heap keyed by next use with lazy invalidation (a hit pushes a fresh entry; stale
 * ones are dropped when they surface; the heap is rebuilt from the members when stale entries dominate), so a
 * request costs O(log capacity) amortised. It needs a Future built from a first pass over the same trace.
 */
import { InvalidOptionError, PrescientError } from '../errors.ts';
import { positiveInt } from '../options.ts';
import { noNext, type Future } from './future.ts';
import { noPrefetch, type CapacityOptions, type SimAccess, type SimPolicy, type SimRequest } from './policy.ts';

/** Options of the Belady baseline. */
export type BeladyOptions = CapacityOptions & {
  /** The trace's future, built from the same requests in the same order. */
  readonly future: Future;
  /** Whether a missed key may be left out of the cache (MIN with bypass). @default true */
  readonly bypass?: boolean;
};

const hit: SimAccess = Object.freeze({ decision: 'hit', prefetch: noPrefetch });
const miss: SimAccess = Object.freeze({ decision: 'miss', prefetch: noPrefetch });

/** Stale heap entries allowed, as a multiple of the capacity, before a rebuild. */
const staleFactor = 3;

/**
 * Belady's MIN over `future`. `access` must receive the requests the future was built from, in order
 * (`request.index` is checked against the future's key). Prefetched keys are never admitted: it is demand-only.
 * @throws InvalidOptionError (ERR_INVALID_OPTION) for a bad capacity or a missing future
 */
export function createBeladyPolicy(options: BeladyOptions): SimPolicy {
  const capacity = positiveInt('capacity', options?.capacity);
  const future = options.future;
  if (future === undefined || !(future.nextUse instanceof Int32Array)) {
    throw new InvalidOptionError('future', 'a Future from buildFuture, futureFromIds or FutureBuilder', future);
  }
  const bypass = options.bypass ?? true;
  const n = future.length;
  const k = Math.max(1, future.keys.length);
  const { keyIds, nextUse, keys } = future;
  /** Next use of each cached key id (`n` = never), -1 when not cached. */
  const cachedNext = new Int32Array(future.keys.length).fill(-1);
  /** Dense list of cached ids and each id's slot in it. */
  const members = new Int32Array(capacity);
  const slotOf = new Int32Array(future.keys.length);
  let size = 0;
  let peak = 0;
  let heap = new Float64Array(staleFactor * capacity + 1024);
  let heapSize = 0;

  const push = (priority: number): void => {
    if (heapSize === heap.length) {
      if (heapSize > staleFactor * capacity) rebuild();
      if (heapSize === heap.length) {
        const bigger = new Float64Array(heap.length * 2);
        bigger.set(heap);
        heap = bigger;
      }
    }
    pushRaw(priority);
  };
  const popTop = (): void => {
    const last = heap[--heapSize];
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= heapSize) break;
      const r = l + 1;
      const child = r < heapSize && heap[r] > heap[l] ? r : l;
      if (heap[child] <= last) break;
      heap[i] = heap[child];
      i = child;
    }
    heap[i] = last;
  };
  const isLive = (priority: number): boolean => {
    const id = priority % k;
    return cachedNext[id] === (priority - id) / k;
  };
  /** The live top priority, dropping stale ones; -1 when empty. */
  const liveTop = (): number => {
    while (heapSize > 0 && !isLive(heap[0])) popTop();
    return heapSize > 0 ? heap[0] : -1;
  };
  const rebuild = (): void => {
    heapSize = 0;
    for (let slot = 0; slot < size; slot++) pushRaw(cachedNext[members[slot]] * k + members[slot]);
  };
  /** Sifts `priority` up into the heap; the caller made room. */
  const pushRaw = (priority: number): void => {
    let i = heapSize++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent] >= priority) break;
      heap[i] = heap[parent];
      i = parent;
    }
    heap[i] = priority;
  };
  const admit = (id: number, next: number): void => {
    cachedNext[id] = next;
    members[size] = id;
    slotOf[id] = size++;
    if (size > peak) peak = size;
    push(next * k + id);
  };
  const evict = (id: number): void => {
    cachedNext[id] = -1;
    const slot = slotOf[id];
    const moved = members[--size];
    members[slot] = moved;
    slotOf[moved] = slot;
  };

  return Object.freeze({
    name: bypass ? 'belady' : 'belady-no-bypass',
    access(request: SimRequest): SimAccess {
      const index = request.index;
      const id = index >= 0 && index < n ? keyIds[index] : -1;
      if (id < 0 || keys[id] !== request.key) {
        throw new PrescientError(
          'ERR_INVALID_OPTION',
          `Belady: request ${index} is ${JSON.stringify(request.key)}, not what the future holds; requests must come in the order the future was built`,
        );
      }
      const next = nextUse[index] === noNext ? n : nextUse[index];
      if (cachedNext[id] >= 0) {
        cachedNext[id] = next;
        push(next * k + id);
        return hit;
      }
      if (size < capacity) {
        if (!(bypass && next === n)) admit(id, next);
        return miss;
      }
      const top = liveTop();
      const victim = top % k;
      const victimNext = (top - victim) / k;
      if (bypass && victimNext <= next) return miss;
      popTop();
      evict(victim);
      admit(id, next);
      return miss;
    },
    prefetched(_key: string): boolean {
      return false;
    },
    peakEntries(): number {
      return peak;
    },
  });
}
