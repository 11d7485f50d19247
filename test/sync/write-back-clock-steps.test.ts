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
