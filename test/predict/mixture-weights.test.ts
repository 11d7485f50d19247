import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MixtureWeights, priorHitRate } from '../../src/predict/mixture-weights.ts';

describe('MixtureWeights', () => {
  it('starts uniform, at the same weight whatever the number of sources, and reports the prior hit rate', () => {
    const w = new MixtureWeights({ sources: 4, kinds: 2 });
    const start = w.weight(0, 0);
    assert.ok(start > 0);
    for (let j = 0; j < 4; j++) assert.equal(w.weight(j, 1), start);
    assert.equal(new MixtureWeights({ sources: 7 }).weight(6, 0), start, 'a seventh source does not change the start');
    assert.deepEqual([...w.hitRates()], [priorHitRate, priorHitRate, priorHitRate, priorHitRate]);
    assert.deepEqual([...w.shares()], [0, 0, 0, 0]);
  });

  it('moves weight toward the source that gave the true key more probability', () => {
    const w = new MixtureWeights({ sources: 3, halfLife: 50 });
    for (let t = 0; t < 200; t++) w.update(0, [0.6, 0.1, 0]);
    assert.ok(w.share(0, 0) > 0.9, `share of the sharp source ${w.share(0, 0)}`);
    assert.ok(w.share(1, 0) < 0.1, `share of the diluted source ${w.share(1, 0)}`);
    assert.ok(w.share(2, 0) < 0.01, `share of the source that missed ${w.share(2, 0)}`);
    const rates = w.hitRates();
    assert.ok(rates[0] > 0.9 && rates[1] > 0.9 && rates[2] < 0.01, `hit rates ${[...rates]}`);
  });

  it('keeps each context kind apart', () => {
    const w = new MixtureWeights({ sources: 2, kinds: 2, halfLife: 50 });
    for (let t = 0; t < 200; t++) {
      w.update(0, [0.5, 0.01]);
      w.update(1, [0.01, 0.5]);
    }
    assert.ok(w.share(0, 0) > 0.9 && w.share(1, 1) > 0.9);
  });

  it('leaves a source that offered no list out of the update and keeps a floor so a source can win back', () => {
    const w = new MixtureWeights({ sources: 3, halfLife: 20 });
    const start = w.weight(2, 0);
    for (let t = 0; t < 100; t++) w.update(0, [0.5, 0, -1]);
    assert.equal(w.weight(2, 0), start, 'absent source keeps its weight');
    assert.ok(w.weight(1, 0) > 0, 'floor keeps the losing source alive');
    for (let t = 0; t < 300; t++) w.update(0, [0, 0.5, -1]);
    assert.ok(w.weight(1, 0) > w.weight(0, 0), 'the losing source won its weight back');
  });

  it('rejects bad options with ERR_INVALID_OPTION', () => {
    for (const bad of [{ sources: 0 }, { sources: 2, kinds: -1 }, { sources: 2, halfLife: 0 }]) {
      assert.throws(() => new MixtureWeights(bad), (err: { code?: string }) => err.code === 'ERR_INVALID_OPTION', JSON.stringify(bad));
    }
  });

  it('keeps the total weight where it started however long one source keeps winning (the floor adds no mass)', () => {
    // One source always names the next key, five never do and sit at the floor: lifting them to the floor used to
    // add mass on every update, so the total grew geometrically to Infinity, then NaN (and the ensemble went silent).
    const w = new MixtureWeights({ sources: 6, halfLife: 1 });
    const sum = (): number => [0, 1, 2, 3, 4, 5].reduce((s, j) => s + w.weight(j, 0), 0);
    const start = sum();
    for (let t = 0; t < 20_000; t++) w.update(0, [0.5, 0, 0, 0, 0, 0]);
    assert.ok(Math.abs(sum() - start) < 1e-9 * start, `total ${sum()} after 20,000 updates, started at ${start}`);
    assert.ok(w.share(0, 0) > 0.99, `share of the winner ${w.share(0, 0)}`);
    for (let j = 1; j < 6; j++) assert.ok(w.weight(j, 0) > 0 && w.share(j, 0) < 2e-3, `floored source ${j}: ${w.weight(j, 0)}`);
    for (let t = 0; t < 50; t++) w.update(0, [0, 0.5, 0, 0, 0, 0]);
    assert.ok(w.weight(1, 0) > w.weight(0, 0), 'a floored source still wins its weight back');
  });
});
