import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PrescientError } from '../../src/errors.ts';
import { FunctionOrigin } from '../../src/origin/function-origin.ts';
import { OriginFailure, type OriginRecord } from '../../src/origin/origin.ts';
import { VirtualClock } from '../../src/clock.ts';
import { pendingWaitMs, readThrough } from '../../src/sync/write-back-reader.ts';

const rec = (key: string, value: string, version: number): OriginRecord<string> => ({ key, value, version });

function read(origin: FunctionOrigin<string>, keys: string[], pending: Record<string, OriginRecord<string>[]>, isSettled = false, clock = new VirtualClock(0)) {
  return readThrough<string>({ origin, keys, options: undefined, isSettled, pending: (k) => pending[k] ?? [], resolver: undefined, observe: () => {}, clock });
}

test('a key with a pending write answers the newer of it and the origin: another node\'s later write wins', async () => {
  let asked: readonly string[] = [];
  const origin = new FunctionOrigin<string>({
    getMany: async (keys) => {
      asked = keys;
      return keys.map((k) => (k === 'k' ? rec('k', 'B (newer, flushed by another node)', 10) : undefined));
    },
  });
  const [answer] = await read(origin, ['k'], { k: [rec('k', 'A (older, pending here)', 5)] });
  assert.deepEqual(asked, ['k'], 'the origin is asked even though a write is pending');
  assert.equal((answer as OriginRecord<string>).value, 'B (newer, flushed by another node)');
  const [own] = await read(origin, ['k'], { k: [rec('k', 'A (newest)', 11)] });
  assert.equal((own as OriginRecord<string>).value, 'A (newest)', 'a pending write newer than the origin still answers');
});

test('while the origin fails, pending writes still answer for their keys; keys without one fail as before', async () => {
  const origin = new FunctionOrigin<string>({ getMany: async () => Promise.reject(new Error('connection refused')) });
  const [pendingKey] = await read(origin, ['k'], { k: [rec('k', 'A', 5)] });
  assert.equal((pendingKey as OriginRecord<string>).value, 'A');
  await assert.rejects(read(origin, ['k', 'other'], { k: [rec('k', 'A', 5)] }), /connection refused/);
  const settled = Object.assign(new FunctionOrigin<string>({ getMany: async () => [] }), {
    getManySettled: async (keys: readonly string[]) => keys.map(() => new OriginFailure(new PrescientError('ERR_ORIGIN_TIMEOUT', 'timeout'))),
  });
  const [k, other] = await read(settled, ['k', 'other'], { k: [rec('k', 'A', 5)] }, true);
  assert.equal((k as OriginRecord<string>).value, 'A', 'a per-key failure of a pending key answers the pending write');
  assert.ok(other instanceof OriginFailure);
});

test('a slow or hanging origin holds the reads of just-written keys for pendingWaitMs at most, then the pending write answers', async () => {
  const clock = new VirtualClock(0);
  const hanging = new FunctionOrigin<string>({ getMany: () => new Promise(() => {}) });
  let answer: unknown;
  const reading = read(hanging, ['k'], { k: [rec('k', 'A', 5)] }, false, clock).then((a) => (answer = a));
  await clock.advanceAsync(pendingWaitMs - 1);
  assert.equal(answer, undefined, 'still waiting for the origin');
  await clock.advanceAsync(1);
  await reading;
  assert.equal((answer as unknown as Array<OriginRecord<string>>)[0].value, 'A');
  assert.equal(clock.pendingTimers, 0, 'no timer left behind');
});

test('a flush that commits while the origin reads (its answer older than the flush) still answers the acknowledged write', async () => {
  let pending: Record<string, OriginRecord<string>[]> = { k: [rec('k', 'NEW (acknowledged)', 9)] };
  let answer!: (records: Array<OriginRecord<string> | undefined>) => void;
  const origin = new FunctionOrigin<string>({
    getMany: () => new Promise((resolve) => (answer = resolve)), // reads a snapshot taken before the flush committed
  });
  const clock = new VirtualClock(0);
  const reading = readThrough<string>({ origin, keys: ['k', 'other'], options: undefined, isSettled: false, pending: (k) => pending[k] ?? [], resolver: undefined, observe: () => {}, clock });
  pending = {}; // the flush committed and settled the write
  answer([rec('k', 'OLD', 1), undefined]);
  const [k] = await reading;
  assert.equal((k as OriginRecord<string>).value, 'NEW (acknowledged)');
});

