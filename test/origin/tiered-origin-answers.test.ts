/**
 * TieredOrigin checks each store's answer with the same function as the cache's loader (check-answer.ts): a bad
 * record from either store fails its own key in `getManySettled` and fails `getMany` as a whole.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isPrescientError } from '../../src/errors.ts';
import { FunctionOrigin, MapOrigin } from '../../src/origin/function-origin.ts';
import { isOriginFailure, type OriginAnswer, type OriginRecord } from '../../src/origin/origin.ts';
import { TieredOrigin } from '../../src/origin/tiered-origin.ts';

const shown = (answers: Array<OriginAnswer<unknown>>) => answers.map((a) => (isOriginFailure(a) ? a.error.code : (a as OriginRecord<unknown> | undefined)?.value));

/** A store answering `bad` for key `b` and a good record for every other key. */
const storeWithBad = (bad: unknown, value: string) => new FunctionOrigin<unknown>({
  getMany: async (keys) => keys.map((key) => (key === 'b' ? bad : { key, value, version: 1 })) as never,
});

describe('TieredOrigin store answers', () => {
  const badRecords: Array<[string, unknown]> = [
    ['a record for another key', { key: 'z', value: 'z', version: 1 }],
    ['a NaN version', { key: 'b', value: 'x', version: Number.NaN }],
    ['a negative version', { key: 'b', value: 'x', version: -3 }],
    ['an unsafe version', { key: 'b', value: 'x', version: 2 ** 53 }],
    ['a number', 7],
  ];
  for (const [name, bad] of badRecords) {
    test(`the live store answering ${name}: getManySettled fails that key only and does not ask the archive for it`, async () => {
      const archive = new MapOrigin<unknown>([['b', 'archived'], ['c', 'archived']]);
      const tiered = new TieredOrigin<unknown>({ live: storeWithBad(bad, 'live'), archive });
      assert.deepEqual(shown(await tiered.getManySettled(['a', 'b'])), ['live', 'ERR_ORIGIN_FAILED']);
      assert.equal(archive.calls, 0);
      await assert.rejects(tiered.getMany(['a', 'b']), (e) => isPrescientError(e, 'ERR_ORIGIN_FAILED') && (e as { keys?: string[] }).keys?.join() === 'b');
    });

    test(`the archive answering ${name}: getManySettled fails that key only`, async () => {
      const live = new MapOrigin<unknown>([['hot', 'live']]);
      const tiered = new TieredOrigin<unknown>({ live, archive: storeWithBad(bad, 'archived') });
      assert.deepEqual(shown(await tiered.getManySettled(['hot', 'a', 'b', 'b'])), ['live', 'archived', 'ERR_ORIGIN_FAILED', 'ERR_ORIGIN_FAILED']);
      await assert.rejects(tiered.getMany(['hot', 'a', 'b']), (e) => isPrescientError(e, 'ERR_ORIGIN_FAILED') && (e as { keys?: string[] }).keys?.join() === 'b');
      assert.equal(tiered.stats().archive.errors, 2, 'a call answering a bad record counts as a store error');
    });
  }

  test('a tombstone the archive answers through getMany reads as absent', async () => {
    const archive = storeWithBad({ key: 'b', value: undefined, version: 2, deleted: true }, 'archived');
    const tiered = new TieredOrigin<unknown>({ live: new MapOrigin(), archive });
    assert.deepEqual(shown(await tiered.getManySettled(['a', 'b'])), ['archived', undefined]);
    assert.equal(tiered.stats().archive.found, 1);
  });
});
