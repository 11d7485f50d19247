/** PredictionLoop: contexts waiting to be predicted for are kept apart by kind (session, user, segment). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PredictionLoop } from '../../src/cache/prediction-loop.ts';
import { VirtualClock } from '../../src/clock.ts';
import type { ReadContext } from '../../src/context.ts';
import type { Prediction, Predictor } from '../../src/predict/predictor.ts';

function recordingLoop(): { loop: PredictionLoop; asked: ReadContext[] } {
  const asked: ReadContext[] = [];
  const predictor: Predictor = {
    name: 'recording',
    observe: () => {},
    predict: (ctx: ReadContext): Prediction[] => (asked.push(ctx), []),
  };
  const loop = new PredictionLoop({
    predictor,
    clock: new VirtualClock(),
    bufferSize: 64,
    predictLimit: 4,
    prefetch: {},
    target: { isPresent: () => true, fetch: async () => ({ failed: [] }) },
    onEvent: () => {},
  });
  return { loop, asked };
}

describe('PredictionLoop contexts', () => {
  it('predicts for session "7", user "7" and segment "7" separately', () => {
    const { loop, asked } = recordingLoop();
    loop.record('a', { session: '7' }, 0, 'hit');
    loop.record('b', { user: '7' }, 0, 'hit');
    loop.record('c', { segment: '7' }, 0, 'hit');
    loop.record('d', {}, 0, 'hit');
    loop.flush();
    loop.close();
    assert.deepEqual(asked, [{ session: '7' }, { user: '7' }, { segment: '7' }, {}]);
  });

  it('still predicts once per session for its latest context, oldest first', () => {
    const { loop, asked } = recordingLoop();
    loop.record('a', { session: 's1' }, 0, 'hit');
    loop.record('b', { session: 's2' }, 0, 'hit');
    loop.record('c', { session: 's1', user: 'u' }, 0, 'hit');
    loop.flush();
    loop.close();
    assert.deepEqual(asked, [{ session: 's2' }, { session: 's1', user: 'u' }]);
  });
});
