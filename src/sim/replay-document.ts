/**
 * ReplayDocument: the one JSON document `prescient replay --json` prints, and what the HTML report is drawn from.
 * Its shape is documented in the README; fields are only ever added.
 */
import type { PolicyResult } from './sim-result.ts';
import type { SimulationRun } from './simulator.ts';
import type { Workload } from './workload.ts';

export type ReplayDocument = {
  readonly trace: string;
  readonly requests: number;
  readonly distinctKeys: number;
  readonly timing: string;
  readonly originLatencyMs: number | string;
  readonly originConcurrency: number | null;
  readonly malformedLines: number;
  /** Origin load prescient's prefetches may add, as a share of its demand load (`maxExtraLoad`). */
  readonly prefetchBudget: number;
  readonly runs: ReadonlyArray<{
    readonly capacity: number;
    readonly results: ReadonlyArray<ReplayResultJson>;
  }>;
};

/** One policy's result as printed: PolicyResult's headline fields, rounded, with peak entries as `peakBytes`. */
export type ReplayResultJson = Pick<
  PolicyResult,
  | 'policy'
  | 'hitRatio'
  | 'inflightRatio'
  | 'meanLatencyMs'
  | 'p50LatencyMs'
  | 'p95LatencyMs'
  | 'p99LatencyMs'
  | 'originFetchesPerRequest'
  | 'prefetch'
  | 'requestsPerSecond'
> & { readonly peakBytes: number };

/** Builds the document from a finished simulation. */
export function toReplayDocument(
  workload: Workload,
  runs: readonly SimulationRun[],
  meta: { originLatencyMs: number | string; originConcurrency: number; malformedLines: number; prefetchBudget: number },
): ReplayDocument {
  return {
    trace: workload.trace,
    requests: workload.requests,
    distinctKeys: workload.keys.length,
    timing: workload.timing,
    originLatencyMs: meta.originLatencyMs,
    originConcurrency: Number.isFinite(meta.originConcurrency) ? meta.originConcurrency : null,
    malformedLines: meta.malformedLines,
    prefetchBudget: meta.prefetchBudget,
    runs: runs.map((run) => ({ capacity: run.capacity, results: run.results.map(resultJson) })),
  };
}

function resultJson(r: PolicyResult): ReplayResultJson {
  const round = (x: number, digits = 4): number => Number(x.toFixed(digits));
  return {
    policy: r.policy,
    hitRatio: round(r.hitRatio),
    inflightRatio: round(r.inflightRatio),
    meanLatencyMs: round(r.meanLatencyMs, 3),
    p50LatencyMs: round(r.p50LatencyMs, 3),
    p95LatencyMs: round(r.p95LatencyMs, 3),
    p99LatencyMs: round(r.p99LatencyMs, 3),
    originFetchesPerRequest: round(r.originFetchesPerRequest),
    prefetch: { issued: r.prefetch.issued, used: r.prefetch.used, precision: round(r.prefetch.precision), coverage: round(r.prefetch.coverage) },
    peakBytes: r.peakEntries,
    requestsPerSecond: Math.round(r.requestsPerSecond),
  };
}

/** The results as a fixed-width text table, one block per capacity. */
export function formatReplayTable(doc: ReplayDocument): string {
  const lines: string[] = [];
  lines.push(`trace: ${doc.trace}`);
  lines.push(`requests: ${doc.requests}, distinct keys: ${doc.distinctKeys}${doc.malformedLines > 0 ? `, malformed lines skipped: ${doc.malformedLines}` : ''}`);
  lines.push(`timing: ${doc.timing}; origin latency ${doc.originLatencyMs} ms, concurrency ${doc.originConcurrency ?? 'unlimited'}; prefetch budget ${doc.prefetchBudget}`);
  const head = ['policy', 'hit %', 'inflight %', 'mean ms', 'p50', 'p95', 'p99', 'fetch/req', 'pf issued', 'pf used', 'precision', 'coverage', 'peak', 'req/s'];
  for (const run of doc.runs) {
    lines.push('', `capacity ${run.capacity} entries`);
    const rows = run.results.map((r) => [
      r.policy,
      ...measuredCells(r),
      String(r.prefetch.used),
      prefetchRatioCell(r, r.prefetch.precision, '%'),
      prefetchRatioCell(r, r.prefetch.coverage, '%'),
      String(r.peakBytes),
      String(r.requestsPerSecond),
    ]);
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
    const fmt = (row: string[]): string => row.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
    lines.push(fmt(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(fmt));
  }
  return lines.join('\n') + '\n';
}

/** The cells the text table and the report's table share, after the policy: hit % .. p99, fetches per request, prefetches issued. */
export function measuredCells(r: ReplayResultJson): string[] {
  return [
    (100 * r.hitRatio).toFixed(2),
    (100 * r.inflightRatio).toFixed(2),
    r.meanLatencyMs.toFixed(2),
    r.p50LatencyMs.toFixed(1),
    r.p95LatencyMs.toFixed(1),
    r.p99LatencyMs.toFixed(1),
    r.originFetchesPerRequest.toFixed(3),
    String(r.prefetch.issued),
  ];
}

/** A prefetch ratio as a percentage with one decimal, or `-` for a policy that issued no prefetch. */
export function prefetchRatioCell(r: ReplayResultJson, ratio: number, unit = ''): string {
  return r.prefetch.issued === 0 ? '-' : (100 * ratio).toFixed(1) + unit;
}
