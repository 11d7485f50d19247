/**
 * WriteBack against clocks that disagree: its own wall clock stepped back across a restart (the journal's versions
 * are its own history), a failed start, and a peer whose clock runs far ahead (its versions are refused, and so are
 * local writes that would lose to them at flush).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VirtualClock } from '../../src/clock.ts';
import { isPrescientError } from '../../src/errors.ts';
import { MapOrigin } from '../../src/origin/function-origin.ts';
import type { OriginRecord } from '../../src/origin/origin.ts';
import { counterResolver } from '../../src/sync/conflict.ts';
import { Hlc, HLC_LOGICAL_SPAN } from '../../src/sync/hlc.ts';
import { Journal } from '../../src/sync/journal.ts';
import { RefusedVersions } from '../../src/sync/refused-versions.ts';
import { WriteBack } from '../../src/sync/write-back.ts';
import { DownOrigin } from '../doubles/origins.ts';
import { tempDirs } from '../doubles/temp-dirs.ts';

const tempDir = tempDirs('prescient-wb-clock-');
const T = 1_700_000_000_000;
const isCode = (code: string) => (error: unknown) => isPrescientError(error) && error.code === code;

test('a restart with the wall clock stepped back behind the journal replays its writes and versions carry on above them', async () => {
  const dir = await tempDir();
  const first = new WriteBack<string>({ origin: new DownOrigin<string>(), dir, clock: new VirtualClock(T), groupCommitMs: 0, flushIntervalMs: 1e9 });
  await first.start();
  const acked = await first.put('k', 'acknowledged');
  await first.close(); // the origin is down: the write stays journaled
  const origin = new MapOrigin<string>();
  const clock = new VirtualClock(T - 120_000); // NTP stepped the clock back 2 minutes (over the default maxDriftMs)
  const next = new WriteBack<string>({ origin, dir, clock, groupCommitMs: 0, flushIntervalMs: 1e9 });
  assert.equal(await next.start(), 1);
  const a = await next.put('k2', 'x');
  const b = await next.put('k', 'later');
  assert.ok(a.version > acked.version && b.version > a.version, `${acked.version} < ${a.version} < ${b.version}`);
  await next.flush();
  assert.deepEqual([origin.records.get('k')?.value, origin.records.get('k')?.version], ['later', b.version]);
  await next.close();
});

test('a journal holding a version from a clock far ahead (the year 2200) fails the start naming it, rather than write in 2200 for ever', async () => {
  const dir = await tempDir();
  const first = new WriteBack<string>({ origin: new DownOrigin<string>(), dir, clock: new VirtualClock(Date.UTC(2200, 0, 1)), groupCommitMs: 0, flushIntervalMs: 1e9 });
  await first.start();
  await first.put('k', 'written while the clock read 2200');
  await first.close();
  const next = new WriteBack<string>({ origin: new MapOrigin<string>(), dir, clock: new VirtualClock(T), groupCommitMs: 0, flushIntervalMs: 1e9 });
  await assert.rejects(next.start(), (e) => isCode('ERR_CLOCK_DRIFT')(e) && /maxTrustedAheadMs/.test((e as Error).message));
});

test('a restart with the wall clock behind the checkpoint\'s version (everything flushed) starts and writes above it', async () => {
  const dir = await tempDir();
  const origin = new MapOrigin<string>();
  const first = new WriteBack<string>({ origin, dir, clock: new VirtualClock(T), groupCommitMs: 0, flushIntervalMs: 1e9 });
  await first.start();
  const old = await first.put('k', 'old');
  await first.close(); // flushed and trimmed: only the checkpoint remembers its version
  const next = new WriteBack<string>({ origin, dir, clock: new VirtualClock(T - 120_000), groupCommitMs: 0, flushIntervalMs: 1e9 });
  assert.equal(await next.start(), 0);
  const newer = await next.put('k', 'new');
  assert.ok(newer.version > old.version);
  await next.close();
  assert.equal(origin.records.get('k')?.value, 'new');
});

test('a failed start closes the instance and releases the directory; starting it again says so', async () => {
  const dir = await tempDir();
  const journal = new Journal({ dir, groupCommitMs: 0 });
  await journal.open();
  await journal.append(Buffer.from('not a write-back record'));
  await journal.close();
  const wb = new WriteBack<string>({ origin: new MapOrigin<string>(), dir, clock: new VirtualClock(T), groupCommitMs: 0 });
  await assert.rejects(wb.start(), isCode('ERR_JOURNAL_CORRUPT'));
  await assert.rejects(wb.start(), (e) => isCode('ERR_CLOSED')(e) && isCode('ERR_JOURNAL_CORRUPT')((e as Error).cause) && /cannot start again/.test((e as Error).message));
  await assert.rejects(wb.put('k', 'v'), isCode('ERR_CLOSED'));
  await wb.close();
  const again = new WriteBack<string>({ origin: new MapOrigin<string>(), dir, clock: new VirtualClock(T), groupCommitMs: 0 });
  await assert.rejects(again.start(), isCode('ERR_JOURNAL_CORRUPT'), 'the same fault, not a lock still held by the failed instance');
  await again.close();
});

/** An origin holding `key` at a version written by a peer whose clock runs `aheadMs` ahead of T. */
function originWithFuturePeer(key: string, aheadMs: number): MapOrigin<string> {
  const origin = new MapOrigin<string>();
  origin.records.set(key, { key, value: 'peer', version: (T + aheadMs) * HLC_LOGICAL_SPAN });
  return origin;
}

