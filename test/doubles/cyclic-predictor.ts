/**
 * CyclicPredictor: a predictor double for the model fuzz tests. It predicts the two keys after the last one read
 * (per session) in a fixed cycle of keys, so prefetches happen on a schedule a test can reason about.
 */
import type { ReadContext } from '../../src/context.ts';
import type { Access, Prediction, Predictor } from '../../src/predict/predictor.ts';

export class CyclicPredictor implements Predictor {
  readonly name = 'cyclic';
  readonly #keys: readonly string[];
  readonly #last = new Map<string, string>();

  constructor(keys: readonly string[]) {
    this.#keys = keys;
  }

  observe(access: Access): void {
    this.#last.set(access.ctx.session ?? '', access.key);
  }

  predict(ctx: ReadContext, limit: number): Prediction[] {
    const last = this.#last.get(ctx.session ?? '');
    if (last === undefined) return [];
    const keys = this.#keys;
    const i = keys.indexOf(last);
    return [{ key: keys[(i + 1) % keys.length], probability: 0.45, source: 'cyclic' }, { key: keys[(i + 2) % keys.length], probability: 0.3, source: 'cyclic' }].slice(0, limit);
  }
}
