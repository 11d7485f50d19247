/**
 * TieredOrigin: the Origin contract with every record live (a stale archive behind it) and with every record
 * archived (a read-only empty live store); archive fallback over two PGlite tables; tombstones; statistics on
 * a VirtualClock; an archive outage failing only the keys that needed the archive (`getManySettled`).
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { PGlite } from '@electric-sql/pglite';
import { VirtualClock } from '../../src/clock.ts';
import { isPrescientError } from '../../src/errors.ts';
import { FunctionOrigin, MapOrigin } from '../../src/origin/function-origin.ts';
import { isOriginFailure, type OriginRecord } from '../../src/origin/origin.ts';
import { PgliteOrigin } from '../../src/origin/pglite-origin.ts';
import { TieredOrigin } from '../../src/origin/tiered-origin.ts';
import { originContract } from '../contracts/origin.contract.ts';

const mapOf = (records: readonly OriginRecord<unknown>[]): MapOrigin<unknown> => {
  const origin = new MapOrigin<unknown>();
  for (const r of records) origin.records.set(r.key, r);
  return origin;
};

originContract('TieredOrigin (live holds all, stale archive behind)', (seed) => new TieredOrigin({
  live: mapOf(seed),
  archive: mapOf(seed.map((r) => ({ key: r.key, value: 'stale archive copy', version: 0 }))),
}));

originContract('TieredOrigin (archive holds all, read-only live)', (seed) => new TieredOrigin({
  live: new FunctionOrigin<unknown>({ getMany: async (keys) => keys.map(() => undefined) }),
  archive: mapOf(seed),
}), undefined, { writes: false, changes: false });

describe('TieredOrigin', () => {
  const db = new PGlite();
  after(async () => { await db.close(); });

  test('reads the live table first and the archive table for the rest, in two calls', async () => {
    await PgliteOrigin.ensureTable(db, 'live_items');
    await PgliteOrigin.ensureTable(db, 'archive_items');
    const live = new PgliteOrigin({ db, table: 'live_items' });
    const archive = new PgliteOrigin({ db, table: 'archive_items' });
    await live.putMany([{ key: 'hot', value: 'live', version: 5 }, { key: 'both', value: 'live', version: 9 }, { key: 'gone', value: undefined, version: 9, deleted: true }]);
    await archive.putMany([{ key: 'cold', value: 'archive', version: 1 }, { key: 'both', value: 'archive', version: 1 }, { key: 'gone', value: 'archive', version: 1 }]);
    const tiered = new TieredOrigin({ live, archive });
    const got = await tiered.getMany(['hot', 'cold', 'both', 'none', 'gone', 'cold']);
    assert.deepEqual(got.map((r) => r?.value), ['live', 'archive', 'live', undefined, undefined, 'archive']);
    const stats = tiered.stats();
    assert.deepEqual([stats.live.calls, stats.live.keys, stats.live.found], [1, 6, 2]);
    assert.deepEqual([stats.archive.calls, stats.archive.keys, stats.archive.found], [1, 2, 1], 'the tombstoned key is not asked of the archive');
    await tiered.putMany!([{ key: 'cold', value: 'promoted', version: 2 }]);
    assert.equal((await live.getMany(['cold']))[0]?.value, 'promoted');
    assert.deepEqual((await tiered.changes!(8)).map((r) => r.key), ['both', 'gone']);
    const records = await tiered.getRecords!(['gone', 'hot', 'none']);
    assert.deepEqual(records.map((r) => [r?.deleted === true, r?.version]), [[true, 9], [false, 5], [false, undefined]], 'getRecords answers the live tombstone');
    const settled = await tiered.getRecordsSettled!(['gone', 'cold']);
    assert.deepEqual(settled.map((r) => (r as OriginRecord<unknown> | undefined)?.deleted === true), [true, false], 'and so does getRecordsSettled');
    await tiered.close();
  });

  test('has no putMany, changes or getRecords when the live store has none', () => {
    const tiered = new TieredOrigin({ live: new FunctionOrigin({ getMany: async (keys) => keys.map(() => undefined) }), archive: new MapOrigin() });
    assert.equal(tiered.putMany, undefined);
    assert.equal(tiered.changes, undefined);
    assert.equal(tiered.getRecords, undefined, 'no tombstones to answer either');
    assert.equal(tiered.getRecordsSettled, undefined);
  });

  test('measures each store: count, mean, p50 and p99 from a fixed-bucket histogram', async () => {
    const clock = new VirtualClock(0);
    let call = 0;
    const live = new FunctionOrigin<string>({ getMany: async (keys) => { clock.advance(++call % 50 === 0 ? 400 : 2); return keys.map(() => undefined); } });
    const archive = new FunctionOrigin<string>({ getMany: async (keys) => { clock.advance(30); return keys.map((key) => ({ key, value: key, version: 1 })); } });
    const tiered = new TieredOrigin({ live, archive, clock });
    for (let i = 0; i < 200; i++) await tiered.getMany([`k${i}`]);
    const { live: l, archive: a } = tiered.stats();
    assert.equal(l.calls, 200);
    assert.equal(a.calls, 200);
    assert.equal(a.found, 200);
    assert.ok(Math.abs(l.meanMs - (196 * 2 + 4 * 400) / 200) < 1e-9);
    assert.equal(l.p50Ms, 2.5, 'a 2 ms call is reported as its bucket bound, 2.5 ms');
    assert.equal(l.p99Ms, 400, 'the slowest 2% reach the (250, 500] bucket, reported as the 400 ms maximum seen');
    assert.equal(a.p50Ms, 30);
    assert.equal(a.meanMs, 30);
  });

  test('a failing store rejects with an OriginError and counts the error', async () => {
    const tiered = new TieredOrigin({
      live: new MapOrigin(),
      archive: new FunctionOrigin({ getMany: async () => { throw new Error('archive down'); } }),
    });
    await assert.rejects(tiered.getMany(['x']), (e) => isPrescientError(e, 'ERR_ORIGIN_FAILED') && (e as Error).cause instanceof Error);
    assert.equal(tiered.stats().archive.errors, 1);
    assert.throws(() => new TieredOrigin({ live: {} as never, archive: new MapOrigin() }), (e) => isPrescientError(e, 'ERR_INVALID_OPTION'));
  });

  test('archive down: getManySettled answers the live keys and an OriginFailure for each archive-only key', async () => {
    let isArchiveDown = false;
    const archived = mapOf([{ key: 'cold', value: 'archive', version: 1 }, { key: 'cold2', value: 'archive', version: 1 }]);
    const live = mapOf([{ key: 'hot', value: 'live', version: 5 }, { key: 'gone', value: undefined, version: 9, deleted: true }]);
    const tiered = new TieredOrigin<unknown>({
      live,
      archive: new FunctionOrigin({ getMany: async (keys) => { if (isArchiveDown) throw new Error('archive down'); return archived.getMany(keys); } }),
    });
    const keys = ['hot', 'cold', 'gone', 'none', 'cold'];
    const up = await tiered.getManySettled(keys);
    assert.deepEqual(up.map((a) => (isOriginFailure(a) ? 'failed' : a?.value)), ['live', 'archive', undefined, undefined, 'archive']);

    isArchiveDown = true;
    const down = await tiered.getManySettled(keys);
    assert.deepEqual(down.map((a) => (isOriginFailure(a) ? 'failed' : a?.value)), ['live', 'failed', undefined, 'failed', 'failed'],
      'the live record and the live tombstone stand; every key that needed the archive fails');
    const failure = down[1];
    assert.ok(isOriginFailure(failure));
    assert.ok(isPrescientError(failure.error, 'ERR_ORIGIN_FAILED'));
    assert.equal((failure.error.cause as Error).message, 'archive down');
    assert.equal(tiered.stats().archive.errors, 1);

    await assert.rejects(tiered.getMany(keys), (e) => isPrescientError(e, 'ERR_ORIGIN_FAILED'), 'getMany stays all-or-nothing');
    await assert.rejects(tiered.getManySettled(['cold', 'none']), (e) => isPrescientError(e, 'ERR_ORIGIN_FAILED'),
      'with no key answered live, the call rejects as a whole');
    assert.deepEqual((await tiered.getManySettled(['hot', 'gone'])).map((a) => (isOriginFailure(a) ? 'failed' : a?.value)), ['live', undefined],
      'a batch the live store answers alone does not touch the archive');
  });

  test('a failing live store rejects getManySettled as a whole', async () => {
    const tiered = new TieredOrigin({
      live: new FunctionOrigin({ getMany: async () => { throw new Error('live down'); } }),
      archive: new MapOrigin(),
    });
    await assert.rejects(tiered.getManySettled(['x', 'y']), (e) => isPrescientError(e, 'ERR_ORIGIN_FAILED'));
    assert.equal(tiered.stats().archive.calls, 0);
  });
});

test('a store answering the wrong number of records, or out of order, fails with ERR_ORIGIN_FAILED naming the keys', async () => {
  const short = new FunctionOrigin<string>({ getMany: async () => [] });
  const swapped = new FunctionOrigin<string>({ getMany: async (keys) => [...keys].reverse().map((key) => ({ key, value: key, version: 1 })) });
  for (const live of [short, swapped]) {
    const tiered = new TieredOrigin<string>({ live, archive: new MapOrigin<string>([]) });
    await assert.rejects(tiered.getMany(['a', 'b']), (e) => isPrescientError(e, 'ERR_ORIGIN_FAILED') && (e as { keys?: string[] }).keys?.join() === 'a,b');
  }
});

test('a store that answers null for a key it lacks is read as absent, not as a failure of the whole call', async () => {
  const live = new FunctionOrigin<unknown>({ getMany: async (keys) => keys.map((k) => (k === 'a' ? { key: 'a', value: 'live', version: 3 } : null)) as never });
  const archive = new FunctionOrigin<unknown>({ getMany: async (keys) => keys.map((k) => (k === 'z' ? { key: 'z', value: 'archived', version: 1 } : null)) as never });
  const origin = new TieredOrigin({ live, archive });
  const answers = await origin.getMany(['a', 'z', 'nowhere']);
  assert.deepEqual(answers.map((r) => r?.value), ['live', 'archived', undefined]);
  await origin.close();
});
