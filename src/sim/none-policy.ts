/**
 * The no-cache baseline: every request goes to the origin. It fixes the top of the latency scale and the origin
 * load every cache is measured against.
 */
import { noPrefetch, type SimAccess, type SimPolicy, type SimRequest } from './policy.ts';

const miss: SimAccess = Object.freeze({ decision: 'miss', prefetch: noPrefetch });

/** A policy that never holds anything. */
export function createNonePolicy(): SimPolicy {
  return Object.freeze({
    name: 'none',
    access(_request: SimRequest): SimAccess {
      return miss;
    },
    prefetched(_key: string): boolean {
      return false;
    },
    peakEntries(): number {
      return 0;
    },
  });
}