test('a write to a key whose origin version the clock refused is refused, not acknowledged and lost at flush', async () => {
  const origin = originWithFuturePeer('k', 600_000);
  const clock = new VirtualClock(T);
  const wb = new WriteBack<string>({ origin, dir: await tempDir(), clock, groupCommitMs: 0, flushIntervalMs: 1e9 });
  await wb.start();
  const superseded: string[] = [];
  wb.on('write:superseded', (e) => superseded.push(e.key));
  assert.equal((await wb.reader.getMany(['k']))[0]?.value, 'peer'); // the Hlc refuses the version (too far ahead)
  await assert.rejects(wb.put('k', 'mine'), (e) => isCode('ERR_CLOCK_DRIFT')(e) && /"k"/.test((e as Error).message) && /600000 ms/.test((e as Error).message));
  await assert.rejects(wb.delete('k'), isCode('ERR_CLOCK_DRIFT'));
  assert.deepEqual([wb.stats().acked, wb.stats().pending], [0, 0], 'nothing acknowledged');
  await wb.put('other', 'fine'); // other keys are written as usual
  clock.advance(600_001); // the wall clock passes the peer's version
  const mine = await wb.put('k', 'mine');
  await wb.flush();
  assert.deepEqual(superseded, []);
  assert.deepEqual([origin.records.get('k')?.value, origin.records.get('k')?.version], ['mine', mine.version]);
  await wb.close();
});

test('after a flush the origin declined, the key\'s refused version is learned and later writes to it are refused', async () => {
  const origin = originWithFuturePeer('k', 600_000);
  const wb = new WriteBack<string>({ origin, dir: await tempDir(), clock: new VirtualClock(T), groupCommitMs: 0, flushIntervalMs: 1e9 });
  await wb.start();
  const superseded: string[] = [];
  wb.on('write:superseded', (e) => superseded.push(e.key));
  await wb.put('k', 'never read first'); // nothing told this node of the peer's version yet
  await wb.flush();
  assert.deepEqual(superseded, ['k'], 'the first write is declined and reported');
  await assert.rejects(wb.put('k', 'next'), isCode('ERR_CLOCK_DRIFT'));
  await wb.close();
});

test('with a resolver, the flush\'s read of the current records teaches the refused version too', async () => {
  const origin = new MapOrigin<number>();
  origin.records.set('n', { key: 'n', value: 10, version: (T + 600_000) * HLC_LOGICAL_SPAN });
  const wb = new WriteBack<number>({ origin, dir: await tempDir(), clock: new VirtualClock(T), groupCommitMs: 0, flushIntervalMs: 1e9, resolver: counterResolver });
  await wb.start();
  await wb.put('n', 1); // a delta below the peer's version: the resolver path reads the record before the flush
  await wb.flush();
  await assert.rejects(wb.put('n', 1), isCode('ERR_CLOCK_DRIFT'), 'the next delta is refused, not acknowledged and dropped');
  await wb.close();
});

