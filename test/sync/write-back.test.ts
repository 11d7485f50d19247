import assert from 'node:assert/strict';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Cache } from '../../src/cache/cache.ts';
import { flushMicrotasks, VirtualClock } from '../../src/clock.ts';
import { isPrescientError } from '../../src/errors.ts';
import { MapOrigin } from '../../src/origin/function-origin.ts';
import type { OriginRecord, PutManyOutcome } from '../../src/origin/origin.ts';
import { checkJsonbValue } from '../../src/origin/sql-table.ts';
import { counterResolver, lastWriterWins } from '../../src/sync/conflict.ts';
import { WriteBack, type WriteBackOptions } from '../../src/sync/write-back.ts';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'prescient-wb-'));
  dirs.push(dir);
  return dir;
}
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

/** Lets real file I/O and promise chains run until `done` holds (bounded; no timers, no sleeps). */
async function until(done: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 5_000 && !done(); i++) await flushMicrotasks();
  assert.ok(done(), `timed out waiting for ${what}`);
}

/** A map origin whose putMany can be made to fail, recording each batch and when it came. */
class ScriptedOrigin<V> extends MapOrigin<V> {
  failures = 0;
  readonly puts: Array<{ atMs: number; records: OriginRecord<V>[] }> = [];
  readonly clock: VirtualClock;
  constructor(clock: VirtualClock) {
    super();
    this.clock = clock;
  }
  override async putMany(records: readonly OriginRecord<V>[]): Promise<PutManyOutcome> {
    this.puts.push({ atMs: this.clock.now(), records: [...records] });
    if (this.failures > 0) {
      this.failures--;
      throw new Error('origin down');
    }
    return super.putMany(records);
  }
}

/** A map origin refusing, like PostgreSQL's jsonb, a whole batch when one value holds a NUL or a lone surrogate. */
class JsonbOrigin<V> extends ScriptedOrigin<V> {
  override async putMany(records: readonly OriginRecord<V>[]): Promise<PutManyOutcome> {
    this.puts.push({ atMs: this.clock.now(), records: [...records] });
    for (const r of records) checkJsonbValue(r.key, r.deleted === true ? null : r.value);
    return MapOrigin.prototype.putMany.call(this, records);
  }
}

async function started<V>(options: Partial<WriteBackOptions<V>> & { origin: WriteBackOptions<V>['origin'] }): Promise<WriteBack<V>> {
  const wb = new WriteBack<V>({ dir: await tempDir(), groupCommitMs: 0, flushIntervalMs: 100, ...options });
  await wb.start();
  return wb;
}

