/**
 * Fault doubles for origin tests: a slow origin that answers after a latency on a VirtualClock (failing on command),
 * and one whose writes always fail.
 */
import type { VirtualClock } from '../../src/clock.ts';
import { MapOrigin } from '../../src/origin/function-origin.ts';
import type { FetchOptions, Origin, OriginRecord, PutManyOutcome } from '../../src/origin/origin.ts';

/** Answers from a map after `latencyMs` of virtual time; counts calls per purpose. */
export class SlowOrigin<V> implements Origin<V> {
  readonly records = new Map<string, OriginRecord<V>>();
  readonly batches: Array<{ keys: string[]; purpose: string }> = [];
  latencyMs: number;
  /** When set, calls with this purpose (or every call, for 'all') reject. */
  failing: 'none' | 'all' | 'demand' | 'prefetch' = 'none';
  readonly #clock: VirtualClock;

  constructor(clock: VirtualClock, latencyMs: number, initial: Iterable<readonly [string, V]> = []) {
    this.#clock = clock;
    this.latencyMs = latencyMs;
    for (const [key, value] of initial) this.records.set(key, { key, value, version: 1 });
  }

  put(key: string, value: V, version: number): void {
    this.records.set(key, { key, value, version });
  }

  getMany(keys: readonly string[], options?: FetchOptions): Promise<Array<OriginRecord<V> | undefined>> {
    const purpose = options?.purpose ?? 'demand';
    this.batches.push({ keys: [...keys], purpose });
    const isFailing = this.failing === 'all' || this.failing === purpose;
    return new Promise((resolve, reject) => {
      this.#clock.setTimer(this.latencyMs, () => {
        if (isFailing) reject(new Error('origin down'));
        else resolve(keys.map((k) => this.records.get(k)));
      });
    });
  }

  keysFetched(purpose?: string): number {
    return this.batches.filter((b) => purpose === undefined || b.purpose === purpose).reduce((n, b) => n + b.keys.length, 0);
  }
}

/** A map origin whose writes always fail, so every record a write-back acknowledged stays in its journal. */
export class DownOrigin<V> extends MapOrigin<V> {
  override async putMany(): Promise<PutManyOutcome> {
    throw new Error('origin down');
  }
}
