/**
 * Writes the origin does not keep, through the service: one it declines (another node wrote a newer version there)
 * and one it refuses (a value its store cannot hold). The service's cached copy of each goes, so reads fetch the
 * origin's row instead of serving a value the origin never took.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PrescientError } from '../../src/errors.ts';
import { FunctionOrigin } from '../../src/origin/function-origin.ts';
import type { OriginRecord } from '../../src/origin/origin.ts';
import { rig } from './server-rig.ts';

/** An origin holding `rows`, declining writes of `declined` keys and refusing values that contain "bad". */
function pickyOrigin(rows: Map<string, OriginRecord<unknown>>, declined: ReadonlySet<string>) {
  return new FunctionOrigin<unknown>({
    getMany: async (keys) => keys.map((k) => rows.get(k)),
    putMany: async (records) => {
      if (records.some((r) => JSON.stringify(r.value ?? null).includes('bad'))) {
        throw new PrescientError('ERR_INVALID_VALUE', 'the store cannot hold this value');
      }
      for (const r of records) if (!declined.has(r.key)) rows.set(r.key, r);
      return { declined: records.filter((r) => declined.has(r.key)).map((r) => r.key) };
    },
  });
}

test('a write the origin declines or refuses stops being served: the next read is the origin\'s row', async () => {
  const rows = new Map<string, OriginRecord<unknown>>([
    ['taken', { key: 'taken', value: 'elsewhere', version: 9e15 }],
    ['plain', { key: 'plain', value: 'before', version: 1 }],
  ]);
  const r = await rig({ origin: pickyOrigin(rows, new Set(['taken'])) });
  try {
    for (const [key, value] of [['taken', 'mine'], ['plain', 'bad value'], ['fine', 'ok']] as const) {
      assert.equal((await r.inject({ method: 'PUT', url: `/v1/items/${key}`, payload: { value } })).status, 200);
    }
    assert.equal((await r.inject({ url: '/v1/items/taken' })).body.value, 'mine', 'served from the cache until the flush');
    await r.clock.advanceAsync(1_000); // the flush, with its retries of the refused batch
    await r.clock.advanceAsync(1_000);
    const stats = r.server.service.dashboardStats();
    assert.deepEqual([stats.writeBackSuperseded, stats.writeBackRejected], [1, 1]);
    assert.equal(r.server.service.cache.peek('taken'), undefined);
    assert.equal(r.server.service.cache.peek('plain'), undefined);
    assert.equal((await r.inject({ url: '/v1/items/taken' })).body.value, 'elsewhere');
    assert.equal((await r.inject({ url: '/v1/items/plain' })).body.value, 'before');
    assert.equal((await r.inject({ url: '/v1/items/fine' })).body.value, 'ok');
  } finally {
    await r.close();
  }
});