test('when the origin is slower than pendingWaitMs and the flush settles meanwhile, the write still answers: no 404', async () => {
  let pending: Record<string, OriginRecord<string>[]> = { k: [rec('k', 'NEW', 9)] };
  const clock = new VirtualClock(0);
  const hanging = new FunctionOrigin<string>({ getMany: () => new Promise(() => {}) });
  const reading = readThrough<string>({ origin: hanging, keys: ['k'], options: undefined, isSettled: false, pending: (k) => pending[k] ?? [], resolver: undefined, observe: () => {}, clock });
  pending = {};
  await clock.advanceAsync(pendingWaitMs);
  const [k] = await reading;
  assert.equal((k as OriginRecord<string>)?.value, 'NEW');
});

test('another node\'s delete newer than a pending write wins (the origin\'s tombstone, asked through getRecords); an older one does not', async () => {
  const tombstone = { key: 'k', value: undefined as unknown as string, version: 10, deleted: true };
  let asked = '';
  const origin = Object.assign(
    new FunctionOrigin<string>({
      getMany: async (keys) => {
        asked = 'getMany';
        return keys.map(() => undefined); // a tombstone reads as a mere absence here
      },
    }),
    {
      getRecords: async (keys: readonly string[]) => {
        asked = 'getRecords';
        return keys.map((k) => (k === 'k' ? tombstone : undefined));
      },
    },
  );
  await read(origin, ['k'], {});
  assert.equal(asked, 'getMany', 'with nothing pending, the origin is asked as always');
  const [older] = await read(origin, ['k'], { k: [rec('k', 'A (pending here)', 5)] });
  assert.equal(asked, 'getRecords');
  assert.equal(older, undefined, 'the delete at version 10 supersedes the pending write at 5');
  const [newer] = await read(origin, ['k'], { k: [rec('k', 'A (pending, newest)', 11)] });
  assert.equal((newer as OriginRecord<string>).value, 'A (pending, newest)');
  const resolver = (p: OriginRecord<string>, current: OriginRecord<string> | undefined): OriginRecord<string> => ({ ...p, value: `${current?.value ?? '∅'}+${p.value}` });
  const merge = (pending: OriginRecord<string>[]) =>
    readThrough<string>({ origin, keys: ['k'], options: undefined, isSettled: false, pending: () => pending, resolver, observe: () => {}, clock: new VirtualClock(0) });
  assert.deepEqual(await merge([rec('k', 'a', 5)]), [undefined], 'with a resolver too, a write older than the delete is gone');
  assert.equal(((await merge([rec('k', 'a', 5), rec('k', 'b', 12)]))[0] as OriginRecord<string>).value, '∅+b', 'and a newer one merges into nothing');
});

test('through an origin with per-key failures, another node\'s newer delete wins too (getRecordsSettled)', async () => {
  const tombstone = { key: 'k', value: undefined as unknown as string, version: 10, deleted: true };
  let asked = '';
  const origin = Object.assign(new FunctionOrigin<string>({ getMany: async (keys) => keys.map(() => undefined) }), {
    getManySettled: async (keys: readonly string[]) => {
      asked = 'getManySettled';
      return keys.map(() => undefined); // a tombstone reads as a mere absence here
    },
    getRecordsSettled: async (keys: readonly string[]) => {
      asked = 'getRecordsSettled';
      return keys.map((k) => (k === 'k' ? tombstone : new OriginFailure(new PrescientError('ERR_ORIGIN_TIMEOUT', 'archive timed out'))));
    },
  });
  await read(origin, ['k'], {}, true);
  assert.equal(asked, 'getManySettled', 'with nothing pending, the origin is asked as always');
  const [older, other] = await read(origin, ['k', 'other'], { k: [rec('k', 'A (pending here)', 5)] }, true);
  assert.equal(asked, 'getRecordsSettled');
  assert.equal(older, undefined, 'the delete at version 10 supersedes the pending write at 5');
  assert.ok(other instanceof OriginFailure, 'a key the origin could not read still fails alone');
  const [newer] = await read(origin, ['k'], { k: [rec('k', 'A (pending, newest)', 11)] }, true);
  assert.equal((newer as OriginRecord<string>).value, 'A (pending, newest)');
});
