/**
 * Seeded pseudo-random numbers for the simulator and tests: mulberry32, a 32-bit generator with one word of
 * state (Tommy Ettinger's public-domain mixer). Not for cryptography; fast, reproducible and good enough to
 * sample latencies and break ties. Also a lognormal sampler, the usual shape of storage and network latency.
 */
import { nonNegativeNumber } from '../options.ts';

/** A source of uniform numbers in [0, 1). */
export type Random = () => number;

/** A uniform generator in [0, 1) from a 32-bit seed; the same seed gives the same sequence. */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Longest origin latency a spec may give, in ms (an hour): past it virtual time and the means lose their meaning. */
export const maxLatencyMs = 3_600_000;

/**
 * A sampler of lognormal latencies with the given median (milliseconds) and `sigma` (standard deviation of the
 * logarithm; 0 gives the median every time), drawing from the `random` it is handed (Box-Muller). Draws are capped
 * at {@link maxLatencyMs}: the tail of a wide lognormal reaches days (or Infinity), which the hour promised for a
 * spec rules out.
 * @throws InvalidOptionError when `medianMs` or `sigma` is negative or not finite
 */
export function lognormalLatency(medianMs: number, sigma: number): (random: Random) => number {
  nonNegativeNumber('medianMs', medianMs);
  nonNegativeNumber('sigma', sigma);
  const mu = Math.log(medianMs);
  return (random) => {
    const u = 1 - random();
    const v = random();
    const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    return Math.min(maxLatencyMs, Math.exp(mu + sigma * z));
  };
}

/**
 * An origin latency from its spec: a number of ms (fixed), or `lognormal:<median-ms>:<sigma>`. Returns the fixed
 * number or the sampler; undefined when `spec` is neither (the caller words the error).
 */
export function latencyFromSpec(spec: number | string): number | ((random: Random) => number) | undefined {
  const text = String(spec).trim();
  const fixed = Number(text);
  if (text !== '' && Number.isFinite(fixed) && fixed >= 0) return fixed <= maxLatencyMs ? fixed : undefined;
  const m = /^lognormal:(\d+(?:\.\d+)?):(\d+(?:\.\d+)?)$/.exec(text);
  return m === null || Number(m[1]) > maxLatencyMs || Number(m[2]) > 10 ? undefined : lognormalLatency(Number(m[1]), Number(m[2]));
}
