/**
 * Question: how fast is a cache HIT through Prescient, against a plain Map and lru-cache, in the same process on
 * the same keys? Every contender holds all 10,000 keys and replays the same seeded Zipf(0.99) sequence of 2M reads:
 *
 * - `Map.get` and `lru-cache get`: the floor and the baseline a Node service would use; lru-cache in the loop the
 *   prediction rows read in (yielding every 1,000 reads), their like-for-like baseline; and lru-cache behind an
 *   awaited promise, the cost any promise-returning get pays before doing anything.
 * - `MemoryTier.hit`: the W-TinyLFU tier alone (sketch update, recency, no promise), by the path the Cache's
 *   plain hits take (no Entry built; `get` builds one from the tier's columns).
 * - `Cache.get` without a predictor, awaited read by read, and in batches (1,000 gets, then Promise.all).
 * - the same under the prediction budget `prescient serve` runs with (the models' share of the thread capped at
 *   15%): what a loaded service gets, the models learning from the share of reads they have time for;
 * - `Cache.get` with prediction on (EnsemblePredictor, default prefetch), awaited read by read, yielding to the
 *   event loop every 1,000 reads (setImmediate) so the access buffer can drain; `accessBuffer.dropped` says
 *   whether the models kept up with the reads. Also without yielding at all: nothing drains, the buffer fills
 *   and drops, which isolates the cost the read path itself pays for recording accesses.
 * - `getIfPresent` with the models on a worker thread (WorkerPredictor): the request thread records a read only while
 *   the worker's queue has room (`Predictor.isBehind`), and the models use the second core.
 *
 * Each contender is warmed up (one untimed pass of 200,000 reads), then timed over the full sequence three times;
 * the median is reported. The benchmark reads real time (performance.now()); the caches use systemClock.
 * Target: hits with prediction on (getIfPresent, under the prediction budget) at least 0.5x lru-cache.
 *
 * Lookup keys (KEYS=same|fresh|built, default same). `same`: every read looks up the very string object stored, so
 * `Map` (and lru-cache, a Map inside) reuse the hash V8 cached in that string at its first lookup, where MemoryTier's own
 * index hashes every key in JavaScript (tenth session; it was a Map before);
 * the figures before this option are these. A server never does that: each request's key is a new string, hashed at
 * its first lookup. `fresh`: before every pass (warm-up included, untimed), each read gets its own new equal string,
 * made the way Fastify hands a route parameter over (find-my-way slices it out of the URL, which Node builds in C++):
 * a URL string copied through a Buffer, sliced past its path prefix. Every lookup in the loop is then the first hash
 * of its string, and the Map compares contents (a slice against the stored key) where `same` compares pointers.
 * `built`: the key is built in the loop from its id (`user:${id}:profile`, as an application calling a cache does):
 * a cons string, flattened and hashed at its lookup. All contenders get the same keys in every mode. Checked with
 * %DebugPrint: a fresh key is a sliced one-byte string, a built one a cons string; a Map's first lookups of fresh keys
 * ran at 0.5-0.7x its second lookups of the same strings. A flat copy (the Buffer round trip without the slice, as a
 * parsed JSON body or header gives) costs less than a slice at its first lookup and more than `same`.
 *
 * Run: node --import tsx bench/cache-throughput.ts [reads]   (reads defaults to 2,000,000)
 * Env: ONLY='part|part' (rows whose names contain a part), BEST=1 (best pass, not the median), ROUNDS=n (timed passes),
 * KEYS=same|fresh|built (above). With `node --expose-gc` a full collection runs before every pass, whatever KEYS, so
 * the garbage of the last pass's fresh keys is not collected inside a timed one.
 */
import { LRUCache } from 'lru-cache';
import { Cache } from '../src/cache/cache.ts';
import { createEntry } from '../src/cache/entry.ts';
import { MemoryTier } from '../src/cache/memory-tier.ts';
import { systemClock } from '../src/clock.ts';
import { MapOrigin } from '../src/origin/function-origin.ts';
import { EnsemblePredictor } from '../src/predict/ensemble-predictor.ts';
import { WorkerPredictor } from '../src/predict/worker-predictor.ts';
import { zipfSampler } from './zipf.ts';
import { seededRandom } from '../src/sim/seeded-random.ts';

