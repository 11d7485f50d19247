/**
 * Baseline replay: runs a synchronous SimPolicy (none, LRU, readahead, Belady, oracle) over a Workload with the
 * same origin model the engine meets in SimOrigin — a latency per round trip, at most `concurrency` fetches at once,
 * demand before prefetch — so every baseline's latency and in-flight figures are comparable with the engine's.
 *
 * Why a second event loop: the baselines are models, not the engine, and replaying them through promises would
 * cost ten times the time for nothing; the origin model here is a few lines of discrete-event simulation (a
 * completion heap and two FIFO queues) that mirrors SimOrigin's rules. A request for a key in flight joins the
 * fetch and waits only for the rest; a prefetch still queued at the origin stays in the prefetch queue, as the
 * engine's does (a call SimOrigin has queued keeps its place: the Loader sends no second, demand call for it), so
 * under `--origin-concurrency` the baselines meet the engine's rules, not kinder ones. Round trips that finish at
 * the same instant complete in the order they started, as SimOrigin's timers fire.
 * A request's prefetch list is one round trip (one concurrency slot, one latency draw), as the engine's prefetches
 * batched into one `getMany` are in SimOrigin: read-ahead's n keys after a miss do not queue behind each other.
 *
 * What is in flight and which prefetched keys are still unused are kept per key id, in an array and a byte array,
 * not in a Map and a Set keyed by string: a handful of keys are in flight at any time but millions pass through,
 * and a small Map or Set that is added to and deleted from on every request rehashes itself over and over (on ARC
 * P3 the `delete`, `add` and `has` calls were two thirds of the oracle's and readahead's time). Requests carry
 * their workload key id; a prefetched key's id comes from a key -> id map of the workload built once per workload
 * (KeyIds), and keys outside the workload (readahead's k+1...) get ids past the workload's for the run.
 */
import type { Random } from './seeded-random.ts';
import type { RunCounts } from './sim-result.ts';
import type { SimPolicy } from './policy.ts';
import type { Workload } from './workload.ts';

