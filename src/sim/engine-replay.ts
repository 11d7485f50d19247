/**
 * Engine replay: drives the real Cache — memory tier, loader, predictor, prefetch scheduler — over a Workload on a
 * VirtualClock, against a SimOrigin. This is not a model of the engine: it is the engine, with time virtual.
 *
 * Each request arrives at its virtual time: the clock moves there, firing due timers (prefetch completions, buffer
 * drains) one instant at a time and letting promise continuations settle after each, then the read is issued and
 * its latency is the virtual time at which its promise resolves minus its arrival. Entries are unit-size
 * (`sizeOf = 1`), so `capacity` counts entries like the baselines'.
 */
import { Cache } from '../cache/cache.ts';
import type { CachePrefetchOptions } from '../cache/cache-options.ts';
import { VirtualClock } from '../clock.ts';
import type { ReadContext } from '../context.ts';
import type { Predictor } from '../predict/predictor.ts';
import type { Random } from './seeded-random.ts';
import type { RunCounts } from './sim-result.ts';
import { SimOrigin } from './sim-origin.ts';
import type { Workload } from './workload.ts';

export type EngineRunOptions = {
  readonly capacity: number;
  /** A fresh predictor for the run; undefined runs the cache without prediction (the tinylfu policy). */
  readonly predictor?: Predictor;
  readonly prefetch?: CachePrefetchOptions;
  /** Memory-tier tuning (prefetch share, window). */
  readonly memory?: { readonly prefetchFraction?: number; readonly initialWindowFraction?: number; readonly adaptive?: boolean };
  readonly latency: (random: Random) => number;
  readonly random: Random;
  readonly concurrency: number;
  readonly seed: number;
  /**
   * Told every 16,384 requests; a promise it returns is awaited (the caller's chance to let the event loop turn: a
   * Ctrl-C is only heard then, and the replay itself turns only microtasks).
   */
  readonly onProgress?: (done: number) => void | Promise<void>;
};

/** Replays `workload` through a fresh Cache; resolves with raw counts and per-request latencies. */
export async function replayEngine(workload: Workload, options: EngineRunOptions): Promise<RunCounts> {
  const clock = new VirtualClock(0);
  const origin = new SimOrigin<string>({ clock, latencyMs: options.latency, concurrency: options.concurrency, random: options.random });
  const cache = new Cache<string>({
    origin,
    clock,
    maxBytes: options.capacity,
    maxEntryBytes: 1,
    sizeOf: () => 1,
    ttlMs: Infinity,
    predictor: options.predictor,
    prefetch: options.prefetch ?? {},
    memory: { ...options.memory, seed: options.seed },
  });
  const { keys, keyIds, sessionIds, userIds, arrivalMs } = workload;
  const n = workload.requests;
  const latencies = new Float64Array(n);
  const ctxOf = contextTable(workload);
  const counts: RunCounts = { hits: 0, inflight: 0, demandFetches: 0, prefetchFetches: 0, prefetchIssued: 0, prefetchUsed: 0, peakEntries: 0, latencies };
  let failures = 0;

  for (let i = 0; i < n; i++) {
    const now = arrivalMs[i];
    // No timer due before this arrival (the common case): move the clock and take the one microtask turn that
    // awaiting runTimersUntil would take, without the async call (same order of continuations, same results).
    const due = clock.nextTimerAt();
    if (due === undefined || due > now) {
      clock.advanceTo(now);
      await null;
    } else {
      // runTimersUntil(clock, now) written out: the same instants and drains, without an async call per arrival
      // (its last turn, after the last drain, found the microtask queue empty, so dropping it reorders nothing).
      for (let next: number | undefined = due; next !== undefined && next <= now; next = clock.nextTimerAt()) {
        clock.advanceTo(next);
        await drainMicrotasks();
      }
      clock.advanceTo(now);
    }
    const key = keys[keyIds[i]];
    const ctx = ctxOf(sessionIds[i], userIds[i]);
    // A hit is answered synchronously; only a miss needs promise continuations to run before time moves on.
    const read = cache.read(key, ctx);
    const isHit = !(read instanceof Promise);
    if (isHit) {
      counts.hits++;
      latencies[i] = 0;
    } else {
      const index = i;
      read.then(
        (r) => {
          latencies[index] = clock.now() - now;
          if (r.status === 'hit' || r.status === 'prefetched' || r.status === 'stale') counts.hits++;
          else if (r.wasInflight) counts.inflight++;
        },
        () => {
          failures++;
          latencies[index] = clock.now() - now;
        },
      );
    }
    // Feed the models now (the timer-driven drain would run at this same virtual instant), then let any fetch it
    // or the read started reach the origin before time moves on — a hit on a prefetched entry starts fetches too
    // (its use refills the prefetch budget, and the scheduler sends what waited for it).
    if (!isHit) await loaderTurn();
    cache.flush();
    if (cache.hasUnsentFetches) await loaderTurn();
    if ((i & 0x3fff) === 0x3fff) {
      const turn = options.onProgress?.(i + 1);
      if (turn !== undefined) await turn;
    }
  }
  await runTimersUntil(clock, Infinity);
  const stats = cache.stats();
  const o = origin.stats();
  counts.demandFetches = o.demandKeys;
  counts.prefetchFetches = o.prefetchKeys;
  counts.prefetchIssued = stats.prefetch.issued;
  counts.prefetchUsed = stats.prefetch.used;
  counts.peakEntries = Number(stats.memory.extra?.peakBytes ?? stats.memory.entries);
  await cache.close();
  options.onProgress?.(n);
  if (failures > 0) throw new Error(`engine replay: ${failures} reads failed against a simulated origin that never fails`);
  return counts;
}

