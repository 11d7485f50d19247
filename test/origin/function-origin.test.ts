/**
 * FunctionOrigin and MapOrigin through the Origin contract; FunctionOrigin's option checks.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isPrescientError } from '../../src/errors.ts';
import { FunctionOrigin, MapOrigin } from '../../src/origin/function-origin.ts';
import type { OriginRecord } from '../../src/origin/origin.ts';
import { originContract } from '../contracts/origin.contract.ts';

originContract('MapOrigin', (seed) => {
  const origin = new MapOrigin<unknown>();
  for (const r of seed) origin.records.set(r.key, r);
  return origin;
});

originContract('FunctionOrigin (read-only)', (seed) => {
  const held = new Map<string, OriginRecord<unknown>>(seed.filter((r) => r.deleted !== true).map((r) => [r.key, r]));
  return new FunctionOrigin<unknown>({ getMany: async (keys) => keys.map((k) => held.get(k)) });
}, undefined, { writes: false, changes: false });

describe('FunctionOrigin', () => {
  test('rejects a getMany or putMany that is not a function', () => {
    assert.throws(() => new FunctionOrigin({ getMany: 3 as never }), (e) => isPrescientError(e, 'ERR_INVALID_OPTION'));
    assert.throws(() => new FunctionOrigin({ getMany: async () => [], putMany: 'x' as never }), (e) => isPrescientError(e, 'ERR_INVALID_OPTION'));
  });

  test('delegates putMany when given one', async () => {
    const written: string[] = [];
    const origin = new FunctionOrigin<number>({ getMany: async (keys) => keys.map(() => undefined), putMany: async (records) => { written.push(...records.map((r) => r.key)); } });
    await origin.putMany?.([{ key: 'a', value: 1, version: 1 }]);
    assert.deepEqual(written, ['a']);
  });
});
