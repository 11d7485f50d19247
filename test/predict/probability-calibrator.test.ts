import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ProbabilityCalibrator } from '../../src/predict/probability-calibrator.ts';

describe('ProbabilityCalibrator', () => {
  it('returns the raw score for a bin with no observations', () => {
    const c = new ProbabilityCalibrator();
    assert.equal(c.calibrate(0.37, 0), 0.37);
  });

  it('moves the calibrated probability of a bin toward its observed hit rate', () => {
    const c = new ProbabilityCalibrator({ groups: 1, bins: 10 });
    let seed = 7;
    const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    // Scores around 0.85 that are right only 30% of the time, and around 0.15 right 60% of the time.
    for (let i = 0; i < 5000; i++) {
      c.record(0.85, 0, rand() < 0.3);
      c.record(0.15, 0, rand() < 0.6);
    }
    assert.ok(Math.abs(c.calibrate(0.82, 0) - 0.3) < 0.03, `high bin ${c.calibrate(0.82, 0)}`);
    assert.ok(Math.abs(c.calibrate(0.12, 0) - 0.6) < 0.03, `low bin ${c.calibrate(0.12, 0)}`);
  });

  it('keeps the bins of each group apart', () => {
    const c = new ProbabilityCalibrator({ groups: 2, bins: 4 });
    for (let i = 0; i < 100; i++) {
      c.record(0.3, 0, true);
      c.record(0.3, 1, false);
    }
    assert.ok(c.calibrate(0.3, 0) > 0.95);
    assert.ok(c.calibrate(0.3, 1) < 0.05);
  });

  it('follows drift once a bin passes its ceiling', () => {
    const c = new ProbabilityCalibrator({ bins: 2, ceiling: 100 });
    for (let i = 0; i < 1000; i++) c.record(0.9, 0, true);
    for (let i = 0; i < 1000; i++) c.record(0.9, 0, false);
    assert.ok(c.calibrate(0.9, 0) < 0.05, `after drift ${c.calibrate(0.9, 0)}`);
  });

  it('rejects bad options with ERR_INVALID_OPTION', () => {
    for (const bad of [{ groups: 0 }, { bins: 0 }, { prior: -1 }, { ceiling: 0 }]) {
      assert.throws(() => new ProbabilityCalibrator(bad), (err: { code?: string }) => err.code === 'ERR_INVALID_OPTION', JSON.stringify(bad));
    }
  });
});
