/**
 * A predictor double for cache and scheduler tests: after key K it predicts exactly what the script says.
 */
import type { ReadContext } from '../../src/context.ts';
import type { Access, Prediction, Predictor } from '../../src/predict/predictor.ts';

export class ScriptedPredictor implements Predictor {
  readonly name = 'scripted';
  readonly observed: Access[] = [];
  readonly #script: ReadonlyMap<string, readonly Prediction[]>;
  readonly #last = new Map<string, string>();

  constructor(script: Record<string, Array<[string, number]>>) {
    this.#script = new Map(Object.entries(script).map(([k, ps]) => [k, ps.map(([key, probability]) => ({ key, probability, source: 'scripted' }))]));
  }

  observe(access: Access): void {
    this.observed.push(access);
    this.#last.set(access.ctx.session ?? '', access.key);
  }

  predict(ctx: ReadContext, limit: number): Prediction[] {
    const last = this.#last.get(ctx.session ?? '');
    return last === undefined ? [] : [...(this.#script.get(last) ?? [])].slice(0, limit);
  }
}
