/**
 * Two nodes sharing one Redis namespace (127.0.0.1:6379) and one origin, with a change notice between them: a node
 * whose origin read began before a change committed writes the old row to Redis after the other node applied the
 * change's notice. The node that applied it must not take that copy from Redis.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { Cache } from '../../src/cache/cache.ts';
import { cacheChangeTarget } from '../../src/cache/cache-change-target.ts';
import { RedisTier } from '../../src/cache/redis-tier.ts';
import { VirtualClock } from '../../src/clock.ts';
import { FunctionOrigin, MapOrigin } from '../../src/origin/function-origin.ts';
import type { Origin, OriginRecord } from '../../src/origin/origin.ts';
import { waitFor } from '../doubles/net-wait.ts';

type Nodes = { readonly a: Cache<string>; readonly b: Cache<string>; readonly l2a: RedisTier<string>; close(): Promise<void> };

/** Caches A and B on one fresh namespace, each over its own origin, on one virtual clock. */
async function twoNodes(originA: Origin<string>, originB: Origin<string>): Promise<Nodes> {
  const clock = new VirtualClock(1_000_000);
  const namespace = `two-nodes-${randomUUID().slice(0, 8)}`;
  const l2a = await RedisTier.connect<string>({ url: 'redis://127.0.0.1:6379', maxBytes: 1e7, namespace, clock });
  const l2b = await RedisTier.connect<string>({ url: 'redis://127.0.0.1:6379', maxBytes: 1e7, namespace, clock });
  const a = new Cache<string>({ origin: originA, l2: l2a, clock, ttlMs: 60_000 });
  const b = new Cache<string>({ origin: originB, l2: l2b, clock, ttlMs: 60_000 });
  return {
    a,
    b,
    l2a,
    async close() {
      await a.close();
      await b.close();
      await l2b.close();
      await l2a.clear();
      await l2a.close();
    },
  };
}

/**
 * A's origin answers at once; B's takes its snapshot of `rows` when a read is sent and answers when `release()` is
 * called: a query that began before a change committed.
 */
function racingOrigins(rows: Map<string, OriginRecord<string>>) {
  const gate: { release?: () => void } = {};
  const slow = new FunctionOrigin<string>({
    getMany: (keys) => {
      const snapshot = keys.map((k) => rows.get(k));
      return new Promise((resolve) => (gate.release = () => resolve(snapshot)));
    },
  });
  const fast = new FunctionOrigin<string>({ getMany: async (keys) => keys.map((k) => rows.get(k)) });
  return { fast, slow, gate };
}

test('a copy older than a change notice this node applied is not read from the shared tier, whoever wrote it after', async () => {
  const rows = new Map<string, OriginRecord<string>>([['k', { key: 'k', value: 'old', version: 1 }]]);
  const { fast, slow, gate } = racingOrigins(rows);
  const { a, b, l2a, close } = await twoNodes(fast, slow);
  try {
    const bRead = b.get('k');
    await waitFor(() => gate.release !== undefined, "B's origin read to start");
    rows.set('k', { key: 'k', value: 'new', version: 2 }); // the change commits; its notice says version 2
    await cacheChangeTarget(a).invalidate(['k'], [2]); // A applies it at once
    gate.release!(); // B's answer, the old row, arrives after: B caches it and writes it to Redis
    assert.equal((await bRead).version, 1);
    await waitFor(async () => (await l2a.getMany(['k']))[0]?.version === 1, 'the old row to reach Redis');

    const read = await a.get('k');
    assert.deepEqual([read.value, read.version, read.servedFrom], ['new', 2, 'origin'], 'A reads the origin, not the older copy in Redis');
    assert.equal(a.stats().sharedTier?.belowFloor, 1);
    assert.equal(a.stats().sharedTier?.floorKeys, 1);
    assert.equal((await a.get('k')).version, 2, 'and keeps serving the current row');
  } finally {
    await close();
  }
});

for (const aHolds of [true, false]) test(`after a hard DELETE's notice (no version), ${aHolds ? 'no copy up to the version this node held' : 'no copy of a key this node did not hold, for a while,'} is read back from the shared tier`, async () => {
  const rows = new Map<string, OriginRecord<string>>([['k', { key: 'k', value: 'old', version: 1 }]]);
  const { fast, slow, gate } = racingOrigins(rows);
  const { a, b, l2a, close } = await twoNodes(fast, slow);
  try {
    if (aHolds) {
      assert.equal((await a.get('k')).version, 1, 'A holds the row');
      await l2a.delete('k'); // B's read must go to its origin, not find A's copy
    }
    const bRead = b.get('k');
    await waitFor(() => gate.release !== undefined, "B's origin read to start");
    rows.delete('k'); // a hard DELETE commits; its notice carries no version
    await cacheChangeTarget(a).invalidate(['k'], [undefined]);
    gate.release!(); // B's answer, the deleted row, lands in Redis after A's notice
    assert.equal((await bRead).version, 1);
    await waitFor(async () => (await l2a.getMany(['k']))[0]?.version === 1, 'the deleted row to reach Redis');
    const read = await a.get('k');
    assert.equal(read.isFound, false, 'A reads the origin, which has no such row');
    const written = await a.set('k', 'local');
    assert.equal(written.version, 2, 'a later local write goes above the deleted version (the one held here, or the copy in Redis), so its shared copy is read back');
    assert.equal((await l2a.getMany(['k']))[0]?.version, 2, 'and Redis took it');
  } finally {
    await close();
  }
});

