/**
 * The Origin contract: behaviour every origin (PostgresOrigin, PgliteOrigin, TieredOrigin, FunctionOrigin,
 * MapOrigin) must show. An origin's test file calls `originContract(name, makeOrigin, cleanup)`. Every test
 * builds its own origin holding the records it seeds; the write and change-feed tests run only where the origin
 * has `putMany` / `changes`.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { Origin, OriginRecord } from '../../src/origin/origin.ts';

/** Builds an origin that holds `seed` (tombstones included) for one test. */
export type OriginFactory = (seed: readonly OriginRecord<unknown>[]) => Origin<unknown> | Promise<Origin<unknown>>;

/** A hybrid-logical-clock sized version (physicalMs * 1024 + logical), far above 2^32 and below 2^53. */
const HLC_VERSION = 1_790_000_000_000 * 1024 + 17;

/** Keys that would break a statement built by string concatenation; to an origin they are only keys. */
const HOSTILE_KEYS = [
  "'); drop table prescient_items; --",
  'a"b',
  'back\\slash',
  '{a,b}',
  'NULL',
  '$1',
  '100%_x',
  'ключ-🔑',
  'with space, and comma',
];

const record = (key: string, version: number, value: unknown = { key, version }): OriginRecord<unknown> => ({ key, value, version });
const tombstone = (key: string, version: number): OriginRecord<unknown> => ({ key, value: undefined, version, deleted: true });

/** What an origin claims beyond reads; the suite checks the claim both ways (present and working, or absent). */
export type OriginCapabilities = { readonly writes: boolean; readonly changes: boolean };

