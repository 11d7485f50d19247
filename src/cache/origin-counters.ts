/**
 * OriginCounters: what the cache sent to its origin, by purpose (batches and keys), and how many batches failed
 * (wholly, or for some of their keys). Read by `Cache.stats()`.
 */
import type { FetchPurpose } from '../origin/origin.ts';

export class OriginCounters {
  demandBatches = 0;
  prefetchBatches = 0;
  demandKeys = 0;
  prefetchKeys = 0;
  failedBatches = 0;

  /** Counts one batch of `keys` keys sent for `purpose`; `isOk` is false when it failed. */
  count(keys: number, purpose: FetchPurpose, isOk: boolean): void {
    if (purpose === 'demand') {
      this.demandBatches++;
      this.demandKeys += keys;
    } else {
      this.prefetchBatches++;
      this.prefetchKeys += keys;
    }
    if (!isOk) this.failedBatches++;
  }
}
