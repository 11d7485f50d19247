import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PopularityPredictor } from '../../src/predict/popularity-predictor.ts';

describe('PopularityPredictor', () => {
  it('ranks keys by decayed count, and recent accesses outweigh old ones', () => {
    const p = new PopularityPredictor({ halfLifeAccesses: 100, trendWeight: 0, refreshAccesses: 1 });
    let at = 0;
    for (let i = 0; i < 60; i++) p.observe({ key: 'old', at: at++, ctx: {} });
    for (let i = 0; i < 40; i++) p.observe({ key: i % 2 === 0 ? 'a' : 'b', at: at++, ctx: {} });
    for (let i = 0; i < 300; i++) p.observe({ key: i % 3 === 0 ? 'a' : 'filler' + (i % 50), at: at++, ctx: {} });
    const out = p.predict({}, 3);
    assert.equal(out[0].key, 'a');
    assert.ok(out.every((x, i) => i === 0 || x.probability <= out[i - 1].probability));
    assert.ok(out[0].probability > 0.2 && out[0].probability <= 1);
  });

  it('ranks a trending key above a stale popular one', () => {
    const p = new PopularityPredictor({ halfLifeAccesses: 5000, trendHalfLifeAccesses: 50, trendWeight: 0.5, refreshAccesses: 1 });
    let at = 0;
    for (let i = 0; i < 400; i++) p.observe({ key: 'stale', at: at++, ctx: {} });
    for (let i = 0; i < 400; i++) p.observe({ key: `noise${i % 100}`, at: at++, ctx: {} });
    for (let i = 0; i < 60; i++) p.observe({ key: 'rising', at: at++, ctx: {} });
    const keys = p.predict({}, 2).map((x) => x.key);
    assert.deepEqual(keys, ['rising', 'stale']);
  });

  it('keeps a bounded candidate set and still finds the heavy hitter', () => {
    const p = new PopularityPredictor({ capacity: 8, refreshAccesses: 1 });
    for (let i = 0; i < 2000; i++) p.observe({ key: i % 4 === 0 ? 'hot' : `cold${i}`, at: i, ctx: {} });
    assert.ok(p.stateCount <= 8);
    assert.equal(p.predict({}, 1)[0].key, 'hot');
  });

  it('answers per segment once the segment has enough traffic', () => {
    const p = new PopularityPredictor({ maxSegments: 4, minSegmentAccesses: 10, refreshAccesses: 1 });
    for (let i = 0; i < 50; i++) p.observe({ key: 'global-hit', at: i, ctx: { segment: 'a' } });
    for (let i = 0; i < 20; i++) p.observe({ key: 'b-hit', at: i, ctx: { segment: 'b' } });
    assert.equal(p.predict({ segment: 'b' }, 1)[0].key, 'b-hit');
    assert.equal(p.predict({}, 1)[0].key, 'global-hit');
  });

  it('rejects bad options with ERR_INVALID_OPTION', () => {
    for (const bad of [{ halfLifeAccesses: 0 }, { trendHalfLifeAccesses: 20_000 }, { trendWeight: 2 }, { capacity: 0 }, { maxSegments: -1 }]) {
      assert.throws(() => new PopularityPredictor(bad), (e: { code?: string }) => e.code === 'ERR_INVALID_OPTION', JSON.stringify(bad));
    }
  });
});
