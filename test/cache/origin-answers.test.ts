/**
 * What a plain origin answers is checked before anything is served or cached (src/origin/check-answer.ts): an answer
 * that is not one per key fails the batch, a bad record fails its own key only, a tombstone reads as absent.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Cache } from '../../src/cache/cache.ts';
import { Loader } from '../../src/cache/loader.ts';
import { VirtualClock } from '../../src/clock.ts';
import { isPrescientError, PrescientError } from '../../src/errors.ts';
import { checkAnswers } from '../../src/origin/check-answer.ts';
import { FunctionOrigin } from '../../src/origin/function-origin.ts';
import { isOriginFailure, OriginFailure } from '../../src/origin/origin.ts';

const good = (key: string) => ({ key, value: `value-of-${key}`, version: 1 });

/** A Cache over an origin whose answer `answer` makes until `fix()` is called; then it answers correctly. */
function cacheOver(answer: (keys: readonly string[]) => unknown) {
  let isFixed = false;
  let calls = 0;
  const origin = new FunctionOrigin<string>({
    getMany: async (keys) => {
      calls++;
      return (isFixed ? keys.map(good) : answer(keys)) as never;
    },
  });
  const cache = new Cache<string>({ origin, clock: new VirtualClock(0) });
  return { cache, fix: () => { isFixed = true; }, calls: () => calls };
}

/** Reads `a` and `b` in one batch: each read's value, or the code it was rejected with. */
async function readBoth(cache: Cache<string>): Promise<Array<string | undefined>> {
  const settled = await Promise.allSettled([cache.get('a'), cache.get('b')]);
  return settled.map((s) => (s.status === 'fulfilled' ? s.value.value : (s.reason as PrescientError).code));
}

describe('answers a plain origin cannot be matched to its keys fail the whole batch', () => {
  const cases: Array<[string, (keys: readonly string[]) => unknown]> = [
    ['a short array', (keys) => [good(keys[0])]],
    ['a long array', (keys) => [...keys.map(good), good('extra')]],
    ['no array', () => ({ a: good('a') })],
    ['undefined', () => undefined],
  ];
  for (const [name, answer] of cases) {
    test(`${name}: every read of the batch fails with ERR_ORIGIN_FAILED and nothing is cached`, async () => {
      const { cache, fix, calls } = cacheOver(answer);
      assert.deepEqual(await readBoth(cache), ['ERR_ORIGIN_FAILED', 'ERR_ORIGIN_FAILED']);
      assert.equal(cache.peek('a'), undefined);
      assert.equal(cache.stats().origin.failedBatches, 1);
      fix();
      assert.deepEqual(await readBoth(cache), ['value-of-a', 'value-of-b'], 'the next reads ask the origin again');
      assert.equal(calls(), 2);
      await cache.close();
    });
  }
});

