import assert from 'node:assert/strict';
import { open, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Cache } from '../../src/cache/cache.ts';
import { flushMicrotasks, VirtualClock } from '../../src/clock.ts';
import { isPrescientError } from '../../src/errors.ts';
import { MapOrigin } from '../../src/origin/function-origin.ts';
import { jsonRoundTripLoss } from '../../src/sync/json-round-trip.ts';
import { Journal } from '../../src/sync/journal.ts';
import { encodeFrame, FRAME_HEADER_BYTES, MAX_FRAME_PAYLOAD_BYTES } from '../../src/sync/journal-format.ts';
import { WriteBack, type WriteBackOptions } from '../../src/sync/write-back.ts';
import { tempDirs } from '../doubles/temp-dirs.ts';
import { DownOrigin } from '../doubles/origins.ts';

const tempDir = tempDirs('prescient-wb-faults-');


const coded = (code: string) => (error: unknown) => isPrescientError(error) && error.code === code;

async function opened<V>(dir: string, options: Partial<WriteBackOptions<V>> = {}): Promise<WriteBack<V>> {
  const wb = new WriteBack<V>({ origin: new DownOrigin<V>(), dir, clock: new VirtualClock(1_000_000), groupCommitMs: 0, ...options });
  await wb.start();
  return wb;
}

async function segmentFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.endsWith('.seg')).sort();
}

describe('WriteBack: a record over the journal frame limit', () => {
  test('is refused at put with ERR_VALUE_TOO_LARGE before anything is journaled or acknowledged', async () => {
    const dir = await tempDir();
    const wb = await opened<string>(dir);
    let big: string | undefined = 'x'.repeat(MAX_FRAME_PAYLOAD_BYTES);
    await assert.rejects(wb.put('big', big), coded('ERR_VALUE_TOO_LARGE'));
    big = undefined;
    assert.equal(wb.stats().acked, 0);
    assert.equal(wb.stats().journalBytes, 0, 'nothing was written to the journal');
    assert.equal(wb.pendingRecord('big'), undefined);
    await wb.put('small', 'ok');
    await wb.close();

    const again = await opened<string>(dir);
    assert.equal(again.stats().replayed, 1, 'the journal opens and holds the later write');
    assert.equal(again.pendingRecord('small')?.value, 'ok');
    await again.close();
  });

  test('Journal.append refuses it without taking a sequence number', async () => {
    const journal = new Journal({ dir: await tempDir(), groupCommitMs: 0 });
    await journal.open();
    await assert.rejects(journal.append(new Uint8Array(MAX_FRAME_PAYLOAD_BYTES + 1)), coded('ERR_VALUE_TOO_LARGE'));
    assert.equal(await journal.append(Buffer.from('next')), 1);
    assert.equal(journal.bytes, FRAME_HEADER_BYTES + 4);
    await journal.close();
  });

  test('a frame longer than the limit that the segment does hold is corruption, and the segment is kept', async () => {
    const dir = await tempDir();
    const path = join(dir, `${'1'.padStart(20, '0')}.seg`);
    const header = encodeFrame(1, Buffer.alloc(0));
    header.writeUInt32LE(MAX_FRAME_PAYLOAD_BYTES + 1, 0);
    const file = await open(path, 'w');
    await file.write(header);
    await file.truncate(FRAME_HEADER_BYTES + MAX_FRAME_PAYLOAD_BYTES + 1); // sparse: no 64 MiB buffer to write
    await file.close();
    await assert.rejects(new Journal({ dir }).open(), coded('ERR_JOURNAL_CORRUPT'));
    assert.equal((await stat(path)).size, FRAME_HEADER_BYTES + MAX_FRAME_PAYLOAD_BYTES + 1, 'not truncated as a torn tail');
  });

  test('a frame claiming more than the limit with fewer bytes behind it is still a torn tail, cut off', async () => {
    const dir = await tempDir();
    const path = join(dir, `${'1'.padStart(20, '0')}.seg`);
    const good = encodeFrame(1, Buffer.from('kept'));
    const torn = encodeFrame(2, Buffer.from('cut short'));
    torn.writeUInt32LE(MAX_FRAME_PAYLOAD_BYTES + 1, 0);
    await writeFile(path, Buffer.concat([good, torn]));
    const journal = new Journal({ dir, groupCommitMs: 0 });
    const frames = await journal.open();
    assert.deepEqual(frames.map((f) => f.payload.toString()), ['kept']);
    assert.equal((await stat(path)).size, good.length);
    await journal.close();
    assert.deepEqual(await segmentFiles(dir), [`${'1'.padStart(20, '0')}.seg`]);
  });
});