/** Registers the Origin contract tests for one implementation. */
export function originContract(
  name: string,
  makeOrigin: OriginFactory,
  cleanup?: () => Promise<void>,
  capabilities: OriginCapabilities = { writes: true, changes: true },
): void {
  describe(`Origin contract: ${name}`, () => {
    const opened: Origin<unknown>[] = [];
    const open = async (seed: readonly OriginRecord<unknown>[]): Promise<Origin<unknown>> => {
      const origin = await makeOrigin(seed);
      opened.push(origin);
      return origin;
    };
    after(async () => {
      for (const origin of opened) await origin.close?.();
      await cleanup?.();
    });

    test('getMany answers aligned with the keys, repeating duplicates and undefined for absent keys', async () => {
      const origin = await open([record('a', 1, { n: 1 }), record('b', 2, { n: 2 })]);
      const got = await origin.getMany(['b', 'missing', 'a', 'b', 'missing']);
      assert.equal(got.length, 5);
      assert.deepEqual(got.map((r) => r?.key), ['b', undefined, 'a', 'b', undefined]);
      assert.deepEqual(got[0]?.value, { n: 2 });
      assert.deepEqual(got[2]?.value, { n: 1 });
      assert.deepEqual(got[3], got[0]);
    });

    test('getMany of no keys answers an empty array', async () => {
      const origin = await open([record('a', 1)]);
      assert.deepEqual(await origin.getMany([]), []);
    });

    test('versions come back as the exact JS numbers stored, HLC-sized ones included', async () => {
      const origin = await open([record('small', 3), record('hlc', HLC_VERSION)]);
      const [small, hlc] = await origin.getMany(['small', 'hlc']);
      assert.equal(small?.version, 3);
      assert.equal(hlc?.version, HLC_VERSION);
      assert.equal(typeof hlc?.version, 'number');
    });

    test('JSON values round-trip unchanged', async () => {
      const value = { s: 'é "q" \\ \n', n: -1.5, b: false, z: null, list: [1, 'two', { three: 3 }], nested: { deep: { x: [] } } };
      const origin = await open([record('doc', 1, value), record('str', 1, 'plain'), record('num', 1, 42)]);
      const [doc, str, num] = await origin.getMany(['doc', 'str', 'num']);
      assert.deepEqual(doc?.value, value);
      assert.equal(str?.value, 'plain');
      assert.equal(num?.value, 42);
    });

    test('keys that look like SQL or array syntax are only keys', async () => {
      const origin = await open(HOSTILE_KEYS.map((k, i) => record(k, i + 1, { i })));
      const got = await origin.getMany([...HOSTILE_KEYS, 'plain-absent']);
      assert.deepEqual(got.map((r) => r?.key), [...HOSTILE_KEYS, undefined]);
      assert.deepEqual(got.map((r) => (r?.value as { i: number } | undefined)?.i), [...HOSTILE_KEYS.map((_, i) => i), undefined]);
      assert.equal((await origin.getMany([HOSTILE_KEYS[0]]))[0]?.version, 1, 'the table is still there');
    });

    test('getMany treats a tombstone as absent', async () => {
      const origin = await open([record('live', 1), tombstone('gone', 2)]);
      const [live, gone] = await origin.getMany(['live', 'gone']);
      assert.equal(live?.key, 'live');
      assert.equal(gone, undefined);
    });

    if (!capabilities.writes) {
      test('is read-only: it has no putMany', async () => {
        assert.equal(typeof (await open([])).putMany, 'undefined');
      });
    }
    if (capabilities.writes) describe('putMany', () => {
      const writable = async (seed: readonly OriginRecord<unknown>[]): Promise<Origin<unknown>> => {
        const origin = await open(seed);
        assert.equal(typeof origin.putMany, 'function', `${name} claims writes but has no putMany`);
        return origin;
      };

      test('keeps the higher version: an older write arriving late loses', async () => {
        const origin = await writable([record('k', 5, 'five')]);
        await origin.putMany!([record('k', 3, 'three')]);
        assert.equal((await origin.getMany(['k']))[0]?.value, 'five');
        await origin.putMany!([record('k', 7, 'seven'), record('new', 1, 'one')]);
        const [k, fresh] = await origin.getMany(['k', 'new']);
        assert.deepEqual([k?.value, k?.version], ['seven', 7]);
        assert.deepEqual([fresh?.value, fresh?.version], ['one', 1]);
      });

      test('is idempotent: the same batch twice leaves the same state', async () => {
        const origin = await writable([]);
        const batch = [record('x', 10, { x: 1 }), record('y', 11, { y: 1 }), tombstone('z', 12)];
        await origin.putMany!(batch);
        const first = await origin.getMany(['x', 'y', 'z']);
        await origin.putMany!(batch);
        assert.deepEqual(await origin.getMany(['x', 'y', 'z']), first);
        assert.equal(first[2], undefined);
      });

      test('reports the records it declined: a newer version held, or another write at the same version; never a replay', async () => {
        const origin = await writable([record('older', 5, 'five'), record('same', 5, 'theirs'), tombstone('gone', 9)]);
        const batch = [record('older', 3, 'three'), record('same', 5, 'ours'), record('gone', 8, 'late'), record('fresh', 1, 'one'), record('newer', 2, 'two')];
        const outcome = await origin.putMany!(batch);
        assert.ok(outcome !== undefined, `${name} reports what it declined`);
        assert.deepEqual([...outcome.declined].sort(), ['gone', 'older', 'same']);
        const replay = await origin.putMany!([record('fresh', 1, 'one'), tombstone('gone', 9), record('newer', 4, 'four')]);
        assert.deepEqual(replay?.declined, [], 'a replay of what is held, and a newer write, are not declined');
        assert.deepEqual((await origin.putMany!([]))?.declined ?? [], []);
        assert.deepEqual((await origin.putMany!([{ key: 'big', value: { nested: [1, { a: 'b' }] }, version: HLC_VERSION }, { key: 'big', value: { nested: [1, { a: 'b' }] }, version: HLC_VERSION }]))?.declined, []);
        assert.deepEqual((await origin.putMany!([{ key: 'big', value: { nested: [1, { a: 'b' }] }, version: HLC_VERSION }]))?.declined, [], 'an equal value read back from storage is the same write');
      });

      test('keeps the highest version when a batch holds one key several times', async () => {
        const origin = await writable([]);
        await origin.putMany!([record('d', 2, 'two'), record('d', 9, 'nine'), record('d', 4, 'four')]);
        const [d] = await origin.getMany(['d']);
        assert.deepEqual([d?.value, d?.version], ['nine', 9]);
      });

      test('a tombstone hides the key, an older write cannot revive it, a newer one can', async () => {
        const origin = await writable([record('t', 1, 'v1')]);
        await origin.putMany!([tombstone('t', 5)]);
        assert.equal((await origin.getMany(['t']))[0], undefined);
        await origin.putMany!([record('t', 4, 'late')]);
        assert.equal((await origin.getMany(['t']))[0], undefined);
        await origin.putMany!([record('t', 6, 'v6')]);
        assert.equal((await origin.getMany(['t']))[0]?.value, 'v6');
      });

      test('an empty batch resolves and changes nothing', async () => {
        const origin = await writable([record('a', 1, 'one')]);
        await origin.putMany!([]);
        assert.equal((await origin.getMany(['a']))[0]?.value, 'one');
      });

      test('hostile keys are written as keys', async () => {
        const origin = await writable([]);
        await origin.putMany!(HOSTILE_KEYS.map((k, i) => record(k, 100 + i, k)));
        const got = await origin.getMany(HOSTILE_KEYS);
        assert.deepEqual(got.map((r) => r?.value), HOSTILE_KEYS);
      });
    });

    if (!capabilities.changes) {
      test('has no change feed: it has no changes', async () => {
        assert.equal(typeof (await open([])).changes, 'undefined');
      });
    }
    if (capabilities.changes) describe('changes', () => {
      const feed = async (seed: readonly OriginRecord<unknown>[]): Promise<Origin<unknown>> => {
        const origin = await open(seed);
        assert.equal(typeof origin.changes, 'function', `${name} claims a change feed but has no changes`);
        return origin;
      };

      test('answers records after the version, ascending, tombstones included', async () => {
        const origin = await feed([record('c', 30), record('a', 10), tombstone('d', 40), record('b', 20), record('e', HLC_VERSION)]);
        const all = await origin.changes!(0);
        assert.deepEqual(all.map((r) => [r.key, r.version]), [['a', 10], ['b', 20], ['c', 30], ['d', 40], ['e', HLC_VERSION]]);
        assert.equal(all[3].deleted, true);
        assert.notEqual(all[0].deleted, true);
        const since = await origin.changes!(20);
        assert.deepEqual(since.map((r) => r.key), ['c', 'd', 'e']);
        assert.deepEqual(await origin.changes!(HLC_VERSION), []);
      });

      test('reports a write made through putMany after the watermark', async () => {
        const origin = await feed([record('a', 10)]);
        assert.equal(typeof origin.putMany, 'function', `${name} claims a change feed that reports writes, but has no putMany`);
        await origin.putMany!([record('b', 15, 'b'), tombstone('a', 16)]);
        const changed = await origin.changes!(10);
        assert.deepEqual(changed.map((r) => [r.key, r.version, r.deleted === true]), [['b', 15, false], ['a', 16, true]]);
      });
    });
  });
}