describe('a bad record fails only its own key and is never cached', () => {
  const cases: Array<[string, unknown]> = [
    ['a record for another key', { key: 'z', value: 'zz', version: 1 }],
    ['a key that is not a string', { key: 42, value: 'x', version: 1 }],
    ['a NaN version', { key: 'b', value: 'x', version: Number.NaN }],
    ['a negative version', { key: 'b', value: 'x', version: -1 }],
    ['a fractional version', { key: 'b', value: 'x', version: 1.5 }],
    ['an unsafe version (2^53)', { key: 'b', value: 'x', version: 2 ** 53 }],
    ['a version that is a string', { key: 'b', value: 'x', version: '3' }],
    ['a missing version', { key: 'b', value: 'x' }],
    ['a number', 5],
    ['a string', 'value-of-b'],
  ];
  for (const [name, bad] of cases) {
    test(`${name}: the neighbour is served and cached, the key fails with ERR_ORIGIN_FAILED`, async () => {
      const { cache, fix } = cacheOver((keys) => keys.map((k) => (k === 'b' ? bad : good(k))));
      assert.deepEqual(await readBoth(cache), ['value-of-a', 'ERR_ORIGIN_FAILED']);
      assert.equal(cache.peek('a')?.value, 'value-of-a');
      assert.equal(cache.peek('b'), undefined, 'the bad record is not cached');
      fix();
      const b = await cache.get('b');
      assert.deepEqual([b.value, b.status], ['value-of-b', 'miss'], 'the next read of the key asks the origin again');
      await cache.close();
    });
  }

  test('records out of order: no value is served or cached under another key', async () => {
    const { cache, fix } = cacheOver((keys) => [...keys].reverse().map(good));
    assert.deepEqual(await readBoth(cache), ['ERR_ORIGIN_FAILED', 'ERR_ORIGIN_FAILED']);
    assert.equal(cache.peek('a'), undefined);
    assert.equal(cache.peek('b'), undefined);
    fix();
    assert.deepEqual(await readBoth(cache), ['value-of-a', 'value-of-b']);
    await cache.close();
  });

  test('the batch is reported with its failed keys', async () => {
    const batches: Array<[boolean, readonly string[]]> = [];
    const loader = new Loader<string>({
      origin: { getMany: async (keys) => keys.map((k) => (k === 'b' ? { key: 'b', value: 'x', version: -1 } : good(k))) },
      maxBatch: 8, isUsable: () => true, onLoaded: () => {},
      onOriginBatch: (_keys, _purpose, isOk, failed) => batches.push([isOk, [...failed]]),
    });
    const [a, b] = [loader.load('a', 'demand'), loader.load('b', 'demand')];
    const outcome = await a.promise;
    assert.ok(outcome.from === 'origin' && outcome.record.value === 'value-of-a');
    await assert.rejects(b.promise, (e) => isPrescientError(e, 'ERR_ORIGIN_FAILED') && (e as { keys?: string[] }).keys?.join() === 'b');
    assert.deepEqual(batches, [[false, ['b']]]);
  });
});

describe('absences', () => {
  test('a tombstone from getMany reads as absent, not as found with an undefined value', async () => {
    const { cache } = cacheOver((keys) => keys.map((key) => ({ key, value: undefined, version: 3, deleted: true })));
    const a = await cache.get('a');
    assert.deepEqual([a.isFound, a.value, a.version], [false, undefined, 0]);
    assert.equal(cache.peek('a'), undefined);
    await cache.close();
  });

  test('null reads as absent and a record without a key stands for the key asked', async () => {
    const { cache } = cacheOver((keys) => keys.map((k) => (k === 'a' ? null : { value: 'keyless', version: 2 })));
    const [a, b] = await Promise.all([cache.get('a'), cache.get('b')]);
    assert.equal(a.isFound, false);
    assert.deepEqual([b.value, b.version], ['keyless', 2]);
    await cache.close();
  });
});

describe('checkAnswers', () => {
  test('returns the answer itself when every record is good (no copy on the common path), counting failures', () => {
    const answers = [good('a'), undefined, good('c'), new OriginFailure(new PrescientError('ERR_ORIGIN_TIMEOUT', 'slow'))];
    const checked = checkAnswers(['a', 'b', 'c', 'd'], answers, 'absent');
    assert.equal(checked.answers, answers);
    assert.equal(checked.failures, 1);
    assert.equal(checkAnswers(['a'], [good('a')], 'absent').failures, 0);
  });

  test('copies rather than writes into the origin\'s array when an answer must change', () => {
    const tombstone = { key: 'b', value: undefined, version: 4, deleted: true };
    const answers = [good('a'), tombstone, null, { key: 'd', value: 1, version: -2 }];
    const { answers: checked, failures } = checkAnswers(['a', 'b', 'c', 'd'], answers, 'absent');
    assert.notEqual(checked, answers);
    assert.deepEqual(checked.slice(0, 3), [good('a'), undefined, undefined]);
    const failure = checked[3];
    assert.ok(isOriginFailure(failure) && failure.error.code === 'ERR_ORIGIN_FAILED');
    assert.equal(failures, 1);
    assert.equal(answers[1], tombstone, 'the origin\'s array is untouched');
    assert.equal(checkAnswers(['b'], [tombstone], 'keep').answers[0], tombstone, 'kept when asked to');
  });

  test('throws ERR_ORIGIN_FAILED naming every key when the answer is not one per key', () => {
    assert.throws(() => checkAnswers(['a', 'b'], [good('a')], 'absent'),
      (e) => isPrescientError(e, 'ERR_ORIGIN_FAILED') && (e as { keys?: string[] }).keys?.join() === 'a,b');
  });
});
