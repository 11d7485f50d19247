/**
 * A seeded, model-based fuzz test of the Cache: random sequences of reads (get, getMany, getIfPresent, peek, bursts of
 * concurrent reads of one key), writes (write-through sets with versions, local sets, deletes, invalidations by keys,
 * prefix and tag), origin-side changes (newer versions, deletes, failures for a while) and clock advances across the
 * stale, expiry and grace points, on a VirtualClock, with and without a predictor, in a memory tier small enough to
 * evict all the time. A reference model of what the docs promise is checked after every step.
 *
 * Replay one seed with `FUZZ_SEED=<seed> node --import tsx --test test/cache/cache-model-fuzz.test.ts`; the first
 * failure prints its seed, configuration and operation log. `FUZZ_SEEDS` and `FUZZ_OPS` change the run's size.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Cache } from '../../src/cache/cache.ts';
import type { ReadResult } from '../../src/cache/cache-results.ts';
import { flushMicrotasks, VirtualClock } from '../../src/clock.ts';
import type { ReadContext } from '../../src/context.ts';
import type { FetchOptions, Origin, OriginRecord } from '../../src/origin/origin.ts';
import { EnsemblePredictor } from '../../src/predict/ensemble-predictor.ts';
import { seededRandom, type Random } from '../../src/sim/seeded-random.ts';
import { CyclicPredictor } from '../doubles/cyclic-predictor.ts';

const seeds = Number(process.env.FUZZ_SEEDS ?? 200);
const opsPerSeed = Number(process.env.FUZZ_OPS ?? 300);
const onlySeed = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);

/** The key universe: two prefixes (for prefix invalidation) read as one cycle (for the cyclic predictor). */
const KEYS: readonly string[] = [...Array.from({ length: 10 }, (_, i) => `a:${i}`), ...Array.from({ length: 10 }, (_, i) => `b:${i}`)];
const PREFIXES = ['a:', 'b:', 'a:1', 'b:'];
const TAGS = ['t1', 't2'];
const TTL_MS = 1000;

type Call = { readonly id: number; readonly keys: readonly string[]; readonly purpose: string; readonly sentAt: number; readonly seq: number; settled: boolean; failed: boolean };

/** A versioned in-memory origin on the virtual clock: answers after `latencyMs`, snapshotting at call time; fails while told to. */
class FuzzOrigin implements Origin<string> {
  readonly records = new Map<string, { value: string; version: number } | undefined>();
  /** Every version a key ever had at the origin, with when it appeared (a tombstone is version -1). */
  readonly history = new Map<string, Array<{ at: number; seq: number; version: number }>>();
  readonly calls: Call[] = [];
  readonly #clock: VirtualClock;
  readonly #seq: () => number;
  latencyMs: number;
  failUntil = -1;
  #nextVersion = new Map<string, number>();

  constructor(clock: VirtualClock, latencyMs: number, seq: () => number) {
    this.#clock = clock;
    this.latencyMs = latencyMs;
    this.#seq = seq;
  }

