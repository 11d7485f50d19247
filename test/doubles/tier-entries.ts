/**
 * Plain Entry records for tier tests: a demand entry (size 1, no expiry) and a prefetched one (probability 0.5),
 * with any field overridden; and a memory tier's `extra` stat as a number.
 */
import type { Entry } from '../../src/cache/entry.ts';
import type { MemoryTier } from '../../src/cache/memory-tier.ts';

export function entry(key: string, overrides: Partial<Entry<string>> = {}): Entry<string> {
  return {
    key,
    value: `value of ${key}`,
    version: 1,
    sizeBytes: 1,
    createdAt: 0,
    staleAt: Infinity,
    expiresAt: Infinity,
    source: 'demand',
    probability: 1,
    tags: [],
    hits: 0,
    ...overrides,
  };
}

export function prefetch(key: string, overrides: Partial<Entry<string>> = {}): Entry<string> {
  return entry(key, { source: 'prefetch', probability: 0.5, ...overrides });
}

export function extra(tier: MemoryTier<string>, name: string): number {
  return Number(tier.stats().extra?.[name]);
}
