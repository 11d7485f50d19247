/**
 * Baseline replay: runs a synchronous SimPolicy (none, LRU, readahead, Belady, oracle) over a Workload with the
 * same origin model the engine meets in SimOrigin — a latency per round trip, at most `concurrency` fetches at once,
 * demand before prefetch — so every baseline's latency and in-flight figures are comparable with the engine's.
 *
 * Why a second event loop: the baselines are models, not the engine, and replaying them through promises would
 * cost ten times the time for nothing; the origin model here is a few lines of discrete-event simulation (a
 * completion heap and two FIFO queues) that mirrors SimOrigin's rules. A request for a key in flight joins the
 * fetch (upgrading a queued prefetch to demand) and waits only for the rest.
 */
import type { Random } from './seeded-random.ts';
import type { RunCounts } from './sim-result.ts';
import type { SimPolicy } from './policy.ts';
import type { Workload } from './workload.ts';

type Fetch = {
  readonly key: string;
  purpose: 'demand' | 'prefetch';
  doneAt: number;
  waiters: number[];
  isUsed: boolean;
};

export type BaselineRunOptions = {
  readonly latency: (random: Random) => number;
  readonly random: Random;
  readonly concurrency: number;
  readonly onProgress?: (done: number) => void;
};

/** Replays `workload` through `policy`; returns raw counts and per-request latencies. */
export function replayBaseline(workload: Workload, policy: SimPolicy, options: BaselineRunOptions): Omit<RunCounts, 'prefetchIssued' | 'peakEntries'> {
  const { keys, keyIds, sessionIds, sessions, arrivalMs } = workload;
  const n = workload.requests;
  const latencies = new Float64Array(n);
  const inflight = new Map<string, Fetch>();
  const unusedPrefetched = new Set<string>();
  const heap: Fetch[] = [];
  const demandQueue: Fetch[] = [];
  const prefetchQueue: Fetch[] = [];
  let demandHead = 0;
  let prefetchHead = 0;
  let busy = 0;
  const counts = { hits: 0, inflight: 0, demandFetches: 0, prefetchFetches: 0, prefetchUsed: 0, latencies };

  const start = (f: Fetch, now: number): void => {
    busy++;
    f.doneAt = now + options.latency(options.random);
    heapPush(heap, f);
  };
  const enqueue = (f: Fetch, now: number): void => {
    inflight.set(f.key, f);
    if (f.purpose === 'demand') counts.demandFetches++;
    else counts.prefetchFetches++;
    if (busy < options.concurrency) start(f, now);
    else (f.purpose === 'demand' ? demandQueue : prefetchQueue).push(f);
  };
  const complete = (f: Fetch): void => {
    busy--;
    inflight.delete(f.key);
    for (const w of f.waiters) latencies[w] = f.doneAt - arrivalMs[w];
    if (f.purpose === 'prefetch' && f.waiters.length === 0) {
      if (policy.prefetched(f.key)) unusedPrefetched.add(f.key);
    }
    while (busy < options.concurrency) {
      let next: Fetch | undefined;
      while (next === undefined && demandHead < demandQueue.length) next = demandQueue[demandHead++];
      while (next === undefined && prefetchHead < prefetchQueue.length) {
        const candidate = prefetchQueue[prefetchHead++];
        if (candidate.purpose === 'prefetch') next = candidate;
      }
      if (next === undefined) break;
      start(next, f.doneAt);
    }
    if (demandHead > 4096 && demandHead * 2 > demandQueue.length) demandQueue.splice(0, demandHead), (demandHead = 0);
    if (prefetchHead > 4096 && prefetchHead * 2 > prefetchQueue.length) prefetchQueue.splice(0, prefetchHead), (prefetchHead = 0);
  };

  for (let i = 0; i < n; i++) {
    const now = arrivalMs[i];
    while (heap.length > 0 && heap[0].doneAt <= now) complete(heapPop(heap));
    const key = keys[keyIds[i]];
    const sid = sessionIds[i];
    const running = inflight.get(key);
    const access = policy.access({ key, session: sid < 0 ? undefined : sessions[sid], index: i });
    if (running !== undefined) {
      counts.inflight++;
      running.waiters.push(i);
      if (running.purpose === 'prefetch' && !running.isUsed) {
        running.isUsed = true;
        counts.prefetchUsed++;
        if (Number.isNaN(running.doneAt)) {
          // Still queued: it becomes a demand fetch, served before other prefetches.
          running.purpose = 'demand';
          demandQueue.push(running);
        }
      }
    } else if (access.decision === 'hit') {
      counts.hits++;
      latencies[i] = 0;
      if (unusedPrefetched.delete(key)) counts.prefetchUsed++;
    } else {
      unusedPrefetched.delete(key);
      enqueue({ key, purpose: 'demand', doneAt: NaN, waiters: [i], isUsed: false }, now);
    }
    for (const p of access.prefetch) {
      if (inflight.has(p)) continue;
      enqueue({ key: p, purpose: 'prefetch', doneAt: NaN, waiters: [], isUsed: false }, now);
    }
    if ((i & 0xffff) === 0xffff) options.onProgress?.(i + 1);
  }
  while (heap.length > 0) complete(heapPop(heap));
  options.onProgress?.(n);
  return counts;
}

function heapPush(heap: Fetch[], f: Fetch): void {
  heap.push(f);
  let i = heap.length - 1;
  while (i > 0) {
    const p = (i - 1) >> 1;
    if (heap[p].doneAt <= f.doneAt) break;
    heap[i] = heap[p];
    i = p;
  }
  heap[i] = f;
}

function heapPop(heap: Fetch[]): Fetch {
  const top = heap[0];
  const last = heap.pop() as Fetch;
  if (heap.length > 0) {
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= heap.length) break;
      const r = l + 1;
      const c = r < heap.length && heap[r].doneAt < heap[l].doneAt ? r : l;
      if (heap[c].doneAt >= last.doneAt) break;
      heap[i] = heap[c];
      i = c;
    }
    heap[i] = last;
  }
  return top;
}