type Fetch = {
  readonly key: string;
  readonly id: number;
  readonly purpose: 'demand' | 'prefetch';
  doneAt: number;
  waiters: number[];
  isUsed: boolean;
  /** Started (it left its queue; a copy still queued is skipped). */
  isStarted: boolean;
  /** Start order: of round trips finishing at the same instant, the one started first completes first. */
  seq: number;
  /** The other fetches of the round trip this one carries. */
  riders: Fetch[] | undefined;
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
  const ids = new KeyIds(workload);
  /** The fetch in flight per key id (undefined: none). */
  const inflight: Array<Fetch | undefined> = new Array<Fetch | undefined>(keys.length).fill(undefined);
  /** 1 per key id prefetched, admitted and not yet read. */
  let unusedPrefetched = new Uint8Array(keys.length);
  const heap: Fetch[] = [];
  const demandQueue: Fetch[] = [];
  const prefetchQueue: Fetch[] = [];
  let demandHead = 0;
  let prefetchHead = 0;
  let busy = 0;
  const counts = { hits: 0, inflight: 0, demandFetches: 0, prefetchFetches: 0, prefetchUsed: 0, latencies };

  let started = 0;
  const newFetch = (key: string, id: number, purpose: Fetch['purpose'], waiters: number[]): Fetch =>
    ({ key, id, purpose, doneAt: NaN, waiters, isUsed: false, isStarted: false, seq: 0, riders: undefined });
  const start = (f: Fetch, now: number): void => {
    busy++;
    f.isStarted = true;
    f.seq = started++;
    f.doneAt = now + options.latency(options.random);
    for (const r of f.riders ?? []) {
      r.isStarted = true;
      r.doneAt = f.doneAt;
    }
    heapPush(heap, f);
  };
  /** Sends `f` (with its riders) now, or queues it behind the round trips in flight. */
  const send = (f: Fetch, now: number): void => {
    if (busy < options.concurrency) start(f, now);
    else (f.purpose === 'demand' ? demandQueue : prefetchQueue).push(f);
  };
  const track = (f: Fetch): void => {
    inflight[f.id] = f;
    if (f.purpose === 'demand') counts.demandFetches++;
    else counts.prefetchFetches++;
  };
  const settle = (f: Fetch): void => {
    inflight[f.id] = undefined;
    for (const w of f.waiters) latencies[w] = f.doneAt - arrivalMs[w];
    if (f.purpose === 'prefetch' && f.waiters.length === 0) {
      if (policy.prefetched(f.key)) unusedPrefetched[f.id] = 1;
    }
  };
  const complete = (f: Fetch): void => {
    busy--;
    settle(f);
    for (const r of f.riders ?? []) settle(r);
    while (busy < options.concurrency) {
      let next: Fetch | undefined;
      while (next === undefined && demandHead < demandQueue.length) {
        const candidate = demandQueue[demandHead++];
        if (!candidate.isStarted) next = candidate;
      }
      while (next === undefined && prefetchHead < prefetchQueue.length) {
        const candidate = prefetchQueue[prefetchHead++];
        if (!candidate.isStarted) next = candidate;
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
    const id = keyIds[i];
    const key = keys[id];
    const sid = sessionIds[i];
    const running = inflight[id];
    const access = policy.access({ key, session: sid < 0 ? undefined : sessions[sid], index: i });
    if (running !== undefined) {
      counts.inflight++;
      running.waiters.push(i);
      if (running.purpose === 'prefetch' && !running.isUsed) {
        running.isUsed = true;
        counts.prefetchUsed++;
      }
    } else if (access.decision === 'hit') {
      counts.hits++;
      latencies[i] = 0;
      if (unusedPrefetched[id] === 1) {
        unusedPrefetched[id] = 0;
        counts.prefetchUsed++;
      }
    } else {
      unusedPrefetched[id] = 0;
      const f = newFetch(key, id, 'demand', [i]);
      track(f);
      send(f, now);
    }
    // A prefetched key's id without the map when it can be guessed: the key after the previous one (readahead's
    // k+1, k+2 ... of a block range met in order) or the next request's key (the oracle's guess without sessions).
    let previous = id;
    let carrier: Fetch | undefined;
    for (const p of access.prefetch) {
      const guess = previous + 1;
      const pid = guess < keys.length && keys[guess] === p ? guess : i + 1 < n && keys[keyIds[i + 1]] === p ? keyIds[i + 1] : ids.of(p);
      previous = pid;
      if (pid >= inflight.length) {
        // A key outside the workload: the per-id state grows to its id.
        while (inflight.length <= pid) inflight.push(undefined);
        if (pid >= unusedPrefetched.length) {
          const grown = new Uint8Array(Math.max(pid + 1, unusedPrefetched.length * 2));
          grown.set(unusedPrefetched);
          unusedPrefetched = grown;
        }
      }
      if (inflight[pid] !== undefined) continue;
      const f = newFetch(p, pid, 'prefetch', []);
      track(f);
      if (carrier === undefined) carrier = f;
      else (carrier.riders ??= []).push(f);
    }
    if (carrier !== undefined) send(carrier, now);
    if ((i & 0xffff) === 0xffff) options.onProgress?.(i + 1);
  }
  while (heap.length > 0) complete(heapPop(heap));
  options.onProgress?.(n);
  return counts;
}

/** Each workload's key -> id map, built on first need and shared by the runs over it. */
const workloadIds = new WeakMap<Workload, Map<string, number>>();

/**
 * Ids of the keys a policy prefetches: a workload key's own id, and for a key outside the workload an id after the
 * workload's, the same for the whole run. The workload's map is built only when a policy first prefetches.
 */
export class KeyIds {
  readonly #workload: Workload;
  #known: Map<string, number> | undefined = undefined;
  readonly #extra = new Map<string, number>();

  constructor(workload: Workload) {
    this.#workload = workload;
  }

  /** The id of `key`. */
  of(key: string): number {
    let known = this.#known;
    if (known === undefined) {
      known = workloadIds.get(this.#workload);
      if (known === undefined) {
        const keys = this.#workload.keys;
        known = new Map<string, number>();
        for (let i = 0; i < keys.length; i++) known.set(keys[i], i);
        workloadIds.set(this.#workload, known);
      }
      this.#known = known;
    }
    const id = known.get(key);
    if (id !== undefined) return id;
    let extra = this.#extra.get(key);
    if (extra === undefined) {
      extra = this.#workload.keys.length + this.#extra.size;
      this.#extra.set(key, extra);
    }
    return extra;
  }
}

/** Whether `a` completes before `b`: earlier, or at the same instant and started first. */
function before(a: Fetch, b: Fetch): boolean {
  return a.doneAt < b.doneAt || (a.doneAt === b.doneAt && a.seq < b.seq);
}

function heapPush(heap: Fetch[], f: Fetch): void {
  heap.push(f);
  let i = heap.length - 1;
  while (i > 0) {
    const p = (i - 1) >> 1;
    if (!before(f, heap[p])) break;
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
      const c = r < heap.length && before(heap[r], heap[l]) ? r : l;
      if (!before(heap[c], last)) break;
      heap[i] = heap[c];
      i = c;
    }
    heap[i] = last;
  }
  return top;
}