/**
 * Resolves after the microtasks queued so far: the Loader sends a batch from a microtask queued when its first key
 * was loaded, so one turn later every fetch a read or a prefetch started has reached the origin (and set its timer).
 * Far cheaper than a macrotask boundary, which only timers need (their continuations chain several promises).
 */
function loaderTurn(): Promise<void> {
  return new Promise((resolve) => queueMicrotask(resolve));
}

/**
 * Resolves once the microtask queue is empty: every continuation the timers just fired queued, and every one those
 * queued, has run. Node runs `process.nextTick` callbacks only after the microtask queue drains, so this is the
 * guarantee of a macrotask boundary (`flushMicrotasks`) without a turn of the event loop, which cost ~1.6 µs per timer
 * instant and was a fifth of a replay's time. (The engine schedules nothing through nextTick itself.)
 */
function drainMicrotasks(): Promise<void> {
  return new Promise((resolve) => process.nextTick(resolve));
}

/** Fires every timer due up to `t`, one instant at a time, letting promise continuations run after each. */
async function runTimersUntil(clock: VirtualClock, t: number): Promise<void> {
  for (;;) {
    const next = clock.nextTimerAt();
    if (next === undefined || next > t) break;
    clock.advanceTo(next);
    await drainMicrotasks();
  }
  if (Number.isFinite(t)) clock.advanceTo(t);
}

/**
 * One frozen context object per (session, user) pair, made once, so reads allocate none. A session's last context is
 * kept by session; a session whose user changes (a login mid-session) gets the pair's own.
 */
function contextTable(workload: Workload): (sessionId: number, userId: number) => ReadContext {
  const bySession: Array<ReadContext | undefined> = new Array(workload.sessions.length);
  const byPair = new Map<number, ReadContext>();
  const byUser: Array<ReadContext | undefined> = new Array(workload.users.length);
  const anonymous: ReadContext = Object.freeze({});
  return (sid, uid) => {
    if (sid >= 0) {
      let ctx = bySession[sid];
      const user = uid >= 0 ? workload.users[uid] : undefined;
      if (ctx === undefined || ctx.user !== user) {
        const pair = sid * (workload.users.length + 1) + uid + 1;
        ctx = byPair.get(pair);
        if (ctx === undefined) {
          ctx = Object.freeze(user !== undefined ? { session: workload.sessions[sid], user } : { session: workload.sessions[sid] });
          byPair.set(pair, ctx);
        }
        bySession[sid] = ctx;
      }
      return ctx;
    }
    if (uid >= 0) {
      let ctx = byUser[uid];
      if (ctx === undefined) {
        ctx = Object.freeze({ user: workload.users[uid] });
        byUser[uid] = ctx;
      }
      return ctx;
    }
    return anonymous;
  };
}
