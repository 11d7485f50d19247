import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { encode } from '@msgpack/msgpack';
import { entryFields, type Entry } from '../../src/cache/entry.ts';
import { decodeRedisEntry, encodeRedisEntry, MAX_HEADER_BYTES } from '../../src/cache/redis-codec.ts';
import { isPrescientError } from '../../src/errors.ts';

function entry(overrides: Partial<Entry<unknown>> = {}): Entry<unknown> {
  return { key: 'k', value: { a: 1 }, version: 3, sizeBytes: 10, createdAt: 1, staleAt: 2, expiresAt: 3, source: 'demand', probability: 1, tags: [], hits: 7, ...overrides };
}

describe('redis codec', () => {
  test('round-trips every field but hits, which the decoder sets', () => {
    const e = entry({
      value: { n: 1.5, s: 'é✓', list: [1, null, true], at: new Date(9), bytes: Buffer.from([1, 2]) },
      version: 1_763_700_000_123,
      createdAt: 1_763_700_000_000.25,
      staleAt: 1_763_700_030_000.25,
      expiresAt: Infinity,
      source: 'prefetch',
      probability: 0.3,
      tags: ['t1'],
      predictedFor: { session: 's', segment: 'g' },
      predictedBy: 'delta',
    });
    assert.deepEqual(entryFields(decodeRedisEntry('k', encodeRedisEntry(e), 4)), { ...e, hits: 4 });
  });

  test('leaves out a property set to undefined, as JSON does (not null); array holes stay null', () => {
    const got = decodeRedisEntry('k', encodeRedisEntry(entry({ value: { u: undefined, a: [undefined, 1], keep: null } })));
    assert.deepEqual(got.value, { a: [null, 1], keep: null });
    assert.equal(Object.hasOwn(got.value as object, 'u'), false);
  });

  test('reads a demand entry back with no prediction', () => {
    const got = decodeRedisEntry('k', encodeRedisEntry(entry()));
    assert.equal(got.source, 'demand');
    assert.equal(got.probability, 1);
    assert.equal(got.predictedFor, undefined);
    assert.equal(got.predictedBy, undefined);
    assert.deepEqual(Object.keys(entryFields(got)).sort(), Object.keys(entry()).sort());
    assert.equal(got.hits, 0);
  });

  test('starts with the format tag and the version in ASCII, as the Lua scripts read it', () => {
    for (const version of [0, 42, 1.25, Number.MAX_SAFE_INTEGER, 2 ** 60, 1e21, 5e-7, 1.2345678901234567e-300, Number.MAX_VALUE]) {
      const bytes = encodeRedisEntry(entry({ version }));
      const head = bytes.subarray(0, MAX_HEADER_BYTES).toString('latin1');
      assert.equal(head[0], 'm');
      assert.equal(Number(head.slice(1, head.indexOf(' '))), version);
      assert.equal(decodeRedisEntry('k', bytes).version, version);
    }
  });

  test('refuses a version that is not a finite number >= 0 with ERR_INVALID_VALUE', () => {
    for (const version of [NaN, Infinity, -Infinity, -7, -1e-300]) {
      assert.throws(() => encodeRedisEntry(entry({ version })), (e: unknown) => isPrescientError(e, 'ERR_INVALID_VALUE'), String(version));
    }
    assert.equal(decodeRedisEntry('k', encodeRedisEntry(entry({ version: -0 }))).version, 0);
  });

  test('reads only a version spelled as the encoder spells one: other headers are a foreign format (ERR_TIER_FAILED)', () => {
    const payload = encodeRedisEntry(entry()).subarray(3); // after 'm3 '
    for (const version of ['Infinity', '-Infinity', 'NaN', '0x10', '0b1', '1e400', '1e+400', '-5', '+5', '05', '1.50', '1e21', ' 1', '1_000', '']) {
      const bytes = Buffer.concat([Buffer.from(`m${version} `), payload]);
      assert.throws(() => decodeRedisEntry('k', bytes), (e: unknown) => isPrescientError(e, 'ERR_TIER_FAILED'), JSON.stringify(version));
    }
  });

  test('refuses well-formed MessagePack whose fields have other types than the encoder writes (ERR_TIER_FAILED)', () => {
    const good: unknown[] = [7, 10, 1000, 2000, 3000, 0, 1, 0, 0, 0];
    assert.equal(decodeRedisEntry('k', Buffer.concat([Buffer.from('m7 '), encode(good)])).sizeBytes, 10, 'the good fields decode');
    const bad: Array<[number, unknown]> = [[1, '10'], [1, -1], [1, Infinity], [2, 'now'], [3, null], [5, 2], [6, 'sure'], [7, 5], [7, ['ok', 3]], [8, 'ctx'], [9, 4]];
    for (const [field, value] of bad) {
      const fields = [...good];
      fields[field] = value;
      assert.throws(() => decodeRedisEntry('k', Buffer.concat([Buffer.from('m7 '), encode(fields)])), (e: unknown) => isPrescientError(e, 'ERR_TIER_FAILED'), `field ${field} = ${JSON.stringify(value)}`);
    }
  });

  test('reports bytes in another format as ERR_TIER_FAILED', () => {
    for (const bytes of [Buffer.from('plain text'), Buffer.from('m12 \xc1'), Buffer.from('x1 abc'), Buffer.from('m1')]) {
      assert.throws(() => decodeRedisEntry('k', bytes), (e: unknown) => isPrescientError(e, 'ERR_TIER_FAILED'));
    }
  });

  test('is smaller than the JSON of the entry object', () => {
    const e = entry({ value: { id: 1, name: 'Ada', email: 'ada@example.com' }, tags: ['a'] });
    assert.ok(encodeRedisEntry(e).length < Buffer.byteLength(JSON.stringify(e)));
  });
});
