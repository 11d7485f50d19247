import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfidenceThreshold } from '../../src/prefetch/confidence-threshold.ts';
import { Feedback } from '../../src/prefetch/feedback.ts';

describe('ConfidenceThreshold', () => {
  test('rises while prefetches are wasted, only after enough outcomes, and never past maxProbability', () => {
    const feedback = new Feedback();
    const bar = new ConfidenceThreshold({ feedback, minProbability: 0.02, maxProbability: 0.3, targetPrecision: 0.5 });
    for (let i = 0; i < 10; i++) feedback.wasted(`k${i}`, 1);
    bar.adapt();
    assert.equal(bar.value, 0.02, 'too few outcomes to move');
    let last = bar.value;
    for (let round = 0; round < 60; round++) {
      for (let i = 0; i < 40; i++) feedback.wasted(`k${i}`, 1);
      bar.adapt();
      assert.ok(bar.value >= last);
      last = bar.value;
    }
    assert.equal(bar.value, 0.3);
  });

  test('falls back toward minProbability while prefetches are used, and stays put with targetPrecision 0', () => {
    const feedback = new Feedback();
    const bar = new ConfidenceThreshold({ feedback, minProbability: 0.02, maxProbability: 0.5, targetPrecision: 0.1 });
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 40; i++) feedback.wasted(`k${i}`, 1);
      bar.adapt();
    }
    const high = bar.value;
    assert.ok(high > 0.02);
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 40; i++) feedback.used(`k${i}`);
      bar.adapt();
    }
    assert.ok(bar.value < high);
    const fixed = new ConfidenceThreshold({ feedback, minProbability: 0.05, maxProbability: 0.5, targetPrecision: 0 });
    for (let i = 0; i < 100; i++) feedback.wasted(`k${i}`, 1);
    fixed.adapt();
    assert.equal(fixed.value, 0.05);
  });

  test('keeps one bar per source, each moved by its own outcomes only', () => {
    const feedback = new Feedback();
    const bar = new ConfidenceThreshold({ feedback, minProbability: 0.02, maxProbability: 0.5, targetPrecision: 0.2 });
    for (let round = 0; round < 30; round++) {
      for (let i = 0; i < 40; i++) feedback.wasted(`k${i}`, 1, 'a');
      bar.valueFor('a');
      bar.valueFor('b');
    }
    assert.ok(bar.valueFor('a') > 0.2, `a: ${bar.valueFor('a')}`);
    assert.equal(bar.valueFor('b'), 0.02, 'b has no outcomes: its bar stays where it starts');
    for (let round = 0; round < 30; round++) {
      for (let i = 0; i < 40; i++) feedback.used(`k${i}`, 'b');
      bar.valueFor('b');
    }
    assert.equal(bar.valueFor('b'), 0.02);
    assert.deepEqual(Object.keys(bar.bySource()).sort(), ['a', 'b']);
    assert.equal(feedback.sourceOutcomes('a').outcomes, 1200);
    assert.ok(feedback.sourceOutcomes('a').recentPrecision < 0.01);
    assert.ok(feedback.sourceOutcomes('b').recentPrecision > 0.99);
  });
});