test('invalidate({ prefix }) reaches the shared tier\'s copies this node never held', async () => {
  const origin = new MapOrigin<string>([['user:1', 'alice'], ['user:2', 'bob'], ['item:1', 'lamp']]);
  const { a, b, l2a, close } = await twoNodes(origin, origin);
  try {
    for (const key of ['user:1', 'user:2', 'item:1']) await b.get(key); // B's loads: in Redis, not in A's memory
    await waitFor(async () => (await l2a.getMany(['user:1', 'user:2', 'item:1'])).every((e) => e !== undefined), 'B\'s copies to reach Redis');
    assert.equal(await a.invalidate({ prefix: 'user:' }), 2);
    assert.deepEqual((await l2a.getMany(['user:1', 'user:2', 'item:1'])).map((e) => e?.version), [undefined, undefined, 1]);
  } finally {
    await close();
  }
});

test('a write that names no version goes above a newer copy another node wrote to the shared tier', async () => {
  const origin = new MapOrigin<string>([]);
  const { a, b, l2a, close } = await twoNodes(origin, origin);
  try {
    assert.equal((await a.set('k', 'from A', { version: 5 })).version, 5);
    const written = await b.set('k', 'from B'); // B holds nothing of k: its own guess would be version 1
    assert.equal(written.version, 6, 'B\'s write is the newest: one above A\'s copy in Redis');
    assert.deepEqual([b.peek('k')?.value, b.peek('k')?.version], ['from B', 6], 'B\'s memory holds it at that version');
    const shared = (await l2a.getMany(['k']))[0];
    assert.deepEqual([shared?.value, shared?.version], ['from B', 6], 'every node reading Redis now gets B\'s write');

    const setting = b.set('k', 'then deleted'); // a delete issued after the set, before its answer, still wins
    await b.delete('k');
    await setting;
    assert.equal(b.peek('k'), undefined);
    // A's client-side cache may answer its earlier read of k until Redis's invalidation push arrives.
    await waitFor(async () => (await l2a.getMany(['k']))[0] === undefined, 'Redis to hold no copy of k');
  } finally {
    await close();
  }
});

test('a write that names no version reports the version the shared tier stored, though its own copy was evicted meanwhile', async () => {
  const clock = new VirtualClock(1_000_000);
  const namespace = `two-nodes-${randomUUID().slice(0, 8)}`;
  const l2a = await RedisTier.connect<string>({ url: 'redis://127.0.0.1:6379', maxBytes: 1e7, namespace, clock });
  const l2b = await RedisTier.connect<string>({ url: 'redis://127.0.0.1:6379', maxBytes: 1e7, namespace, clock });
  const origin = new MapOrigin<string>([]);
  const a = new Cache<string>({ origin, l2: l2a, clock, ttlMs: 60_000 });
  const b = new Cache<string>({ origin, l2: l2b, clock, ttlMs: 60_000, maxBytes: 2_000 });
  try {
    await a.set('k', 'from A', { version: 5 });
    const setting = b.set('k', 'from B');
    // Push k out of B's memory before Redis answers: entries read more often than k win its place.
    const fills = Array.from({ length: 20 }, (_, i) => {
      const filling = b.set(`fill${i}`, 'x'.repeat(200));
      for (let n = 0; n < 4; n++) b.getIfPresent(`fill${i}`);
      return filling;
    });
    const written = await setting;
    await Promise.all(fills);
    assert.equal(b.peek('k'), undefined, 'B no longer holds k');
    const shared = (await l2a.getMany(['k']))[0];
    assert.deepEqual([shared?.value, shared?.version], ['from B', 6]);
    assert.deepEqual([written.value, written.version], ['from B', 6], 'the entry returned says the version stored, not the guess');
  } finally {
    await a.close();
    await b.close();
    await l2b.close();
    await l2a.clear();
    await l2a.close();
  }
});


test("a change notice leaves the shared tier's copy at the change's own version (the flushed write), and removes older ones", async () => {
  const rows = new Map<string, OriginRecord<string>>([['k', { key: 'k', value: 'flushed', version: 2 }]]);
  const origin = new FunctionOrigin<string>({ getMany: async (keys) => keys.map((k) => rows.get(k)) });
  const { a, b, l2a, close } = await twoNodes(origin, origin);
  try {
    await b.set('k', 'flushed', { version: 2 }); // B's write-back wrote it, and its flush made the row version 2
    assert.equal((await l2a.getMany(['k']))[0]?.version, 2);
    await cacheChangeTarget(a).invalidate(['k'], [2]); // the flush's NOTIFY reaches A, which does not hold the key
    assert.equal((await l2a.getMany(['k']))[0]?.version, 2, 'the copy at the change\'s version is the changed row: kept');
    const read = await a.get('k');
    assert.deepEqual([read.value, read.version, read.servedFrom], ['flushed', 2, 'l2'], 'A reads it from Redis, not the origin');
    rows.set('k', { key: 'k', value: 'later', version: 3 });
    await cacheChangeTarget(b).invalidate(['k'], [3]); // a later change: B's copy at 2 is older
    await waitFor(async () => (await l2a.getMany(['k']))[0] === undefined, 'the older copy to leave Redis (as A sees it: its client-side cache hears of it)');
    assert.deepEqual([(await b.get('k')).value, (await b.get('k')).version], ['later', 3]);
  } finally {
    await close();
  }
});