describe('WriteBack: values JSON would change', () => {
  class Point {
    x = 1;
  }
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic.self = cyclic;
  const refused: Array<[string, unknown, string]> = [
    ['NaN', { n: Number.NaN }, '$.n'],
    ['Infinity', [1, Number.POSITIVE_INFINITY], '$[1]'],
    ['-Infinity', Number.NEGATIVE_INFINITY, '$ '],
    ['a Date', { at: new Date('2024-05-01T00:00:00Z') }, '$.at'],
    ['undefined inside an array', { list: [1, undefined] }, '$.list[1]'],
    ['a hole in an array', { list: [1, , 3] }, '$.list[1]'], // eslint-disable-line no-sparse-arrays
    ['a bigint', { 'odd key': 1n }, '$["odd key"]'],
    ['a Map', { m: new Map([['a', 1]]) }, '$.m'],
    ['a Set', new Set([1]), '$ '],
    ['a class instance', { p: new Point() }, '$.p'],
    ['a function property', { f: () => 1 }, '$.f'],
    ['a symbol', { s: Symbol('s') }, '$.s'],
    ['a toJSON method', { v: { toJSON: () => 'x' } }, '$.v'],
    ['a cycle', { c: cyclic }, '$.c.self'],
    ['undefined', undefined, '$ '],
  ];
  for (const [what, value, path] of refused) {
    test(`refuses ${what} at put with ERR_INVALID_VALUE naming ${path.trim()}`, async () => {
      const wb = await opened<unknown>(await tempDir());
      await assert.rejects(wb.put('k', value), (error: unknown) => {
        assert.ok(coded('ERR_INVALID_VALUE')(error), String(error));
        assert.ok((error as Error).message.includes(`: ${path}`), `names the path ${path}: ${(error as Error).message}`);
        return true;
      });
      assert.equal(wb.stats().acked, 0);
      assert.equal(wb.stats().journalBytes, 0);
      await wb.close();
    });
  }

  test('accepts plain JSON data, null-prototype objects, -0, and properties holding undefined (absent either way)', () => {
    const bare = Object.assign(Object.create(null) as object, { a: 1 });
    for (const value of [null, 0, -0, 'é\u0000', true, [], {}, { a: [1, 'x', null, { b: false }] }, bare, [[[]]], { u: undefined, n: { v: undefined } }]) {
      assert.equal(jsonRoundTripLoss(value), undefined, JSON.stringify(value));
    }
  });

  test('a property holding undefined is served absent, before a restart as after', async () => {
    const dir = await tempDir();
    const wb = await opened<{ a: number; u?: number }>(dir);
    await wb.put('k', { a: 1, u: undefined });
    const served = (await wb.reader.getMany(['k']))[0]?.value;
    assert.deepEqual(served, { a: 1 });
    assert.equal(Object.hasOwn(served as object, 'u'), false);
    await wb.close();
    const again = await opened<{ a: number; u?: number }>(dir);
    assert.deepEqual((await again.reader.getMany(['k']))[0]?.value, { a: 1 });
    await again.close();
  });

  test('the reader, the target and a replay all serve the journaled value, not the caller\'s object', async () => {
    const dir = await tempDir();
    const set: unknown[] = [];
    const target = { set: (_k: string, v: unknown) => void set.push(v), delete: () => undefined };
    const wb = await opened<{ list: number[]; zero: number }>(dir, { target });
    const value = { list: [1, 2], zero: -0 };
    await wb.put('k', value);
    value.list.push(3); // the caller keeps using its object
    const served = (await wb.reader.getMany(['k']))[0]?.value;
    assert.deepEqual(served, { list: [1, 2], zero: 0 });
    assert.ok(Object.is(served?.zero, 0), '-0 is served as JSON gives it back');
    assert.deepEqual(set, [served]);
    assert.notEqual(set[0], value);
    await wb.close();

    const again = await opened<{ list: number[]; zero: number }>(dir);
    assert.deepEqual((await again.reader.getMany(['k']))[0]?.value, served);
    await again.close();
  });
});

