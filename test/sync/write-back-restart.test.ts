/**
 * WriteBack across a restart: what the next process owes the target, and the versions it hands out.
 */
import assert from 'node:assert/strict';
import { cp } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { VirtualClock } from '../../src/clock.ts';
import { MapOrigin } from '../../src/origin/function-origin.ts';
import { WriteBack } from '../../src/sync/write-back.ts';
import { tempDirs } from '../doubles/temp-dirs.ts';
import { DownOrigin } from '../doubles/origins.ts';

const tempDir = tempDirs('prescient-wb-restart-');


test('replayed writes reach the target, the latest per key, so a shared tier stops serving the older copy', async () => {
  const dir = await tempDir();
  const clock = new VirtualClock(1_000_000);
  const lost = { set: () => new Promise<void>(() => {}), delete: () => undefined }; // the process dies before the set lands
  const first = new WriteBack<string>({ origin: new DownOrigin<string>(), dir, clock, groupCommitMs: 0, target: lost });
  await first.start();
  await first.put('item:1', 'v1');
  const latest = await first.put('item:1', 'v2');
  await first.put('item:2', 'w');
  const crashed = join(await tempDir(), 'journal');
  await cp(dir, crashed, { recursive: true }); // the files as a crash leaves them (the lock is per process)
  await first.close();

  const sets: Array<[string, string, number | undefined]> = [];
  const target = { set: (k: string, v: string, o?: { version?: number }) => void sets.push([k, v, o?.version]), delete: () => undefined };
  const next = new WriteBack<string>({ origin: new DownOrigin<string>(), dir: crashed, clock, groupCommitMs: 0, target });
  assert.equal(await next.start(), 3);
  assert.deepEqual(sets.map(([k, v]) => [k, v]).sort(), [['item:1', 'v2'], ['item:2', 'w']], 'one set per key, the latest');
  assert.equal(sets.find(([k]) => k === 'item:1')?.[2], latest.version);
  await next.close();
});

test('after a restart with the clock set back, a new write still gets a higher version than one already flushed', async () => {
  const dir = await tempDir();
  const origin = new MapOrigin<string>();
  const t0 = 1_700_000_000_000;
  const first = new WriteBack<string>({ origin, dir, clock: new VirtualClock(t0), groupCommitMs: 0 });
  await first.start();
  const old = await first.put('user:1', 'old');
  await first.close(); // flushed: the journal is trimmed, nothing to replay
  const next = new WriteBack<string>({ origin, dir, clock: new VirtualClock(t0 - 2000), groupCommitMs: 0 });
  assert.equal(await next.start(), 0);
  const newer = await next.put('user:1', 'new');
  assert.ok(newer.version > old.version, `${newer.version} > ${old.version}`);
  await next.close();
  assert.equal(origin.records.get('user:1')?.value, 'new');
});
