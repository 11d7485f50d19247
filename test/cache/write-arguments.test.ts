import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Cache } from '../../src/cache/cache.ts';
import { VirtualClock } from '../../src/clock.ts';
import { isPrescientError, type ErrorCode } from '../../src/errors.ts';
import { MapOrigin } from '../../src/origin/function-origin.ts';

const coded = (code: ErrorCode, pattern?: RegExp) => (e: unknown) => isPrescientError(e, code) && (pattern === undefined || pattern.test((e as Error).message));

describe('Cache: write arguments from JavaScript callers', () => {
  test('a string where a list belongs is refused, never iterated character by character', async () => {
    const cache = new Cache<string>({ origin: new MapOrigin<string>([]), clock: new VirtualClock(0) });
    for (const key of ['u', 's', 'user:1']) await cache.set(key, 'v');
    await assert.rejects(cache.invalidate({ keys: 'user:1' as never }), coded('ERR_INVALID_OPTION', /keys/));
    await assert.rejects(cache.set('k', 'v', { tags: 'catalog' as never }), coded('ERR_INVALID_OPTION', /tags/));
    assert.throws(() => cache.prefetch('abc' as never), coded('ERR_INVALID_KEY'));
    assert.deepEqual(['u', 's', 'user:1'].map((k) => cache.peek(k)?.value), ['v', 'v', 'v'], 'nothing was deleted');
    assert.equal(cache.peek('k'), undefined);
    await cache.close();
  });

  test('a bad key in an invalidation list, a bad prefix or tag, and null options are coded errors', async () => {
    const cache = new Cache<string>({ origin: new MapOrigin<string>([]), clock: new VirtualClock(0) });
    await cache.set('a', 'v');
    await assert.rejects(cache.invalidate({ keys: ['a', 5 as never] }), coded('ERR_INVALID_KEY'));
    assert.equal(cache.peek('a')?.value, 'v', 'checked before anything was deleted');
    await assert.rejects(cache.invalidate(undefined as never), coded('ERR_INVALID_OPTION', /selector/));
    await assert.rejects(cache.invalidate({ prefix: 7 as never }), coded('ERR_INVALID_OPTION', /prefix/));
    await assert.rejects(cache.invalidate({ tag: ['t'] as never }), coded('ERR_INVALID_OPTION', /tag/));
    await assert.rejects(cache.set('a', 'w', null as never), coded('ERR_INVALID_OPTION', /options/));
    await assert.rejects(cache.delete('a', null as never), coded('ERR_INVALID_OPTION', /options/));
    assert.equal(await cache.invalidate({ keys: ['a'] }), 1);
    await cache.close();
  });

  test('a tag that is not well-formed UTF-16 is refused (a shared tier would merge it with others)', async () => {
    const cache = new Cache<string>({ origin: new MapOrigin<string>([]), clock: new VirtualClock(0) });
    await assert.rejects(cache.set('k', 'v', { tags: ['ok', 'odd\uD800'] }), coded('ERR_INVALID_OPTION', /tags.*well-formed/));
    assert.equal(cache.peek('k'), undefined, 'nothing was stored');
    await assert.rejects(cache.invalidate({ tag: 'odd\uDC00' }), coded('ERR_INVALID_OPTION', /tag.*well-formed/));
    await cache.set('k', 'v', { tags: ['caf\u00e9', 'emoji \uD83D\uDE00'] });
    assert.equal(await cache.invalidate({ tag: 'emoji \uD83D\uDE00' }), 1);
    await cache.close();
  });

  test('a sizeOf that throws makes set fail with ERR_INVALID_VALUE naming the key', async () => {
    const cache = new Cache<string>({
      origin: new MapOrigin<string>([]),
      clock: new VirtualClock(0),
      sizeOf: () => {
        throw new Error('cannot size');
      },
    });
    await assert.rejects(cache.set('k', 'v'), coded('ERR_INVALID_VALUE', /"k".*cannot size/));
    await cache.close();
  });
});
