/**
 * Actions in the behaviour profiles: an action a session performs ("search", "checkout") is modelled as an access
 * of the namespaced key `action:<name>`, fed to the same predictor as the reads. The models then learn both what
 * follows an action (the items a checkout leads to) and which action follows a read, with no model of their own.
 *
 * ActionFilterPredictor wraps the predictor the cache uses so that action keys are never offered to the prefetch
 * scheduler (they name no item: fetching them would be pure waste), while the service can still ask the inner
 * predictor for the actions it expects next.
 */
import type { ReadContext } from '../context.ts';
import type { Access, Prediction, Predictor } from '../predict/predictor.ts';
import { actionPrefix } from './schemas.ts';

/** The key under which `action` is observed. */
export function actionKey(action: string): string {
  return actionPrefix + action;
}

/** True for keys that name an action, not an item. */
export function isActionKey(key: string): boolean {
  return key.startsWith(actionPrefix);
}

/**
 * Predictions asked of the inner predictor per prediction wanted: action keys take room in its lists, so asking
 * for twice as many leaves `limit` items in all but action-heavy contexts.
 */
export const overAsk = 2;

/** A predictor that passes everything through to `inner` but drops action keys from `predict`. */
export class ActionFilterPredictor implements Predictor {
  readonly name: string;
  readonly #inner: Predictor;

  /** Present when the inner predictor predicts elsewhere (see Predictor.onFresh). */
  readonly onFresh?: (listener: (ctx: ReadContext) => void) => void;
  /** Present when the inner predictor queues accesses (see Predictor.isBehind). */
  readonly isBehind?: () => boolean;

  constructor(inner: Predictor) {
    this.#inner = inner;
    this.name = inner.name;
    if (inner.onFresh !== undefined) this.onFresh = (listener) => inner.onFresh?.(listener);
    if (inner.isBehind !== undefined) this.isBehind = () => inner.isBehind?.() === true;
  }

  get stateCount(): number | undefined {
    return this.#inner.stateCount;
  }

  observe(access: Access): void {
    this.#inner.observe(access);
  }

  predict(ctx: ReadContext, limit: number): Prediction[] {
    const out: Prediction[] = [];
    for (const p of this.#inner.predict(ctx, limit * overAsk)) {
      if (isActionKey(p.key)) continue;
      out.push(p);
      if (out.length >= limit) break;
    }
    return out;
  }

  feedback(key: string, ctx: ReadContext, wasUsed: boolean): void {
    this.#inner.feedback?.(key, ctx, wasUsed);
  }
}