  nextVersion(key: string): number {
    const v = (this.#nextVersion.get(key) ?? 0) + 1;
    this.#nextVersion.set(key, v);
    return v;
  }

  put(key: string, value: string, version: number): void {
    this.records.set(key, { value, version });
    this.#note(key, version);
  }

  remove(key: string): void {
    this.records.set(key, undefined);
    this.#note(key, -1);
  }

  #note(key: string, version: number): void {
    let h = this.history.get(key);
    if (h === undefined) this.history.set(key, (h = []));
    h.push({ at: this.#clock.now(), seq: this.#seq(), version });
  }

  /** The version the origin held for `key` at time `at` (0 absent). */
  versionAt(key: string, at: number): number {
    let v = 0;
    for (const h of this.history.get(key) ?? []) if (h.at <= at) v = Math.max(0, h.version);
    return v;
  }

  /** True when the key was absent at the origin at some moment between the events numbered `fromSeq` and `toSeq`. */
  wasAbsentDuring(key: string, fromSeq: number, toSeq: number): boolean {
    const h = this.history.get(key) ?? [];
    let cur = 0;
    for (const e of h) if (e.seq <= fromSeq) cur = e.version;
    if (cur <= 0) return true;
    return h.some((e) => e.seq > fromSeq && e.seq <= toSeq && e.version < 0);
  }

  /** The seq of the last change of `key` made at or before time `at`. */
  seqAt(key: string, at: number): number {
    let s = 0;
    for (const e of this.history.get(key) ?? []) if (e.at <= at) s = e.seq;
    return s;
  }

  current(key: string): number {
    return this.records.get(key)?.version ?? 0;
  }

  getMany(keys: readonly string[], options?: FetchOptions): Promise<Array<OriginRecord<string> | undefined>> {
    const call: Call = { id: this.calls.length, keys: [...keys], purpose: options?.purpose ?? 'demand', sentAt: this.#clock.now(), seq: this.#seq(), settled: false, failed: false };
    this.calls.push(call);
    const snapshot = keys.map((k) => {
      const r = this.records.get(k);
      return r === undefined ? undefined : { key: k, value: r.value, version: r.version };
    });
    const isFailing = this.#clock.now() < this.failUntil;
    return new Promise((resolve, reject) => {
      this.#clock.setTimer(this.latencyMs, () => {
        call.settled = true;
        call.failed = isFailing;
        if (isFailing) reject(new Error('origin down'));
        else resolve(snapshot);
      });
    });
  }
}

type Config = {
  readonly predictor: 'none' | 'cyclic' | 'ensemble';
  readonly maxBytes: number;
  readonly staleAfterMs: number | undefined;
  readonly graceMs: number;
  readonly latencyMs: number;
  /** Reads carry a user too (so shadow catalogs serve some of them). */
  readonly users: boolean;
};

type Snapshot = { version: number; value: string; staleAt: number; expiresAt: number; createdAt: number; source: string; hits: number } | undefined;

type ReadRecord = {
  readonly op: number;
  readonly kind: string;
  readonly key: string;
  readonly startSeq: number;
  readonly startAt: number;
  readonly peek: Snapshot;
  readonly wtFloor: number;
  readonly wtAckSeq: number;
  readonly originVersion: number;
  readonly burst?: number;
  /** The reader's shadow catalog item for the key at the start, when the read names a user. */
  readonly shadow: { version: number; isStale: boolean; fetchedAt: number } | undefined;
};

class Failure extends Error {}

async function runSeed(seed: number, opCount: number): Promise<void> {
  const random: Random = seededRandom(seed);
  const int = (n: number): number => Math.floor(random() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];
  const chance = (p: number): boolean => random() < p;

  const config: Config = {
    predictor: pick(['none', 'cyclic', 'cyclic', 'ensemble'] as const),
    maxBytes: pick([400, 800, 2500]),
    staleAfterMs: pick([undefined, 500]),
    graceMs: pick([0, 1500]),
    latencyMs: pick([0, 5, 20, 20, 150]),
    users: chance(0.4),
  };
  const log: string[] = [];
  let seqCounter = 0;
  const seq = (): number => ++seqCounter;
  const clock = new VirtualClock(1_000_000);
  const origin = new FuzzOrigin(clock, config.latencyMs, seq);
  for (const key of KEYS) if (key !== 'b:9') origin.put(key, `${key}|o${origin.nextVersion(key)}`, 1);
  const faults: unknown[] = [];
  const predictor = config.predictor === 'cyclic' ? new CyclicPredictor(KEYS) : config.predictor === 'ensemble' ? new EnsemblePredictor() : undefined;
  const cache = new Cache<string>({
    origin,
    clock,
    maxBytes: config.maxBytes,
    // 60 to 140 bytes an entry: a handful of entries fit.
    sizeOf: (value, key) => 40 + key.length * 4 + (value.length % 7) * 10,
    ttlMs: TTL_MS,
    staleAfterMs: config.staleAfterMs,
    graceMs: config.graceMs,
    predictor,
    prefetch: predictor === undefined ? undefined : { maxExtraLoad: 3, minProbability: 0.01 },
    onFault: (fault) => faults.push(fault),
  });

  let firstFailure: Failure | undefined;
  const fail = (message: string): never => {
    firstFailure ??= new Failure(`seed ${seed} (${JSON.stringify(config)}): ${message}\n--- operation log (${log.length} ops) ---\n${log.slice(-60).join('\n')}`);
    throw firstFailure;
  };

  // --- the reference model ---
  /** key → highest version of an acknowledged write-through set (the origin holds it too). */
  const wtFloor = new Map<string, { version: number; ackSeq: number }>();
  /** local (cache-only) value → the seq at which a delete or invalidation acknowledged made it unservable. */
  const deadAt = new Map<string, number>();
  /** local value → { key, seq its set started, tags, acknowledged version }. */
  const localSets = new Map<string, { key: string; startSeq: number; tags: readonly string[]; version?: number }>();
  /** (key, version, value) seen in results, checked against what the origin and the sets produced at the end. */
  const observed: Array<{ key: string; version: number; value: string; op: number }> = [];
  const tally = { hit: 0, miss: 0, stale: 0, prefetched: 0, errors: 0, grace: 0 };
  const pending = new Set<Promise<unknown>>();
  let localCounter = 0;
  /** key → the last op that issued a set of it (a check made when an earlier write resolves must allow for it). */
  const lastSetOp = new Map<string, number>();
  let opIndex = 0;

  const snapshot = (key: string): Snapshot => {
    const e = cache.peek(key);
    return e === undefined ? undefined : { version: e.version, value: e.value, staleAt: e.staleAt, expiresAt: e.expiresAt, createdAt: e.createdAt, source: e.source, hits: e.hits };
  };

  const track = <T>(p: Promise<T>): void => {
    const wrapped: Promise<unknown> = p.then(() => pending.delete(wrapped), () => pending.delete(wrapped));
    pending.add(wrapped);
  };

  const shadowItem = (key: string, ctx: ReadContext): ReadRecord['shadow'] => {
    if (ctx.user === undefined) return undefined;
    const item = cache.shadow(ctx.user).find((i) => i.key === key);
    return item === undefined ? undefined : { version: item.version, isStale: item.isStale, fetchedAt: item.fetchedAt };
  };
  const startRead = (kind: string, key: string, ctx: ReadContext, burst?: number): ReadRecord => ({
    shadow: shadowItem(key, ctx),
    op: opIndex, kind, key, startSeq: seq(), startAt: clock.now(), peek: snapshot(key), wtFloor: wtFloor.get(key)?.version ?? 0, wtAckSeq: wtFloor.get(key)?.ackSeq ?? 0, originVersion: origin.versionAt(key, clock.now()), burst,
  });

  /** Checks one read's result against the model (status, versions, deletes). */
  const checkResult = (r: ReadRecord, result: ReadResult<string>, settledAt: number): void => {
    const settleSeq = seq();
    const where = `op ${r.op} ${r.kind}(${r.key}) -> ${result.status} v${result.version} ${JSON.stringify(result.value)}${result.error ? ' error' : ''}${result.wasInflight ? ' inflight' : ''}`;
    if (result.key !== r.key) fail(`${where}: result for another key`);
    tally[result.status]++;
    if (result.error !== undefined) tally.grace++;
    if (result.isFound) observed.push({ key: r.key, version: result.version, value: result.value as string, op: r.op });
    else if (result.value !== undefined || result.version !== 0) fail(`${where}: not found but carries a value or version`);
    const p = r.peek;
    const now0 = r.startAt;
    if (result.servedFrom === 'shadow') {
      if (result.status !== 'hit' && result.status !== 'prefetched') fail(`${where}: served from a catalog as ${result.status}`);
      if (r.shadow === undefined) fail(`${where}: served from a catalog that did not list the key`);
      else if (r.shadow.version !== result.version) fail(`${where}: served from a catalog listing v${r.shadow.version}`);
    } else switch (result.status) {
      case 'hit':
        if (p === undefined || !(now0 < p.staleAt && now0 < p.expiresAt)) fail(`${where}: a hit without a fresh entry held at the read's start (${JSON.stringify(p)}, now ${now0})`);
        else if (p.version !== result.version || p.value !== result.value) fail(`${where}: a hit serving another version than the one held (${JSON.stringify(p)})`);
        else if (p.source === 'prefetch' && p.hits === 0 && r.kind !== 'getMany-again') fail(`${where}: first read of an unused prefetch reported as a plain hit`);
        break;
      case 'prefetched':
        if (p === undefined || p.source !== 'prefetch' || p.hits !== 0 || !(now0 < p.staleAt)) fail(`${where}: 'prefetched' without an unused fresh prefetched entry held (${JSON.stringify(p)})`);
        else if (p.version !== result.version) fail(`${where}: 'prefetched' serving another version than the one held`);
        else if (!origin.calls.some((c) => c.purpose === 'prefetch' && c.keys.includes(r.key))) fail(`${where}: 'prefetched' but no prefetch ever fetched the key`);
        break;
      case 'stale':
        if (result.error === undefined) {
          if (p === undefined || !(p.staleAt <= now0 && now0 < p.expiresAt)) fail(`${where}: 'stale' without a stale, unexpired entry held (${JSON.stringify(p)}, now ${now0})`);
          else if (p.version !== result.version) fail(`${where}: 'stale' serving another version than the one held`);
        } else {
          // The entry standing in is the memory tier's, or the reader's catalog's (which may outlive the tier's copy).
          const expiresAt = p?.version === result.version ? p.expiresAt : r.shadow?.version === result.version ? r.shadow.fetchedAt + TTL_MS : undefined;
          if (expiresAt === undefined) fail(`${where}: grace answer without that entry held at the start (${JSON.stringify(p)}, catalog ${JSON.stringify(r.shadow)})`);
          else if (!(settledAt < expiresAt + config.graceMs)) fail(`${where}: grace answer past expiry + graceMs (settled ${settledAt}, expires ${expiresAt})`);
          if (!origin.calls.some((c) => c.failed && c.keys.includes(r.key))) fail(`${where}: grace answer with no origin failure for the key`);
          if (result.error.code !== 'ERR_ORIGIN_FAILED') fail(`${where}: grace error code ${result.error.code}`);
        }
        break;
      case 'miss':
        // (A reader's catalog refreshes a stale item before serving it: a miss, documented.)
        if (p !== undefined && now0 < p.expiresAt && r.kind !== 'getMany-later' && r.shadow?.isStale !== true) fail(`${where}: a miss while an unexpired entry was held (${JSON.stringify(p)}, now ${now0})`);
        if (!result.wasInflight) {
          if (result.isFound && result.version < r.originVersion) fail(`${where}: a fresh load older than the origin's version at the read's start (v${r.originVersion})`);
          if (!result.isFound && !origin.wasAbsentDuring(r.key, r.startSeq, settleSeq)) fail(`${where}: not found though the origin held the key throughout`);
        }
        break;
      default:
        fail(`${where}: unknown status`);
    }
    // Never older than an acknowledged write-through set made before the read began.
    // (A local set made after it may take a lower version: the latest write is then that one, and may be served.)
    const laterLocal = result.isFound && (localSets.get(result.value as string)?.startSeq ?? 0) > r.wtAckSeq;
    if (r.wtFloor > 0 && !laterLocal && (result.isFound ? result.version < r.wtFloor : !origin.wasAbsentDuring(r.key, r.startSeq, settleSeq))) fail(`${where}: older than the write-through set v${r.wtFloor} acknowledged before the read`);
    // Never a local value a delete or invalidation acknowledged before the read began.
    if (result.isFound) {
      const dead = deadAt.get(result.value as string);
      if (dead !== undefined && dead < r.startSeq) fail(`${where}: serves a value deleted/invalidated (at seq ${dead}) before the read began (seq ${r.startSeq})`);
    }
    // Served within its time to live (grace: plus graceMs) of what the origin held, for values the origin produced.
    if (result.isFound && !localSets.has(result.value as string)) {
      const horizon = TTL_MS + config.latencyMs + (result.error === undefined ? 0 : config.graceMs);
      const min = origin.versionAt(r.key, now0 - horizon - 1);
      if (result.version < min && !origin.wasAbsentDuring(r.key, origin.seqAt(r.key, now0 - horizon - 1), r.startSeq)) fail(`${where}: older than the origin's version ${min} of ${horizon} ms before the read`);
    }
  };

  const onRejected = (r: ReadRecord, error: unknown, settledAt: number): void => {
    tally.errors++;
    const code = (error as { code?: string }).code;
    const where = `op ${r.op} ${r.kind}(${r.key}) rejected ${code}`;
    if (code !== 'ERR_ORIGIN_FAILED') fail(`${where}: unexpected error ${String(error)}`);
    if (!origin.calls.some((c) => c.failed && c.keys.includes(r.key))) fail(`${where}: rejected with no origin failure for the key`);
    const p = r.peek;
    if (p !== undefined && settledAt < p.expiresAt + config.graceMs && config.graceMs > 0) fail(`${where}: rejected while an entry within grace was held at the start (${JSON.stringify(p)}, settled ${settledAt})`);
  };

  const issueGet = (key: string, ctx: ReadContext, burst?: number): Promise<ReadResult<string> | undefined> => {
    const r = startRead('get', key, ctx, burst);
    const p = cache.get(key, ctx).then(
      (result) => {
        checkResult(r, result, clock.now());
        return result;
      },
      (error: unknown) => {
        if (error instanceof Failure) throw error;
        onRejected(r, error, clock.now());
        return undefined;
      },
    );
    track(p);
    return p;
  };

  const issueGetMany = (keys: string[], ctx: ReadContext): void => {
    // getMany is Promise.all of gets: one rejection rejects it, so each key's result is checked through a peek per key.
    // A key named twice is read twice in a row: the second read sees what the first did (a prefetch's first use).
    // A later key's entry may be evicted by an earlier key's miss (the prefetch region's share adapts on a miss):
    // its snapshot then overstates what was held.
    const records = keys.map((k, i) => startRead(keys.indexOf(k) < i ? 'getMany-again' : i > 0 ? 'getMany-later' : 'getMany', k, ctx));
    const p = cache.getMany(keys, ctx).then(
      (results) => {
        if (results.length !== keys.length) fail(`op ${records[0].op} getMany: ${results.length} results for ${keys.length} keys`);
        results.forEach((res, i) => checkResult(records[i], res, clock.now()));
      },
      (error: unknown) => {
        if (error instanceof Failure) throw error;
        // The results of the keys that did not fail are lost to us: reconcile the tallies with stats() at the end instead.
        getManyRejections++;
        if ((error as { code?: string }).code !== 'ERR_ORIGIN_FAILED') fail(`op ${records[0].op} getMany rejected: ${String(error)}`);
      },
    );
    track(p);
  };
  let getManyRejections = 0;

  // Sessions read along the cycle most of the time, so the predictors have something to learn.
  const cursor = new Map<string, number>([['s1', 0], ['s2', 7]]);
  const nextKey = (session: string): string => {
    if (chance(0.3)) return pick(KEYS);
    const i = ((cursor.get(session) ?? 0) + 1) % KEYS.length;
    cursor.set(session, i);
    return KEYS[i];
  };
  const ctxOf = (session: string): ReadContext => (chance(0.1) ? {} : config.users && chance(0.6) ? { session, user: session === 's1' ? 'u1' : 'u2' } : { session });

  const checkQuiet = (where: string): void => {
    const s = cache.stats();
    if (s.memory.bytes > config.maxBytes) fail(`${where}: memory tier holds ${s.memory.bytes} bytes > maxBytes ${config.maxBytes}`);
    if (Number(s.memory.extra?.peakBytes ?? 0) > config.maxBytes) fail(`${where}: peakBytes ${s.memory.extra?.peakBytes} > maxBytes`);
    if (faults.length > 0) fail(`${where}: onFault heard ${JSON.stringify(faults.map((f) => ({ kind: (f as { kind: string }).kind, error: String((f as { error: unknown }).error) })))}`);
    if (s.internalErrors !== 0 || s.modelErrors !== 0) fail(`${where}: internalErrors ${s.internalErrors}, modelErrors ${s.modelErrors}`);
  };

  /** Stats consistency, once nothing is in flight: every read counted once by status, every origin key and batch counted. */
  const checkStats = (where: string): void => {
    const s = cache.stats();
    const calls = origin.calls;
    const demand = calls.filter((c) => c.purpose === 'demand');
    const prefetch = calls.filter((c) => c.purpose === 'prefetch');
    const keysOf = (cs: Call[]): number => cs.reduce((n, c) => n + c.keys.length, 0);
    if (s.origin.demandBatches !== demand.length || s.origin.prefetchBatches !== prefetch.length) fail(`${where}: origin batches ${s.origin.demandBatches}/${s.origin.prefetchBatches}, origin saw ${demand.length}/${prefetch.length}`);
    if (s.origin.demandKeys !== keysOf(demand) || s.origin.prefetchKeys !== keysOf(prefetch)) fail(`${where}: origin keys ${s.origin.demandKeys}/${s.origin.prefetchKeys}, origin saw ${keysOf(demand)}/${keysOf(prefetch)}`);
    if (s.origin.failedBatches !== calls.filter((c) => c.failed).length) fail(`${where}: failedBatches ${s.origin.failedBatches}, origin failed ${calls.filter((c) => c.failed).length}`);
    if (s.origin.inflight !== 0 || cache.pendingFetches !== 0) fail(`${where}: ${s.origin.inflight} fetches in flight at quiescence`);
    if (getManyRejections === 0 ? s.graceServed !== tally.grace : s.graceServed < tally.grace) fail(`${where}: graceServed ${s.graceServed}, results with an error ${tally.grace}`);
    if (getManyRejections === 0) {
      for (const status of ['hit', 'miss', 'stale', 'prefetched'] as const) {
        if (s.reads[status] !== tally[status]) fail(`${where}: stats().reads.${status} ${s.reads[status]}, results ${tally[status]} (${JSON.stringify(s.reads)} vs ${JSON.stringify(tally)})`);
      }
      if (s.readErrors !== tally.errors) fail(`${where}: readErrors ${s.readErrors}, rejected reads ${tally.errors}`);
    } else {
      const counted = s.reads.hit + s.reads.miss + s.reads.stale + s.reads.prefetched + s.readErrors;
      const seen = tally.hit + tally.miss + tally.stale + tally.prefetched + tally.errors;
      if (counted < seen) fail(`${where}: stats count ${counted} reads, results saw ${seen}`);
    }
  };

  const settleAll = async (where: string): Promise<void> => {
    for (let i = 0; i < 40 && (pending.size > 0 || cache.pendingFetches > 0 || cache.hasUnsentFetches || origin.calls.some((c) => !c.settled)); i++) {
      await clock.advanceAsync(config.latencyMs + 1);
    }
    if (pending.size > 0 || cache.pendingFetches > 0) fail(`${where}: ${pending.size} operations and ${cache.pendingFetches} fetches never settled (hang)`);
  };

  for (opIndex = 0; opIndex < opCount; opIndex++) {
    const session = chance(0.5) ? 's1' : 's2';
    const roll = random();
    let line = '';
    if (roll < 0.28) {
      const key = nextKey(session);
      const ctx = ctxOf(session);
      line = `get ${key} ${JSON.stringify(ctx)}`;
      void issueGet(key, ctx);
    } else if (roll < 0.34) {
      const keys = [nextKey(session), nextKey(session), pick(KEYS)];
      line = `getMany ${keys.join(',')}`;
      issueGetMany(keys, ctxOf(session));
    } else if (roll < 0.40) {
      const key = nextKey(session);
      const ctx = ctxOf(session);
      const r = startRead('getIfPresent', key, ctx);
      const inflightBefore = cache.pendingFetches;
      const result = cache.getIfPresent(key, ctx);
      line = `getIfPresent ${key} -> ${result === undefined ? 'undefined' : `${result.status} v${result.version}`}`;
      if (result === undefined) {
        if (r.peek !== undefined && r.startAt < r.peek.expiresAt && r.shadow?.isStale !== true) fail(`op ${opIndex} getIfPresent(${key}): undefined while an unexpired entry was held (${JSON.stringify(r.peek)})`);
        if (cache.pendingFetches !== inflightBefore) fail(`op ${opIndex} getIfPresent(${key}): started a load`);
      } else {
        if (result.status === 'miss') fail(`op ${opIndex} getIfPresent(${key}): answered a miss`);
        checkResult(r, result, clock.now());
      }
    } else if (roll < 0.43) {
      const key = pick(KEYS);
      const before = JSON.stringify([cache.stats().reads, cache.stats().memory.hits, cache.stats().memory.misses]);
      cache.peek(key);
      const after = JSON.stringify([cache.stats().reads, cache.stats().memory.hits, cache.stats().memory.misses]);
      line = `peek ${key}`;
      if (before !== after) fail(`op ${opIndex} peek(${key}) changed stats: ${before} -> ${after}`);
    } else if (roll < 0.48) {
      // Concurrent reads of one key in one tick: one origin load at most, and every read answers alike.
      const key = pick(KEYS);
      const n = 2 + int(5);
      const callsBefore = origin.calls.length;
      const peekBefore = snapshot(key);
      line = `burst ${key} x${n} (held ${JSON.stringify(peekBefore)})`;
      const reads = Array.from({ length: n }, () => issueGet(key, { session }, opIndex));
      if (chance(0.5)) issueGetMany([key, pick(KEYS)], { session });
      await flushMicrotasks();
      const loads = origin.calls.slice(callsBefore).filter((c) => c.keys.includes(key));
      if (loads.length > 1) fail(`op ${opIndex} burst(${key} x${n}): ${loads.length} origin loads in one tick`);
      if (loads.some((c) => c.keys.filter((k) => k === key).length > 1)) fail(`op ${opIndex} burst(${key}): key twice in one batch`);
      const burstOp = opIndex;
      track(Promise.all(reads).then((results) => {
        const found = results.filter((x): x is ReadResult<string> => x !== undefined);
        if (found.length > 0 && found.length !== results.length && found.some((x) => x.error === undefined)) fail(`op ${burstOp} burst(${key}): some reads rejected, others answered fresh`);
        if (new Set(found.map((x) => `${x.version}|${x.value}`)).size > 1) fail(`op ${burstOp} burst(${key}): reads answered different versions ${found.map((x) => `${x.status} v${x.version}`).join(', ')}`);
      }));
    } else if (roll < 0.55) {
      // A write-through set: the origin takes the version first, then the cache; nothing older may be read afterwards.
      const key = pick(KEYS);
      const version = origin.nextVersion(key);
      const value = `${key}|w${version}`;
      const tags = chance(0.5) ? [pick(TAGS)] : [];
      origin.put(key, value, version);
      line = `set-through ${key} v${version} tags=${tags}`;
      const p = cache.set(key, value, { version, tags }).then(
        (entry) => {
          if (entry.version < version) fail(`op set-through(${key} v${version}) resolved with older v${entry.version}`);
          if (entry.version === version && entry.value !== value) fail(`op set-through(${key} v${version}) resolved with another value ${entry.value}`);
          if (version > (wtFloor.get(key)?.version ?? 0)) wtFloor.set(key, { version, ackSeq: seq() });
        },
        (error: unknown) => fail(`set-through(${key}) rejected: ${String(error)}`),
      );
      track(p);
    } else if (roll < 0.60) {
      // A local set, without a version (or with a small one): cache only.
      const key = pick(KEYS);
      const value = `${key}|L${++localCounter}`;
      const tags = chance(0.5) ? [pick(TAGS)] : [];
      const explicit = chance(0.25) ? 1 + int(4) : undefined;
      const info: { key: string; startSeq: number; tags: readonly string[]; version?: number } = { key, startSeq: seq(), tags };
      localSets.set(value, info);
      wtFloor.delete(key); // the latest write of the key is now this one, whatever version it takes
      line = `set-local ${key} ${value} version=${explicit} tags=${tags}`;
      const p = cache.set(key, value, explicit === undefined ? { tags } : { version: explicit, tags }).then(
        (entry) => {
          if (entry.value === value) info.version = entry.version;
          else if (!entry.value.startsWith(`${key}|`)) fail(`set-local(${key}) resolved with another key's entry ${entry.value}`);
          else if (explicit !== undefined && entry.version <= explicit) fail(`set-local(${key} v${explicit}) resolved with v${entry.version} not newer`);
          if (explicit !== undefined && entry.value === value && entry.version !== explicit) fail(`set-local(${key} v${explicit}) stored as v${entry.version}`);
        },
        (error: unknown) => fail(`set-local(${key}) rejected: ${String(error)}`),
      );
      track(p);
    } else if (roll < 0.65) {
      const key = pick(KEYS);
      const startSeq = seq();
      line = `delete ${key}`;
      const issuedAt = opIndex;
      const p = cache.delete(key).then((wasHeld) => {
        const ack = seq();
        for (const [value, info] of localSets) if (info.key === key && info.startSeq < startSeq && !deadAt.has(value)) deadAt.set(value, ack);
        if ((lastSetOp.get(key) ?? -1) < issuedAt && cache.peek(key) !== undefined) fail(`delete(${key}) resolved (${wasHeld}) but the memory tier still holds v${cache.peek(key)?.version}`);
      });
      track(p);
    } else if (roll < 0.70) {
      const which = int(3);
      const selector = which === 0 ? { keys: [pick(KEYS), pick(KEYS)] } : which === 1 ? { prefix: pick(PREFIXES) } : { tag: pick(TAGS) };
      const startSeq = seq();
      const matches = (key: string, tags: readonly string[]): boolean =>
        ('keys' in selector && selector.keys!.includes(key)) || ('prefix' in selector && key.startsWith(selector.prefix!)) || ('tag' in selector && tags.includes(selector.tag!));
      const heldMatching = KEYS.filter((k) => {
        const e = cache.peek(k);
        return e !== undefined && matches(k, e.tags);
      });
      line = `invalidate ${JSON.stringify(selector)} (held matching ${heldMatching.join(',')})`;
      const wasAlone = pending.size === 0;
      const issuedAt = opIndex;
      const p = cache.invalidate(selector).then((removed) => {
        const ack = seq();
        const isAlone = wasAlone && Math.max(-1, ...lastSetOp.values()) < issuedAt;
        for (const [value, info] of localSets) if (info.startSeq < startSeq && matches(info.key, info.tags) && !deadAt.has(value)) deadAt.set(value, ack);
        // Shadow catalogs may keep entries the memory tier evicted: those count as removed too.
        if (isAlone && (config.users ? removed < heldMatching.length : removed !== heldMatching.length)) fail(`invalidate(${JSON.stringify(selector)}) removed ${removed}, ${heldMatching.length} matching entries were held`);
        for (const k of heldMatching) {
          const e = cache.peek(k);
          if (isAlone && e !== undefined && matches(k, e.tags)) fail(`invalidate(${JSON.stringify(selector)}) resolved but ${k} v${e.version} is still held`);
        }
      });
      track(p);
    } else if (roll < 0.75) {
      const key = pick(KEYS);
      if (chance(0.15)) {
        origin.remove(key);
        line = `origin-delete ${key}`;
        wtFloor.delete(key);
      } else {
        const version = origin.nextVersion(key);
        origin.put(key, `${key}|o${version}`, version);
        line = `origin-update ${key} v${version}`;
      }
    } else if (roll < 0.765) {
      const ms = pick([20, 60, 300, 1200]);
      origin.failUntil = clock.now() + ms;
      line = `origin-fail for ${ms} ms`;
    } else {
      const ms = pick([0, 1, 1, config.latencyMs, config.latencyMs + 1, config.latencyMs + 1, 30, 100, 250, 499, 501, TTL_MS, TTL_MS + 1, 1600]);
      line = `advance ${ms}`;
      await clock.advanceAsync(ms);
    }
    log.push(`#${opIndex} t=${clock.now()} ${line}`);
    if (line.startsWith('set')) lastSetOp.set(line.split(' ')[1], opIndex);
    if (chance(0.5)) await flushMicrotasks();
    if (firstFailure !== undefined) throw firstFailure;
    checkQuiet(`op ${opIndex}`);
    // (`pendingFetches` counts a fetch a delete discarded; the origin double's own calls are checked too.)
    if (pending.size === 0 && cache.pendingFetches === 0 && !cache.hasUnsentFetches && origin.calls.every((c) => c.settled)) checkStats(`op ${opIndex}`);
  }
  await settleAll('end');
  if (firstFailure !== undefined) throw firstFailure;
  await clock.advanceAsync(1);
  await settleAll('end');
  checkQuiet('end');
  checkStats('end');
  // Every (key, version, value) served is one the origin or a set produced.
  for (const o of observed) {
    const local = localSets.get(o.value);
    if (local !== undefined) {
      if (local.key !== o.key) fail(`op ${o.op}: ${o.key} served another key's value ${o.value}`);
      if (local.version !== undefined && local.version !== o.version) fail(`op ${o.op}: ${o.key} served local ${o.value} as v${o.version}, set stored it as v${local.version}`);
      continue;
    }
    const [k, tagged] = o.value.split('|');
    const version = Number(tagged.slice(1));
    if (k !== o.key || version !== o.version) fail(`op ${o.op}: ${o.key} served ${o.value} as v${o.version}`);
  }
  if (process.env.FUZZ_DEBUG) {
    const st = cache.stats();
    console.error(`seed ${seed} ${config.predictor}: reads ${JSON.stringify(st.reads)} errors ${st.readErrors} grace ${st.graceServed} evictions ${st.memory.evictions} prefetchBatches ${st.origin.prefetchBatches} rej ${getManyRejections}`);
  }
  await cache.close();
  await settleAll('close');
  if (firstFailure !== undefined) throw firstFailure;
}

test(`the cache keeps its documented promises over ${onlySeed === undefined ? seeds : 1} random runs of ${opsPerSeed} operations`, async () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  try {
    const list = onlySeed === undefined ? Array.from({ length: seeds }, (_, i) => i + 1) : [onlySeed];
    for (const seed of list) {
      await runSeed(seed, opsPerSeed);
      await flushMicrotasks();
      if (unhandled.length > 0) assert.fail(`seed ${seed}: unhandled rejection ${String(unhandled[0])}`);
    }
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
});