test('reading back the versions of declined writes never fails the flush the origin already took (a null answer, a throwing getMany)', async () => {
  for (const fault of ['null', 'throws'] as const) {
    const rows = new Map<string, OriginRecord<string>>();
    let puts = 0;
    const origin = {
      getMany: (keys: readonly string[]) => {
        if (fault === 'throws' && puts > 0) throw new Error('origin down');
        return Promise.resolve(keys.map((k) => rows.get(k) ?? null) as never);
      },
      putMany: async (records: readonly OriginRecord<string>[]) => {
        puts++;
        const declined = records.filter((r) => (rows.get(r.key)?.version ?? -1) >= r.version).map((r) => r.key);
        rows.delete('k'); // a hard DELETE commits right after the declined upsert
        return { declined };
      },
    };
    const wb = new WriteBack<string>({ origin, dir: await tempDir(), clock: new VirtualClock(T), groupCommitMs: 0, flushIntervalMs: 1e9 });
    await wb.start();
    const { version } = await wb.put('k', 'old write');
    rows.set('k', { key: 'k', value: 'newer', version: version + 5 });
    await wb.flush();
    await wb.flush();
    assert.equal(puts, 1, `${fault}: the declined write is not sent again`);
    assert.equal(rows.get('k'), undefined, `${fault}: the delete that came since stands`);
    await wb.close();
  }
});

test('the keys with a refused version are bounded: past the cap the oldest refusal is forgotten', () => {
  const clock = new VirtualClock(T);
  const refused = new RefusedVersions(new Hlc({ clock }), undefined, 2);
  const ahead = (T + 600_000) * HLC_LOGICAL_SPAN;
  for (const key of ['a', 'b', 'c']) refused.observe(ahead, key);
  assert.equal(refused.size, 2);
  refused.check('a', T * HLC_LOGICAL_SPAN); // forgotten: no longer refused
  assert.throws(() => refused.check('b', T * HLC_LOGICAL_SPAN), isCode('ERR_CLOCK_DRIFT'));
  assert.throws(() => refused.check('c', T * HLC_LOGICAL_SPAN), isCode('ERR_CLOCK_DRIFT'));
  refused.check('c', ahead + 1); // a version above the refused one passes and ends the refusal
  assert.equal(refused.size, 1);
});

test('the write-back reader checks the origin answer before it merges pending writes into it (out of order, null)', async () => {
  const rows = new Map<string, OriginRecord<number>>([['a', { key: 'a', value: 10, version: 1 }], ['b', { key: 'b', value: 1000, version: 1 }]]);
  let answer: 'reversed' | 'null' | 'plain' = 'plain';
  const origin = {
    getMany: async (keys: readonly string[]) => {
      const records = keys.map((k) => (answer === 'null' ? null : rows.get(k)));
      return (answer === 'reversed' ? records.reverse() : records) as never;
    },
    putMany: async (records: readonly OriginRecord<number>[]) => {
      for (const r of records) rows.set(r.key, r);
      return { declined: [] };
    },
  };
  const wb = new WriteBack<number>({ origin, dir: await tempDir(), clock: new VirtualClock(T), groupCommitMs: 0, flushIntervalMs: 1e9, resolver: counterResolver });
  await wb.start();
  await wb.put('a', 3);
  answer = 'reversed'; // [b, a] for [a, b]: a's delta must not be merged into b's total
  await assert.rejects(wb.reader.getMany(['a', 'b']), isCode('ERR_ORIGIN_FAILED'), 'the read fails; a is not answered 1003');
  answer = 'null'; // null means absent: the pending delta answers over an absent record
  assert.deepEqual((await wb.reader.getMany(['a', 'b'])).map((r) => r?.value), [3, undefined]);
  answer = 'plain';
  assert.deepEqual((await wb.reader.getMany(['a', 'b'])).map((r) => r?.value), [13, 1000]);
  await wb.close();
});

test('the write-back reader: a malformed answer as a whole, where every key has a pending write, is answered by the writes', async () => {
  let answer: unknown = [];
  const origin = { getMany: async () => answer as never, putMany: async () => ({ declined: [] }) };
  const wb = new WriteBack<string>({ origin, dir: await tempDir(), clock: new VirtualClock(T), groupCommitMs: 0, flushIntervalMs: 1e9 });
  await wb.start();
  await wb.put('a', 'mine');
  for (const malformed of [[], {}, [undefined, undefined]]) {
    answer = malformed;
    assert.deepEqual((await wb.reader.getMany(['a'])).map((r) => r?.value), ['mine'], JSON.stringify(malformed));
  }
  answer = [];
  await assert.rejects(wb.reader.getMany(['a', 'b']), isCode('ERR_ORIGIN_FAILED'), 'b has no pending write: the origin must answer for it');
  await wb.close();
});
