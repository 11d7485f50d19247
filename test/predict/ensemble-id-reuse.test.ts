/**
 * The ensemble scores the lists it kept at a predict against the key that comes next; past `maxKeys` the interner
 * gives the id of a key read least recently to a new key, so an id in a kept list may name another key by then.
 * These tests reuse ids on a table of two keys and check that no source is credited for a key it never named, nor
 * blamed for missing a key it named under an id given away since.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EnsemblePredictor } from '../../src/predict/ensemble-predictor.ts';
import { HorizonScores } from '../../src/predict/horizon-scores.ts';
import { KeyInterner } from '../../src/predict/key-interner.ts';
import type { MixedList } from '../../src/predict/list-mixer.ts';
import type { ProbabilityCalibrator } from '../../src/predict/probability-calibrator.ts';

/** Hit rate every source starts from (MixtureWeights' priorHitRate). */
const prior = 0.1;

/** An ensemble of the Markov scopes alone (only the global one answers a session), with the interner's table as given. */
function markovOnly(maxKeys: number): { e: EnsemblePredictor; obs: (session: string, key: string) => void } {
  const e = new EnsemblePredictor({ maxKeys, delta: false, popularity: false, knn: false });
  let at = 0;
  return { e, obs: (session, key) => e.observe({ key, at: ++at, ctx: { session } }) };
}

describe('EnsemblePredictor scoring after interner id reuse', () => {
  it('does not credit a source for the new key that took the id of the key it named', () => {
    const run = (maxKeys: number) => {
      const { e, obs } = markovOnly(maxKeys);
      obs('A', 'p');
      obs('A', 'q');
      obs('S', 'p');
      assert.equal(e.predict({ session: 'S' }, 4)[0]?.key, 'q', 'the global scope names q after p');
      // 'z' is new: with two keys held it takes the id of the least recently read, q's.
      obs('S', 'z');
      return e.accuracy()['markov:global'];
    };
    assert.ok(run(1000) < prior, 'control: without reuse the source missed z');
    assert.ok(run(2) <= prior, `credited for z: hit rate ${run(2)}`);
  });

  it('does not blame a source for a key it named whose id was given away before it came', () => {
    const run = (maxKeys: number) => {
      const { e, obs } = markovOnly(maxKeys);
      obs('A', 'p');
      obs('A', 'q');
      obs('S', 'p');
      assert.equal(e.predict({ session: 'S' }, 4)[0]?.key, 'q');
      obs('B', 'w'); // takes q's id
      obs('S', 'q'); // q comes back under another id (p's)
      return e.accuracy()['markov:global'];
    };
    assert.ok(run(1000) > prior, 'control: without reuse the source hit q');
    assert.ok(run(2) >= prior, `blamed for q: hit rate ${run(2)}`);
  });

  it('predicts as before when the table never fills', () => {
    const trace = (e: EnsemblePredictor) => {
      const out: string[] = [];
      let at = 0;
      for (let i = 0; i < 3000; i++) {
        const session = `s${Math.floor(i / 7)}`;
        const key = `k${(i * 7919) % 97}`;
        e.observe({ key, at: ++at, ctx: { session } });
        if (i % 3 === 0) out.push(e.predict({ session }, 5).map((p) => `${p.key}:${p.probability}`).join(' '));
      }
      return out.join('\n') + JSON.stringify(e.accuracy()) + JSON.stringify(e.weights());
    };
    assert.equal(trace(new EnsemblePredictor({ maxKeys: 97 })), trace(new EnsemblePredictor()));
  });
});

describe('HorizonScores after interner id reuse', () => {
  it('does not record a hit for a candidate whose id went to the key that was read', () => {
    const keys = new KeyInterner({ maxKeys: 2 });
    const b = keys.id('b');
    keys.id('a');
    const hits: boolean[] = [];
    const calibrator = { record: (_score: number, _group: number, isHit: boolean) => hits.push(isHit) } as unknown as ProbabilityCalibrator;
    const horizon = new HorizonScores(3, 4, 0, keys);
    const one = (n: number) => Int32Array.from({ length: 4 }, () => n);
    const mixed: MixedList = { n: 1, ids: one(b), raw: new Float64Array(4).fill(0.5), probability: new Float64Array(4).fill(0.5), eta: new Float64Array(4).fill(Number.NaN), source: one(1) };
    horizon.push(0, mixed, new Float64Array(4), calibrator);
    const c = keys.id('c');
    assert.equal(c, b, 'c took the id of b, read least recently');
    for (let position = 0; position < 3; position++) horizon.observe(position, c, Number.NaN, calibrator);
    assert.ok(!hits.includes(true), 'b was named, c was read');
  });
});
