/**
 * The worker path keeps session, user and segment contexts apart: a session "42", a user "42" and a segment "42" are
 * three contexts (contextKey), on the worker's models and in the predictions kept on the request thread.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { contextKey, type ReadContext } from '../../src/context.ts';
import { WorkerPredictor } from '../../src/predict/worker-predictor.ts';

const session: ReadContext = { session: '42' };
const user: ReadContext = { user: '42' };
const segment: ReadContext = { segment: '42' };

describe('WorkerPredictor contexts', () => {
  test('a session, a user and a segment of the same id share no state through the worker', async () => {
    const p = new WorkerPredictor();
    try {
      let at = 0;
      // Every visitor who reads x1 reads x2 next, y1 then y2, z1 then z2.
      for (let v = 0; v < 30; v++) {
        for (const [a, b] of [['x1', 'x2'], ['y1', 'y2'], ['z1', 'z2']]) {
          p.observe({ key: a, at: ++at, ctx: { session: `v${v}${a}` } });
          p.observe({ key: b, at: ++at, ctx: { session: `v${v}${a}` } });
        }
      }
      await p.settle();
      const fresh: ReadContext[] = [];
      p.onFresh((ctx) => fresh.push(ctx));
      // One batch: the three contexts read in turn, each one key.
      p.observe({ key: 'x1', at: ++at, ctx: session });
      p.observe({ key: 'y1', at: ++at, ctx: user });
      p.observe({ key: 'z1', at: ++at, ctx: segment });
      await p.settle();
      assert.deepEqual(fresh.map(contextKey).sort(), [session, user, segment].map(contextKey).sort(), 'each announced on its own');
      assert.deepEqual(fresh.map((c) => JSON.stringify(c)).sort(), [session, user, segment].map((c) => JSON.stringify(c)).sort(), 'with its own fields');
      for (const [ctx, next] of [[session, 'x2'], [user, 'y2'], [segment, 'z2']] as const) {
        const kept = p.predict(ctx, 3);
        assert.equal(kept[0]?.key, next, `kept for ${JSON.stringify(ctx)}: ${kept.map((q) => q.key).join(' ')}`);
        const now = await p.predictNow(ctx, 3);
        assert.equal(now[0]?.key, next, `asked for ${JSON.stringify(ctx)}: ${now.map((q) => q.key).join(' ')}`);
      }
      // The session reads on: the user's history (and its kept predictions) stay as they were.
      p.observe({ key: 'x2', at: ++at, ctx: session });
      await p.settle();
      assert.equal((await p.predictNow(user, 3))[0]?.key, 'y2');
      assert.equal(p.predict(user, 3)[0]?.key, 'y2');
    } finally {
      await p.close();
    }
  });
});