/** Distinct keys, all resident in every contender. */
const keyCount = 10_000;
/** Reads per timed pass. */
const reads = Number(process.argv[2] ?? 2_000_000);
/** Reads in the untimed warm-up pass. */
const warmupReads = 200_000;
/** Timed passes per contender (ROUNDS=n); the median is reported, or the best with BEST=1 (for paired A/B runs). */
const rounds = Number(process.env.ROUNDS ?? 3);
const isBest = process.env.BEST === '1';
/** Gets issued before one Promise.all in the batched contender, and reads between yields with prediction on. */
const chunk = 1_000;
/** Zipf exponent of the access sequence (web and cache traces sit near 1). */
const zipfS = 0.99;

const keys = Array.from({ length: keyCount }, (_, i) => `user:${i}:profile`);
const values = keys.map((key, i) => ({ id: i, key }));

type KeyMode = 'same' | 'fresh' | 'built';
const keyModes: readonly KeyMode[] = ['same', 'fresh', 'built'];
const keyMode = (process.env.KEYS ?? 'same') as KeyMode;
if (!keyModes.includes(keyMode)) throw new Error(`Expected \`KEYS\` to be one of ${keyModes.join(', ')}, got ${process.env.KEYS}`);
/** The path prefix of the request URL a fresh key is sliced out of (as a route parameter is). */
const urlPrefix = '/v1/items/';
/** With KEYS=fresh, the keys of the pass about to run, one new string per read (`freshKeys`). */
let passKeys: string[] = [];

/** One new, never-hashed string per read of `seq`, each a slice of its own URL string made in C++. */
function freshKeys(seq: Int32Array): string[] {
  const out = new Array<string>(seq.length);
  for (let i = 0; i < seq.length; i++) out[i] = Buffer.from(urlPrefix + keys[seq[i]], 'latin1').toString('latin1').slice(urlPrefix.length);
  return out;
}

/** The key the `i`th read of `seq` looks up, per KEYS. */
const keyAt: (seq: Int32Array, i: number) => string =
  keyMode === 'same' ? (seq, i) => keys[seq[i]] : keyMode === 'fresh' ? (_seq, i) => passKeys[i] : (seq, i) => `user:${seq[i]}:profile`;

const gc = (globalThis as { gc?: () => void }).gc;

/** Readies the keys for a pass over `seq`, untimed: fresh strings with KEYS=fresh, then a full gc if exposed. */
function preparePass(seq: Int32Array): void {
  if (keyMode === 'fresh') {
    passKeys = []; // the last pass's keys can go before the next ones are built
    passKeys = freshKeys(seq);
  }
  gc?.();
}

/** The seeded access sequence: Zipf(zipfS) ranks, shuffled onto keys so hot keys are not the first inserted. */
function accessSequence(n: number, seed: number): Int32Array {
  const random = seededRandom(seed);
  const rank = zipfSampler(keyCount, zipfS, random);
  const rankToKey = Int32Array.from({ length: keyCount }, (_, i) => i);
  for (let i = keyCount - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [rankToKey[i], rankToKey[j]] = [rankToKey[j], rankToKey[i]];
  }
  const out = new Int32Array(n);
  for (let r = 0; r < n; r++) {
    out[r] = rankToKey[rank()];
  }
  return out;
}

const sequence = accessSequence(reads, 1);
const warmup = accessSequence(warmupReads, 2);

type Contender = {
  readonly name: string;
  /** Reads `seq` once; resolves with the number of reads that found their key (a check and a sink). */
  readonly pass: (seq: Int32Array) => number | Promise<number>;
  /** Extra text for the table's note column. */
  readonly note?: () => string;
  readonly close?: () => Promise<void>;
};

function mapContender(): Contender {
  const map = new Map<string, unknown>();
  keys.forEach((k, i) => map.set(k, values[i]));
  return {
    name: 'Map.get',
    pass(seq) {
      let found = 0;
      for (let i = 0; i < seq.length; i++) if (map.get(keyAt(seq, i)) !== undefined) found++;
      return found;
    },
  };
}