describe('WriteBack: a write the target refuses', () => {
  type Call = [string, string, unknown];
  function targetFailing(how: 'throws' | 'rejects', deleteFails = false) {
    const calls: Call[] = [];
    const fail = (): unknown => {
      const error = new Error('target refused');
      if (how === 'throws') throw error;
      return Promise.reject(error);
    };
    return {
      calls,
      target: {
        set: (key: string, _v: unknown, options: { version: number }) => (calls.push(['set', key, options]), fail()),
        delete: (key: string, options: { maxVersion: number }) => (calls.push(['delete', key, options]), deleteFails ? fail() : Promise.resolve(true)),
      },
    };
  }

  for (const how of ['throws', 'rejects'] as const) {
    test(`deletes the target's copy up to the write's version when set ${how}, and logs it`, async () => {
      const { calls, target } = targetFailing(how);
      const warnings: string[] = [];
      const wb = await opened<string>(await tempDir(), { target, logger: { warn: (_d, m) => warnings.push(m) } });
      const { version } = await wb.put('k', 'v2');
      for (let i = 0; i < 10; i++) await flushMicrotasks();
      assert.deepEqual(calls, [['set', 'k', { version }], ['delete', 'k', { maxVersion: version }]]);
      assert.equal(warnings.length, 1);
      await wb.close();
    });
  }

  test('logs both failures when the fallback delete fails too', async () => {
    const { calls, target } = targetFailing('rejects', true);
    const warnings: string[] = [];
    const wb = await opened<string>(await tempDir(), { target, logger: { warn: (_d, m) => warnings.push(m) } });
    await wb.put('k', 'v2');
    for (let i = 0; i < 10; i++) await flushMicrotasks();
    assert.deepEqual(calls.map((c) => c[0]), ['set', 'delete']);
    assert.equal(warnings.length, 2);
    await wb.close();
  });

  test('a Cache that refuses the new value (over maxEntryBytes) stops serving its older copy', async () => {
    const clock = new VirtualClock(1_000_000);
    const origin = new MapOrigin<string>();
    await origin.putMany([{ key: 'k', value: 'v1', version: 1 }]);
    let cache: Cache<string> | undefined;
    const wb = new WriteBack<string>({
      origin, dir: await tempDir(), clock, groupCommitMs: 0, logger: { warn: () => undefined },
      target: { set: (k, v, o) => cache!.set(k, v, o), delete: (k, o) => cache!.delete(k, o) },
    });
    cache = new Cache<string>({ origin: wb.reader, clock, prefetch: false, maxEntryBytes: 1000 });
    await wb.start();
    assert.equal((await cache.get('k')).value, 'v1');
    const big = `v2 ${'x'.repeat(2000)}`;
    await wb.put('k', big);
    await wb.flush();
    for (let i = 0; i < 10; i++) await flushMicrotasks();
    assert.equal((await cache.get('k')).value, big, 'read through to the new value, not the older cached copy');
    await wb.close();
    await cache.close();
  });
});
