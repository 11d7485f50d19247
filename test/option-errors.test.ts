/**
 * Bad options are option errors (ERR_INVALID_OPTION naming the option by its whole path), never a TypeError, an
 * out-of-memory abort or a silent override. Cases found by fuzzing every constructor (2026-12-07).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Cache } from '../src/cache/cache.ts';
import { VirtualClock } from '../src/clock.ts';
import { isPrescientError } from '../src/errors.ts';
import { HttpOrigin } from '../src/origin/http-origin.ts';
import { MapOrigin } from '../src/origin/function-origin.ts';
import { PgliteOrigin } from '../src/origin/pglite-origin.ts';
import { PostgresOrigin } from '../src/origin/postgres-origin.ts';
import { DeltaPredictor } from '../src/predict/delta-predictor.ts';
import { EnsemblePredictor } from '../src/predict/ensemble-predictor.ts';
import { MarkovPredictor } from '../src/predict/markov-predictor.ts';
import { PopularityPredictor } from '../src/predict/popularity-predictor.ts';
import { SessionKnnPredictor } from '../src/predict/session-knn-predictor.ts';
import { Feedback } from '../src/prefetch/feedback.ts';
import { PrefetchScheduler } from '../src/prefetch/prefetch-scheduler.ts';
import { RedisTier } from '../src/cache/redis-tier.ts';
import { ChangeFeed } from '../src/sync/change-feed.ts';

/** Asserts `make` throws ERR_INVALID_OPTION whose message names `option` in backquotes. */
function refuses(make: () => unknown, option: string): void {
  assert.throws(make, (e: unknown) => {
    assert.ok(isPrescientError(e, 'ERR_INVALID_OPTION'), `${option}: ${String(e)}`);
    assert.ok((e as Error).message.includes(`\`${option}\``), `${option}: ${(e as Error).message}`);
    return true;
  });
}

const origin = new MapOrigin<unknown>();

test('sizes allocated up front have a ceiling: a typo of 1e9 is an option error, not an out-of-memory abort', () => {
  refuses(() => new Cache({ origin, accessBufferSize: 1e9 }), 'accessBufferSize');
  refuses(() => new EnsemblePredictor({ candidates: 1e9 }), 'candidates');
  refuses(() => new SessionKnnPredictor({ maxSessions: Number.MAX_SAFE_INTEGER }), 'maxSessions');
  refuses(() => new PopularityPredictor({ capacity: Number.MAX_SAFE_INTEGER }), 'capacity');
  refuses(() => new PostgresOrigin({ sql: { url: 'postgres://127.0.0.1/test', max: 1e6 } }), 'sql.max');
});

test('nested options are named by their path, and the cache\'s own size and hook cannot be overridden through `memory`', () => {
  refuses(() => new Cache({ origin, predictor: new MarkovPredictor(), prefetch: { maxBurst: -1 } }), 'prefetch.maxBurst');
  refuses(() => new Cache({ origin, prefetch: { maxBurst: -1 } }), 'prefetch.maxBurst'); // no predictor yet: checked all the same
  refuses(() => new Cache({ origin, memory: { prefetchFraction: 2 } }), 'memory.prefetchFraction');
  refuses(() => new Cache({ origin, maxBytes: 1e6, memory: { maxBytes: 10 } as never }), 'memory.maxBytes');
  refuses(() => new Cache({ origin, memory: { onRemoval: () => {} } as never }), 'memory.onRemoval');
  refuses(() => new EnsemblePredictor({ markov: { maxOrder: 0 } }), 'markov.maxOrder');
  refuses(() => new EnsemblePredictor({ knn: { neighbors: -1 } }), 'knn.neighbors');
  refuses(() => new PrefetchScheduler({ target: { isPresent: () => false, fetch: async () => ({ failed: [] }) }, clock: new VirtualClock(), feedback: new Feedback(), maxProbability: 0 }), 'maxProbability');
});

test('an options argument that is not an object, a clock start that is not finite, callbacks that are not functions', () => {
  for (const make of [() => new MarkovPredictor(null as never), () => new DeltaPredictor(42 as never), () => new EnsemblePredictor([] as never), () => new Feedback(null as never)]) refuses(make, 'options');
  for (const start of [Number.NaN, Infinity, '5']) refuses(() => new VirtualClock(start as never), 'startMs');
  refuses(() => new Feedback({ onEvent: 42 as never }), 'onEvent');
  refuses(() => new Feedback({ isListened: {} as never }), 'isListened');
});

test('URLs and headers are checked where they are given, not on first use', () => {
  refuses(() => new PostgresOrigin({ sql: { url: 'not a url' } }), 'sql.url');
  refuses(() => new PostgresOrigin({ sql: { url: '' } }), 'sql.url');
  refuses(() => new PostgresOrigin({ sql: { url: 'http://x/db' } }), 'sql.url');
  refuses(() => new RedisTier({ url: 'redis://[bad', maxBytes: 1024 }), 'url');
  refuses(() => new ChangeFeed({ url: 'not a url', table: 'items', target: { peekVersion: () => undefined, invalidate: async () => {} } }), 'url');
  refuses(() => new ChangeFeed({ url: 'postgres://127.0.0.1/test', table: 'items', catchUpPageSize: 2 ** 31, target: { peekVersion: () => undefined, invalidate: async () => {} } }), 'catchUpPageSize');
  for (const headers of [{ 'bad header': 'v' }, { h: 'a\nb' }, ['x']]) refuses(() => new HttpOrigin({ baseUrl: 'http://127.0.0.1:1', headers: headers as never }), 'headers');
});

test('options that used to be ignored silently: an empty or non-string PGlite data dir, a refresh feed without refresh, fractional retries', () => {
  refuses(() => new PgliteOrigin({ db: { dataDir: '' } }), 'db');
  refuses(() => new PgliteOrigin({ db: { loadDataDir: 'x' as never } }), 'db');
  refuses(() => new ChangeFeed({ url: 'postgres://127.0.0.1/test', table: 'items', mode: 'refresh', target: { peekVersion: () => undefined, invalidate: async () => {} } }), 'target');
  refuses(() => new PrefetchScheduler({ target: { isPresent: () => false, fetch: async () => ({ failed: [] }) }, clock: new VirtualClock(), feedback: new Feedback(), retries: 0.5 }), 'retries');
});

test('a model\'s name is a non-empty string (it becomes the source of its predictions)', () => {
  for (const name of [{}, '', 42]) {
    refuses(() => new MarkovPredictor({ name: name as never }), 'name');
    refuses(() => new EnsemblePredictor({ name: name as never }), 'name');
  }
});