function lruContender(): Contender {
  const lru = new LRUCache<string, object>({ max: keyCount });
  keys.forEach((k, i) => lru.set(k, values[i]));
  return {
    name: 'lru-cache get',
    pass(seq) {
      let found = 0;
      for (let i = 0; i < seq.length; i++) if (lru.get(keyAt(seq, i)) !== undefined) found++;
      return found;
    },
  };
}

/**
 * lru-cache read in the loop the prediction rows use (yielding to the event loop every `chunk` reads): the
 * like-for-like baseline for them, since that loop (an async function resumed by setImmediate) costs a plain get
 * about a quarter of its rate.
 */
function lruYieldingContender(): Contender {
  const lru = new LRUCache<string, object>({ max: keyCount });
  keys.forEach((k, i) => lru.set(k, values[i]));
  return {
    name: `lru-cache get, yield every ${chunk}`,
    async pass(seq) {
      let found = 0;
      for (let i = 0; i < seq.length; i++) {
        if (lru.get(keyAt(seq, i)) !== undefined) found++;
        if (i % chunk === chunk - 1) await new Promise((resolve) => setImmediate(resolve));
      }
      return found;
    },
  };
}

/** lru-cache behind an awaited promise: the floor of any promise-returning get, for reading the Cache rows. */
function lruAwaitedContender(): Contender {
  const lru = new LRUCache<string, object>({ max: keyCount });
  keys.forEach((k, i) => lru.set(k, values[i]));
  const get = (key: string): Promise<object | undefined> => Promise.resolve(lru.get(key));
  return {
    name: 'lru-cache get, wrapped in an awaited promise',
    async pass(seq) {
      let found = 0;
      for (let i = 0; i < seq.length; i++) if ((await get(keyAt(seq, i))) !== undefined) found++;
      return found;
    },
  };
}

function memoryTierContender(): Contender {
  // Four times the room needed, so admission never turns a key away: every read is a hit.
  const tier = new MemoryTier<object>({ maxBytes: 4 * keyCount, clock: systemClock });
  const now = systemClock.now();
  keys.forEach((key, i) => {
    tier.set(createEntry({ key, value: values[i], version: 1, sizeBytes: 1, now, ttlMs: Infinity, staleAfterMs: Infinity }));
  });
  const answer = (key: string): string => key;
  return {
    name: 'MemoryTier.hit',
    pass(seq) {
      let found = 0;
      for (let i = 0; i < seq.length; i++) if (tier.hit(keyAt(seq, i), answer) !== undefined) found++;
      return found;
    },
  };
}

/**
 * The prediction budget `prescient serve` runs with: the models get at most 15% of the thread, in 1 ms slices, less
 * while few reads are ones they could change (adaptive, the default: here every read hits, so a tenth of it).
 */
const serviceBudget: { maxShare: number; maxSliceMs: number; adaptive?: boolean } = { maxShare: 0.15, maxSliceMs: 1 };
/** The same with the share fixed at 15% whatever the reads (the budget before it adapted). */
const fixedBudget = { ...serviceBudget, adaptive: false };
const budgetLabel = (budget: typeof serviceBudget): string => `prediction budget ${budget.maxShare * 100}%${budget.adaptive === false ? ' fixed' : ''}`;

async function filledCache(withPredictor: boolean | 'worker', budget?: typeof serviceBudget): Promise<Cache<object>> {
  const cache = new Cache<object>({
    origin: new MapOrigin<object>(keys.map((k, i) => [k, values[i]] as const)),
    clock: systemClock,
    maxBytes: 4 * keyCount,
    sizeOf: () => 1,
    ttlMs: Infinity,
    predictor: withPredictor === 'worker' ? new WorkerPredictor() : withPredictor ? new EnsemblePredictor() : undefined,
    ...(budget === undefined ? {} : { prefetch: { budget } }),
  });
  for (let i = 0; i < keyCount; i += chunk) await cache.getMany(keys.slice(i, i + chunk));
  return cache;
}

