import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Cache } from '../../src/cache/cache.ts';
import { VirtualClock } from '../../src/clock.ts';
import { MapOrigin } from '../../src/origin/function-origin.ts';
import type { Origin } from '../../src/origin/origin.ts';
import { TieredOrigin } from '../../src/origin/tiered-origin.ts';
import { WriteBack } from '../../src/sync/write-back.ts';

const dirs: string[] = [];
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

/** One node: a cache over its write-back's reader, the write-back writing into that cache, on a clock of its own. */
async function node(origin: Origin<string>, nowMs: number) {
  const dir = await mkdtemp(join(tmpdir(), 'prescient-wb-superseded-'));
  dirs.push(dir);
  const clock = new VirtualClock(nowMs);
  let cache: Cache<string> | undefined;
  const wb = new WriteBack<string>({ origin, dir, clock, groupCommitMs: 0, flushIntervalMs: 100, target: { set: (k, v, o) => cache!.set(k, v, o), delete: (k, o) => cache!.delete(k, o) } });
  cache = new Cache<string>({ origin: wb.reader, clock, ttlMs: 1e9 });
  await wb.start();
  return { wb, cache, clock };
}

test('two nodes write one key with clocks further apart than the HLC absorbs: the node whose write lost drops its copy after the flush', async () => {
  const origin = new MapOrigin<string>();
  const ahead = await node(origin, 2_000_000);
  const behind = await node(origin, 1_000_000);
  const superseded: unknown[] = [];
  behind.wb.on('write:superseded', (event) => superseded.push(event));

  const b = await ahead.wb.put('k', 'B');
  await ahead.wb.flush();
  const a = await behind.wb.put('k', 'A');
  assert.ok(a.version < b.version, 'the node behind gave its later write an older version');
  assert.equal((await behind.cache.get('k')).value, 'A', 'before its flush the node serves its own acknowledged write');

  await behind.wb.flush();
  assert.equal(origin.records.get('k')?.value, 'B', 'the origin kept the newer version');
  assert.deepEqual(superseded, [{ key: 'k', version: a.version, deleted: false }]);
  assert.equal(behind.wb.stats().superseded, 1);
  const read = await behind.cache.get('k');
  assert.deepEqual([read.value, read.version, read.status], ['B', b.version, 'miss'], 'the older copy is gone: the read fetches the origin\'s');
  assert.equal(ahead.wb.stats().superseded, 0);
  await Promise.all([ahead.wb.close(), behind.wb.close(), ahead.cache.close(), behind.cache.close()]);
});

test('a newer copy the cache got meanwhile stays: only copies up to the declined version are dropped', async () => {
  const origin = new MapOrigin<string>();
  const behind = await node(origin, 1_000_000);
  const a = await behind.wb.put('k', 'A');
  await origin.putMany([{ key: 'k', value: 'B', version: a.version + 10 }]);
  await behind.cache.set('k', 'B', { version: a.version + 10 }); // the other node's change notice, applied here
  await behind.wb.flush();
  assert.equal(behind.wb.stats().superseded, 1);
  const read = await behind.cache.get('k');
  assert.deepEqual([read.value, read.status], ['B', 'hit']);
  await Promise.all([behind.wb.close(), behind.cache.close()]);
});

test('a replay of writes the origin already applied (a crash before the journal trim) is not reported as superseded', async () => {
  const origin = new MapOrigin<string>();
  const first = await node(origin, 1_000_000);
  await first.wb.put('k', 'A');
  await first.wb.put('j', 'J');
  await first.wb.flush();
  // The same records again, as a restart that lost the trim would send them.
  const outcome = await origin.putMany([...origin.records.values()]);
  assert.deepEqual(outcome.declined, []);
  assert.equal(first.wb.stats().superseded, 0);
  await Promise.all([first.wb.close(), first.cache.close()]);
});

for (const tiered of [false, true]) test(`another node's newer delete, noticed before this node flushed its older write, is not undone by a read${tiered ? ' (a TieredOrigin, whose reads settle per key)' : ''}`, async () => {
  const origin = new MapOrigin<string>([['k', 'v1']]);
  const store = tiered ? new TieredOrigin<string>({ live: origin, archive: new MapOrigin<string>([['k', 'archived']]) }) : origin;
  const here = await node(store, 1_000_000);
  const other = await node(store, 2_000_000);
  const mine = await here.wb.put('k', 'mine'); // acknowledged, flushed only in 100 ms
  await other.wb.delete('k');
  await other.wb.flush();
  const tombstone = origin.records.get('k');
  assert.ok(tombstone?.deleted === true && tombstone.version > mine.version, 'the other node deleted it later, by version');
  await here.cache.delete('k', { maxVersion: tombstone.version }); // its change notice
  const read = await here.cache.get('k');
  assert.equal(read.isFound, false, 'the delete wins over the older pending write (it was served, and cached, before)');
  assert.equal(here.cache.peek('k'), undefined);
  await here.clock.advanceAsync(150); // the flush is declined: nothing comes back
  assert.equal((await here.cache.get('k')).isFound, false);
  assert.equal(here.wb.stats().superseded, 1);
  for (const n of [here, other]) {
    await n.cache.close();
    await n.wb.close();
  }
});

test('a pending write older than a change notice applied here answers a slow read once, and is not cached', async () => {
  const store = new MapOrigin<string>([['k', 'initial']]);
  const dir = await mkdtemp(join(tmpdir(), 'prescient-wb-superseded-'));
  dirs.push(dir);
  const clock = new VirtualClock(1_000_000);
  const later = (ms: number) => new Promise<void>((resolve) => clock.setTimer(ms, resolve));
  // Reads answer after 150 ms (past the reader's 100 ms wait); writes commit at once and answer 200 ms later.
  const origin = {
    getMany: async (keys: readonly string[]) => [await store.getMany(keys), await later(150)][0]!,
    getRecords: async (keys: readonly string[]) => [await store.getRecords(keys), await later(150)][0]!,
    putMany: async (records: Parameters<MapOrigin<string>['putMany']>[0]) => [await store.putMany(records), await later(200)][0]!,
  };
  let cache: Cache<string> | undefined;
  const wb = new WriteBack<string>({ origin, dir, clock, groupCommitMs: 0, flushIntervalMs: 100, target: { set: (k, v, o) => cache!.set(k, v, o), delete: (k, o) => cache!.delete(k, o) } });
  cache = new Cache<string>({ origin: wb.reader, clock, ttlMs: 60_000 });
  await wb.start();
  const mine = await wb.put('k', 'mine');
  await clock.advanceAsync(100); // the flush commits 'mine'; its answer is 200 ms away
  await store.putMany([{ key: 'k', value: 'theirs', version: mine.version + 5_000 }]); // another node, later
  await cache.delete('k', { maxVersion: mine.version + 5_000 }); // its change notice
  const reading = cache.get('k');
  await clock.advanceAsync(100);
  assert.equal((await reading).value, 'mine', 'the pending write answers alone for the slow origin, as documented');
  assert.equal(cache.peek('k'), undefined, 'but it is older than the notice: not cached');
  assert.equal(cache.stats().belowFloor, 1);
  await clock.advanceAsync(300); // the flush is confirmed; nothing is pending
  const next = cache.get('k');
  await clock.advanceAsync(150);
  assert.deepEqual([(await next).value, (await next).version], ['theirs', mine.version + 5_000]);
  assert.equal(cache.peek('k')?.value, 'theirs', 'and cached');
  await cache.close();
  await wb.close();
});