describe('WriteBack', () => {
  test('acknowledges after the journal, flushes to the origin when the interval passes', async () => {
    const clock = new VirtualClock(1_000_000);
    const origin = new ScriptedOrigin<string>(clock);
    const wb = await started<string>({ origin, clock });
    const a = await wb.put('a', 'A1');
    const b = await wb.put('b', 'B1');
    assert.ok(b.version > a.version);
    assert.equal(origin.records.size, 0, 'nothing reaches the origin before the flush interval');
    assert.equal(wb.stats().pending, 2);
    clock.advance(100);
    await until(() => origin.records.size === 2, 'the periodic flush');
    assert.deepEqual(origin.records.get('a'), { key: 'a', value: 'A1', version: a.version });
    await until(() => wb.stats().pending === 0, 'confirmation');
    assert.equal(wb.stats().flushed, 2);
    await wb.close();
  });

  test('reads through the reader see acknowledged writes before the origin has them', async () => {
    const clock = new VirtualClock(1_000_000);
    const origin = new ScriptedOrigin<string>(clock);
    await origin.putMany([{ key: 'k', value: 'old', version: 1 }, { key: 'other', value: 'o', version: 1 }]);
    const wb = await started<string>({ origin, clock });
    await wb.put('k', 'new');
    const [k, other, none] = await wb.reader.getMany(['k', 'other', 'none']);
    assert.equal(k?.value, 'new');
    assert.equal(other?.value, 'o');
    assert.equal(none, undefined);
    await wb.delete('other');
    assert.deepEqual(await wb.reader.getMany(['other']), [undefined], 'a pending tombstone reads as absent');
    await wb.flush();
    assert.equal(origin.records.get('other')?.deleted, true, 'the tombstone reaches the origin');
    assert.equal((await wb.reader.getMany(['k']))[0]?.value, 'new');
    await wb.close();
  });

  test('a Cache built on the reader, with the WriteBack storing into it, never serves the older value', async () => {
    const clock = new VirtualClock(1_000_000);
    const origin = new ScriptedOrigin<string>(clock);
    await origin.putMany([{ key: 'k', value: 'old', version: 1 }]);
    const dir = await tempDir();
    let cache: Cache<string> | undefined;
    const wb = new WriteBack<string>({ origin, dir, clock, groupCommitMs: 0, target: { set: (k, v, o) => cache!.set(k, v, o), delete: (k) => cache!.delete(k) } });
    cache = new Cache<string>({ origin: wb.reader, clock, prefetch: false });
    await wb.start();
    assert.equal((await cache.get('k')).value, 'old');
    const { version } = await wb.put('k', 'new');
    const held = await cache.get('k');
    assert.equal(held.value, 'new');
    assert.equal(held.version, version);
    await cache.delete('k');
    assert.equal((await cache.get('k')).value, 'new', 'evicted from the cache, read again through the pending write');
    await wb.close();
  });

  test('last writer wins: one record per key per batch, and an origin record with a higher version is kept', async () => {
    const clock = new VirtualClock(1_000_000);
    const origin = new ScriptedOrigin<number>(clock);
    const wb = await started<number>({ origin, clock });
    for (let i = 1; i <= 5; i++) await wb.put('x', i);
    const newer = { key: 'y', value: 99, version: Number.MAX_SAFE_INTEGER - 1 };
    await origin.putMany([newer]);
    origin.puts.length = 0;
    await wb.put('y', 1);
    await wb.flush();
    assert.deepEqual(origin.puts[0].records.map((r) => [r.key, r.value]), [['x', 5], ['y', 1]]);
    assert.equal(origin.records.get('x')?.value, 5);
    assert.deepEqual(origin.records.get('y'), newer);
    assert.equal(lastWriterWins({ key: 'y', value: 1, version: 5 }, newer), newer);
    await wb.close();
  });

  test('splits flushes into batches of maxBatch and flushes early once maxBatch records wait', async () => {
    const clock = new VirtualClock(1_000_000);
    const origin = new ScriptedOrigin<number>(clock);
    const wb = await started<number>({ origin, clock, maxBatch: 3, flushIntervalMs: 10_000 });
    for (let i = 0; i < 7; i++) await wb.put(`k${i}`, i);
    clock.advance(0);
    await until(() => origin.records.size === 7, 'early flushes');
    assert.deepEqual(origin.puts.map((p) => p.records.length), [3, 3, 1]);
    assert.equal(clock.now(), 1_000_000, 'no interval had to pass');
    await wb.close();
  });

  test('keeps records while the origin fails and retries with exponential backoff on the clock', async () => {
    const clock = new VirtualClock(1_000_000);
    const origin = new ScriptedOrigin<string>(clock);
    origin.failures = 2;
    const wb = await started<string>({ origin, clock, retryBaseMs: 50 });
    const failed: number[] = [];
    wb.on('flush:failed', (e) => failed.push(e.retryInMs));
    await wb.put('a', 'A');
    clock.advance(100);
    await until(() => origin.puts.length === 1 && failed.length === 1, 'first attempt');
    assert.equal(wb.stats().pending, 1);
    clock.advance(49);
    await until(() => true, 'nothing');
    assert.equal(origin.puts.length, 1, 'no retry before the backoff');
    clock.advance(1);
    await until(() => failed.length === 2, 'second attempt');
    clock.advance(100);
    await until(() => origin.records.size === 1 && wb.stats().pending === 0, 'third attempt');
    assert.deepEqual(failed, [50, 100]);
    assert.deepEqual(origin.puts.map((p) => p.atMs - 1_000_000), [100, 150, 250]);
    const stats = wb.stats();
    assert.equal(stats.failures, 2);
    assert.equal(stats.consecutiveFailures, 0);
    assert.equal(stats.lastFlushLagMs, 250);
    await wb.close();
  });

  test('flush() rejects with ERR_WRITE_FAILED when the origin fails; close keeps the records for the next start', async () => {
    const clock = new VirtualClock(1_000_000);
    const origin = new ScriptedOrigin<string>(clock);
    origin.failures = 2;
    const dir = await tempDir();
    const wb = new WriteBack<string>({ origin, dir, clock, groupCommitMs: 0 });
    await wb.start();
    const acked = await wb.put('a', 'A');
    await wb.put('b', 'B');
    await assert.rejects(wb.flush(), (e) => isPrescientError(e, 'ERR_WRITE_FAILED'));
    await wb.close();
    assert.equal(origin.records.size, 0);
    const next = new WriteBack<string>({ origin, dir, clock, groupCommitMs: 0 });
    assert.equal(await next.start(), 2, 'both records replayed');
    assert.equal((await next.reader.getMany(['a']))[0]?.value, 'A');
    const later = await next.put('c', 'C');
    assert.ok(later.version > acked.version);
    await next.flush();
    assert.deepEqual([...origin.records.keys()].sort(), ['a', 'b', 'c']);
    assert.equal(origin.records.get('a')?.version, acked.version, 'a replayed write keeps its version');
    await next.close();
    const third = new WriteBack<string>({ origin, dir, clock, groupCommitMs: 0 });
    assert.equal(await third.start(), 0, 'confirmed records are not replayed');
    await third.close();
  });

  test('counter resolver: increments add up, and replaying an applied journal adds nothing', async () => {
    const clock = new VirtualClock(1_000_000);
    const origin = new ScriptedOrigin<number>(clock);
    await origin.putMany([{ key: 'hits', value: 100, version: 1 }]);
    const dir = await tempDir();
    const wb = new WriteBack<number>({ origin, dir, clock, groupCommitMs: 0, resolver: counterResolver });
    await wb.start();
    for (const delta of [1, 2, 3, 4]) await wb.put('hits', delta);
    await wb.put('fresh', 5);
    assert.equal((await wb.reader.getMany(['hits']))[0]?.value, 110, 'the reader folds pending deltas over the origin total');
    const snapshot = await tempDir();
    await cp(dir, snapshot, { recursive: true });
    await wb.flush();
    assert.equal(origin.records.get('hits')?.value, 110);
    assert.equal(origin.records.get('fresh')?.value, 5);
    await wb.put('hits', 10);
    await wb.close();
    assert.equal(origin.records.get('hits')?.value, 120);
    const replay = new WriteBack<number>({ origin, dir: snapshot, clock, groupCommitMs: 0, resolver: counterResolver });
    assert.equal(await replay.start(), 5);
    await replay.flush();
    assert.equal(origin.records.get('hits')?.value, 120, 'already-applied deltas are not added again');
    assert.equal(origin.records.get('fresh')?.value, 5);
    await replay.close();
  });

  test('with a resolver, an origin answer out of order fails the flush (kept for retry), never merges a delta into another key', async () => {
    const clock = new VirtualClock(1_000_000);
    const origin = new ScriptedOrigin<number>(clock);
    await origin.putMany([{ key: 'a', value: 100, version: 1 }, { key: 'b', value: 5, version: 1 }]);
    const getMany = origin.getMany.bind(origin);
    let swapped = true;
    origin.getMany = async (keys) => {
      const answers = await getMany(keys);
      return swapped ? [...answers].reverse() : answers; // each key answered with the other's record
    };
    const wb = await started<number>({ origin, clock, resolver: counterResolver, flushIntervalMs: 1e9 });
    await wb.put('a', 1);
    await wb.put('b', 1);
    await assert.rejects(wb.flush(), (e) => isPrescientError(e, 'ERR_WRITE_FAILED'));
    assert.deepEqual([origin.records.get('a')?.value, origin.records.get('b')?.value], [100, 5], 'nothing merged into the wrong total');
    swapped = false;
    await wb.flush();
    assert.deepEqual([origin.records.get('a')?.value, origin.records.get('b')?.value], [101, 6]);
    await wb.close();
  });

  test('the target gets each acknowledged write before put resolves (invalidated when a resolver merges)', async () => {
    const clock = new VirtualClock(1_000_000);
    const origin = new ScriptedOrigin<number>(clock);
    const calls: string[] = [];
    const target = { set: (k: string, v: number, o: { version: number }) => calls.push(`set ${k} ${v} ${o.version}`), delete: (k: string) => calls.push(`delete ${k}`) };
    const wb = await started<number>({ origin, clock, target });
    const { version } = await wb.put('a', 1);
    assert.deepEqual(calls, [`set a 1 ${version}`]);
    await wb.delete('a');
    assert.equal(calls[1], 'delete a');
    await wb.close();
    const merged = await started<number>({ origin, clock, target, resolver: counterResolver });
    await merged.put('n', 3);
    assert.equal(calls[2], 'delete n');
    await merged.close();
  });

  test('versions read from the origin move the clock, so a later write outranks what was read', async () => {
    const clock = new VirtualClock(1_000_000);
    const origin = new ScriptedOrigin<string>(clock);
    const ahead = (1_000_000 + 5_000) * 1024;
    await origin.putMany([{ key: 'k', value: 'theirs', version: ahead }]);
    const wb = await started<string>({ origin, clock });
    assert.equal((await wb.reader.getMany(['k']))[0]?.version, ahead);
    const { version } = await wb.put('k', 'mine');
    assert.ok(version > ahead);
    await wb.flush();
    assert.equal(origin.records.get('k')?.value, 'mine');
    await wb.close();
  });

  test('errors: not started, closed, bad key, unencodable value, overload, bad options', async () => {
    const clock = new VirtualClock(1_000_000);
    const origin = new ScriptedOrigin<unknown>(clock);
    const fresh = new WriteBack({ origin, dir: await tempDir(), clock });
    await assert.rejects(fresh.put('a', 1), (e) => isPrescientError(e, 'ERR_NOT_READY'));
    const wb = await started<unknown>({ origin, clock, maxPending: 2 });
    await assert.rejects(wb.put('', 1), (e) => isPrescientError(e, 'ERR_INVALID_KEY'));
    await assert.rejects(wb.put('a', undefined), (e) => isPrescientError(e, 'ERR_INVALID_VALUE'));
    await assert.rejects(wb.put('a', 10n), (e) => isPrescientError(e, 'ERR_INVALID_VALUE'));
    await wb.put('a', 1);
    await wb.put('b', 2);
    await assert.rejects(wb.put('c', 3), (e) => isPrescientError(e, 'ERR_OVERLOADED'));
    await wb.close();
    await assert.rejects(wb.put('a', 1), (e) => isPrescientError(e, 'ERR_CLOSED'));
    assert.throws(() => new WriteBack({ origin: { getMany: async () => [] }, dir: 'x' }), (e: unknown) => isPrescientError(e, 'ERR_INVALID_OPTION') && (e as unknown as { option: string }).option === 'origin');
    assert.throws(() => new WriteBack({ origin, dir: 'x', maxBatch: 0 }), (e) => isPrescientError(e, 'ERR_INVALID_OPTION'));
    assert.throws(() => new WriteBack({ origin, dir: 'x', retryBaseMs: 10, retryMaxMs: 5 }), (e) => isPrescientError(e, 'ERR_INVALID_OPTION'));
  });

  test('a value the origin refuses is set aside and reported, the rest of its batch and later writes are flushed', async () => {
    const clock = new VirtualClock(1_000_000);
    const origin = new JsonbOrigin<string>(clock);
    const warnings: string[] = [];
    const cached = new Map<string, string>();
    const target = { set: (k: string, v: string) => cached.set(k, v), delete: (k: string) => cached.delete(k) };
    const dir = await tempDir();
    const wb = new WriteBack<string>({ origin, dir, clock, groupCommitMs: 0, target, logger: { warn: (_d, m) => warnings.push(m) } });
    await wb.start();
    const rejected: Array<{ key: string; version: number; code: unknown }> = [];
    wb.on('write:rejected', (e) => rejected.push({ key: e.key, version: e.version, code: (e.error as { code?: unknown }).code }));
    for (const key of ['a', 'b', 'c', 'd', 'e', 'f', 'g']) await wb.put(key, key.toUpperCase());
    const nul = await wb.put('nul', 'x\u0000y');
    await wb.put('h', 'H');
    const lone = await wb.put('lone', 'half \ud800');
    await wb.flush();
    assert.deepEqual([...origin.records.keys()].sort(), ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']);
    assert.deepEqual(rejected, [
      { key: 'nul', version: nul.version, code: 'ERR_INVALID_VALUE' },
      { key: 'lone', version: lone.version, code: 'ERR_INVALID_VALUE' },
    ]);
    const stats = wb.stats();
    assert.equal(stats.rejected, 2);
    assert.equal(stats.flushed, 8);
    assert.equal(stats.pending, 0);
    assert.equal(stats.failures, 0, 'a refused value is not a flush failure');
    assert.equal(cached.has('nul'), false, 'the refused value is no longer served');
    assert.equal((await wb.reader.getMany(['nul']))[0], undefined);
    assert.equal(warnings.filter((m) => m.includes('refused')).length, 2);
    await wb.put('later', 'L');
    await wb.flush();
    assert.equal(origin.records.get('later')?.value, 'L', 'writes after a refused one still reach the origin');
    await wb.close();
    const next = new WriteBack<string>({ origin, dir, clock, groupCommitMs: 0 });
    assert.equal(await next.start(), 0, 'refused records are trimmed from the journal like flushed ones');
    await next.close();
  });

  test('a listener that throws can neither fail a write nor stop the flusher', async () => {
    const clock = new VirtualClock(1_000_000);
    const origin = new ScriptedOrigin<string>(clock);
    const warnings: string[] = [];
    const wb = await started<string>({ origin, clock, logger: { warn: (_d, m) => warnings.push(m) } });
    wb.on('write:acked', () => {
      throw new Error('listener bug');
    });
    wb.on('flush:done', () => {
      throw new Error('listener bug');
    });
    await wb.put('a', 'A');
    clock.advance(100);
    await until(() => origin.records.has('a'), 'the first flush');
    await until(() => wb.stats().pending === 0, 'confirmation');
    await wb.put('b', 'B');
    clock.advance(100);
    await until(() => origin.records.has('b'), 'the flush after a listener threw');
    await wb.flush();
    assert.ok(warnings.filter((m) => m.includes('listener threw')).length >= 4);
    await wb.close();
  });

  test('maxPending counts appends under way: concurrent writes past it are refused, not all acknowledged', async () => {
    const clock = new VirtualClock(1_000_000);
    const origin = new ScriptedOrigin<number>(clock);
    origin.failures = Infinity;
    const wb = await started<number>({ origin, clock, maxPending: 10 });
    const results = await Promise.allSettled(Array.from({ length: 100 }, (_, i) => wb.put(`k${i}`, i)));
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 10);
    assert.ok(results.every((r) => r.status === 'fulfilled' || isPrescientError(r.reason, 'ERR_OVERLOADED')));
    assert.equal(wb.stats().pending, 10);
    await wb.close();
  });

  test('maxPendingBytes bounds the bytes waiting for the origin; a single large write is taken when nothing waits', async () => {
    const clock = new VirtualClock(1_000_000);
    const origin = new ScriptedOrigin<string>(clock);
    const wb = await started<string>({ origin, clock, maxPendingBytes: 250 });
    await wb.put('a', 'x'.repeat(100));
    const one = wb.stats().pendingBytes;
    assert.ok(one > 100 && one < 250, `one record is ${one} bytes`);
    await assert.rejects(wb.put('b', 'x'.repeat(100)), (e) => isPrescientError(e, 'ERR_OVERLOADED'));
    await assert.rejects(wb.delete('k'.repeat(100)), (e) => isPrescientError(e, 'ERR_OVERLOADED'));
    await wb.put('c', 'small');
    await wb.flush();
    assert.equal(wb.stats().pendingBytes, 0);
    await wb.put('big', 'x'.repeat(1000));
    assert.ok(wb.stats().pendingBytes > 1000);
    await wb.flush();
    await wb.close();
    assert.throws(() => new WriteBack({ origin, dir: 'x', maxPendingBytes: 0 }), (e: unknown) => isPrescientError(e, 'ERR_INVALID_OPTION') && (e as { option?: string }).option === 'maxPendingBytes');
  });
});