async function cacheAwaitedContender(): Promise<Contender> {
  const cache = await filledCache(false);
  return {
    name: 'Cache.get, no predictor, awaited',
    async pass(seq) {
      let found = 0;
      for (let i = 0; i < seq.length; i++) if ((await cache.get(keyAt(seq, i))).isFound) found++;
      return found;
    },
    close: () => cache.close(),
  };
}

async function cacheBatchedContender(): Promise<Contender> {
  const cache = await filledCache(false);
  const pending: Array<Promise<{ isFound: boolean }>> = new Array(chunk);
  return {
    name: `Cache.get, no predictor, ${chunk} then Promise.all`,
    async pass(seq) {
      let found = 0;
      for (let i = 0; i < seq.length; i += chunk) {
        const end = Math.min(seq.length, i + chunk);
        pending.length = end - i;
        for (let j = i; j < end; j++) pending[j - i] = cache.get(keyAt(seq, j));
        for (const r of await Promise.all(pending)) if (r.isFound) found++;
      }
      return found;
    },
    close: () => cache.close(),
  };
}

/**
 * Prediction on. `yieldEvery` reads between yields to the event loop (Infinity: never, so nothing drains). With
 * `budget`, the models run under the service's prediction budget: past their share of the thread they wait, and the
 * accesses that overflow the buffer meanwhile are dropped and counted (the models learn from a sample of the reads).
 */
async function cachePredictingContender(yieldEvery: number, budget?: typeof serviceBudget): Promise<Contender> {
  const cache = await filledCache(true, budget);
  const label = Number.isFinite(yieldEvery) ? `Cache.get, EnsemblePredictor, awaited, yield every ${yieldEvery}` : 'Cache.get, EnsemblePredictor, awaited, never yielding';
  return {
    name: budget === undefined ? label : `${label}, ${budgetLabel(budget)}`,
    async pass(seq) {
      let found = 0;
      for (let i = 0; i < seq.length; i++) {
        if ((await cache.get(keyAt(seq, i))).isFound) found++;
        if (i % yieldEvery === yieldEvery - 1) await new Promise((resolve) => setImmediate(resolve));
      }
      return found;
    },
    note() {
      const s = cache.stats();
      const offered = s.accessBuffer.recorded + s.accessBuffer.dropped;
      const share = offered === 0 ? 0 : (100 * s.accessBuffer.dropped) / offered;
      return `accessBuffer: ${s.accessBuffer.recorded} recorded, ${s.accessBuffer.dropped} dropped (${share.toFixed(1)}% of reads); prefetch issued ${s.prefetch.issued}`;
    },
    close: () => cache.close(),
  };
}

/** The synchronous hit path, with or without prediction (yielding every `chunk` reads so the models keep up). */
async function cacheSyncContender(withPredictor: boolean | 'worker', budget?: typeof serviceBudget): Promise<Contender> {
  const cache = await filledCache(withPredictor, budget);
  const model = withPredictor === 'worker' ? 'WorkerPredictor' : 'EnsemblePredictor';
  const label = `Cache.getIfPresent, ${withPredictor ? `${model}, yield every ${chunk}` : 'no predictor'}`;
  return {
    name: budget === undefined ? label : `${label}, ${budgetLabel(budget)}`,
    async pass(seq) {
      let found = 0;
      for (let i = 0; i < seq.length; i++) {
        if (cache.getIfPresent(keyAt(seq, i)) !== undefined) found++;
        if (withPredictor && i % chunk === chunk - 1) await new Promise((resolve) => setImmediate(resolve));
      }
      return found;
    },
    note() {
      const s = cache.stats();
      if (!withPredictor) return '';
      const offered = s.accessBuffer.recorded + s.accessBuffer.dropped;
      const share = s.budget === undefined ? '' : `; models' share at the end ${(100 * s.budget.share).toFixed(1)}%`;
      return `accessBuffer: ${s.accessBuffer.recorded} recorded, ${s.accessBuffer.dropped} dropped (${offered === 0 ? '0.0' : ((100 * s.accessBuffer.dropped) / offered).toFixed(1)}% of reads)${share}`;
    },
    close: () => cache.close(),
  };
}

type Row = { name: string; opsPerSecond: number; note: string };

async function measure(contender: Contender): Promise<Row> {
  process.stderr.write(`${contender.name} ...\n`);
  preparePass(warmup);
  await contender.pass(warmup);
  const rates: number[] = [];
  for (let round = 0; round < rounds; round++) {
    preparePass(sequence);
    const started = performance.now();
    const found = await contender.pass(sequence);
    const seconds = (performance.now() - started) / 1000;
    if (found !== sequence.length) throw new Error(`${contender.name}: ${sequence.length - found} reads missed; every key should be resident`);
    rates.push(sequence.length / seconds);
  }
  rates.sort((a, b) => a - b);
  const row = { name: contender.name, opsPerSecond: isBest ? rates[rates.length - 1] : rates[Math.floor(rates.length / 2)], note: contender.note?.() ?? '' };
  await contender.close?.();
  return row;
}

const makers: Array<() => Contender | Promise<Contender>> = [
  mapContender,
  lruContender,
  lruYieldingContender,
  lruAwaitedContender,
  memoryTierContender,
  cacheAwaitedContender,
  cacheBatchedContender,
  () => cachePredictingContender(chunk),
  () => cachePredictingContender(chunk, serviceBudget),
  () => cachePredictingContender(Infinity),
  () => cacheSyncContender(false),
  () => cacheSyncContender(true),
  () => cacheSyncContender(true, serviceBudget),
  () => cacheSyncContender(true, fixedBudget),
  () => cacheSyncContender('worker'),
];
/**
 * ONLY='a|b' runs just the rows whose names contain one of the parts (split on '|': row names hold commas);
 * lru-cache get always runs, the ratios need it.
 */
const only = process.env.ONLY?.split('|').filter((part) => part !== '');
const rows: Row[] = [];
for (const make of makers) {
  const contender = await make();
  if (only === undefined || contender.name === 'lru-cache get' || only.some((part) => contender.name.includes(part))) rows.push(await measure(contender));
  else await contender.close?.();
}

const lru = rows.find((r) => r.name === 'lru-cache get') as Row;
const fmt = (x: number): string => Math.round(x).toLocaleString('en-US');
const lines = [
  `Cache hit throughput: ${keyCount.toLocaleString('en-US')} resident keys, ${reads.toLocaleString('en-US')} Zipf(${zipfS}) reads (seed 1), ${isBest ? 'best' : 'median'} of ${rounds} passes after a ${warmupReads.toLocaleString('en-US')}-read warm-up, KEYS=${keyMode}${gc === undefined ? '' : ', gc before each pass'}; node ${process.version}`,
  '',
  '| contender | ops/s | vs lru-cache | note |',
  '|---|---:|---:|---|',
  ...rows.map((r) => `| ${r.name} | ${fmt(r.opsPerSecond)} | ${(r.opsPerSecond / lru.opsPerSecond).toFixed(2)}x | ${r.note} |`),
  '',
];
// The target is judged on the service's configuration (prediction on, under the prediction budget) and on the
// synchronous hit path: an awaited get cannot pass lru-cache wrapped in an awaited promise (the row above).
const predicting = rows.find((r) => r.name.startsWith('Cache.getIfPresent') && r.name.includes('prediction budget'));
const lruYielding = rows.find((r) => r.name.startsWith('lru-cache get, yield'));
if (predicting !== undefined) {
  const ratio = predicting.opsPerSecond / lru.opsPerSecond;
  lines.push(`target: hits with prediction on (${predicting.name}) >= 0.5x lru-cache: ${ratio.toFixed(2)}x, ${ratio >= 0.5 ? 'met' : 'NOT met'}`);
  if (lruYielding !== undefined) lines.push(`(${(predicting.opsPerSecond / lruYielding.opsPerSecond).toFixed(2)}x lru-cache read in the same yielding loop)`);
}
process.stdout.write(lines.join('\n') + '\n');
