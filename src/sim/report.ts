/**
 * Replay report: one self-contained HTML page with inline SVG charts — hit ratio against capacity for every
 * policy, the latency distribution (CDF) per policy at each capacity, and origin load against hit ratio — plus the
 * results table. No scripts, no external assets: it opens from disk anywhere.
 *
 * Axes are chosen from the data: capacities sit on a log axis (they are usually spread over decades, 1% and 5% of
 * the keys) with a tick at each capacity replayed; latencies go on a log axis once the tail runs past
 * `wideLatencyRatio` times the median miss (a lognormal origin puts the slowest request hours out, which on a
 * linear axis squeezes every other request into the first pixel), with hits (0 ms) in a slot of their own at the
 * left edge, since a log axis has no 0. Each axis title says which scale it uses.
 */
import { measuredCells, prefetchRatioCell, type ReplayDocument } from './replay-document.ts';
import type { SimulationRun } from './simulator.ts';

const palette: Readonly<Record<string, string>> = {
  none: '#9e9e9e',
  lru: '#1f77b4',
  tinylfu: '#2ca02c',
  readahead: '#8c564b',
  belady: '#d62728',
  prescient: '#ff7f0e',
  oracle: '#9467bd',
};

const width = 560;
const height = 320;
const margin = { left: 56, right: 120, top: 24, bottom: 44 };
const plotWidth = width - margin.left - margin.right;
const plotHeight = height - margin.top - margin.bottom;

/** Least gap between two x tick labels' centres, in px: closer ones overlap at the 11 px font. */
const minTickGapPx = 30;
/** Width of one character of a tick label at the 11 px font, in px (digits are about 6 px wide; a little spare). */
const tickCharPx = 6.5;
/**
 * Width kept at the left of a log latency axis for 0 ms (hits), which a log scale cannot place, in px: over
 * `minTickGapPx`, so the first decade keeps its label beside the 0.
 */
const zeroSlotPx = 36;
/**
 * A latency chart goes log once its slowest latency is more than this many times the median non-zero one: at 100x
 * a linear axis leaves the typical miss in the first 4 px of the plot.
 */
const wideLatencyRatio = 100;
/** Decades a log latency axis spans at most (about 55 px each); latencies further below are drawn at its left end. */
const maxLatencyDecades = 7;

type Series = { readonly name: string; readonly points: ReadonlyArray<readonly [number, number]>; readonly dashed?: boolean };

type Tick = { readonly value: number; readonly label: string };

/** A horizontal axis: where a value goes (px), its labelled ticks and its title. */
type XAxis = { readonly at: (x: number) => number; readonly ticks: readonly Tick[]; readonly title: string };

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

function niceMax(x: number): number {
  if (!(x > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(x));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= x) return m * p;
  return 10 * p;
}

/** A tick value as text, without float noise (0.30000000000000004 → 0.3). */
function tickText(x: number): string {
  return String(Number(x.toPrecision(12)));
}

/** Ticks in axis order, less every one whose label would overlap the last one kept. */
function spacedTicks(ticks: readonly Tick[], at: (x: number) => number): Tick[] {
  const kept: Tick[] = [];
  for (const t of [...ticks].sort((a, b) => at(a.value) - at(b.value))) {
    const last = kept.at(-1);
    const needed = last === undefined ? 0 : Math.max(minTickGapPx, ((last.label.length + t.label.length) * tickCharPx) / 2 + 6);
    if (last === undefined || at(t.value) - at(last.value) >= needed) kept.push(t);
  }
  return kept;
}

/** A linear axis from 0 to a round number at or above `max`, with five even ticks. */
function linearAxis(max: number, title: string): XAxis {
  const top = niceMax(max);
  const at = (x: number): number => margin.left + (x / top) * plotWidth;
  const ticks = [0, 1, 2, 3, 4].map((i) => ({ value: (top * i) / 4, label: tickText((top * i) / 4) }));
  return { at, ticks: spacedTicks(ticks, at), title };
}

/**
 * The capacity axis: log with a tick at each capacity (exact, less any too close to the previous one) when there
 * are several. One capacity gives a log axis nothing to span: it sits mid-axis on a linear one from 0 to twice it,
 * ticked at 0, itself and twice itself, so the only label that matters is exact.
 */
function capacityAxis(capacities: readonly number[]): XAxis {
  const distinct = [...new Set(capacities)].sort((a, b) => a - b);
  if (distinct.length < 2) {
    const c = distinct[0] ?? 1;
    const at = (x: number): number => margin.left + (x / (2 * c)) * plotWidth;
    return { at, ticks: [0, c, 2 * c].map((value) => ({ value, label: String(value) })), title: 'capacity (entries)' };
  }
  const lo = Math.log10(distinct[0]);
  const hi = Math.log10(distinct[distinct.length - 1]);
  const at = (x: number): number => margin.left + ((Math.log10(x) - lo) / (hi - lo)) * plotWidth;
  return { at, ticks: spacedTicks(distinct.map((c) => ({ value: c, label: String(c) })), at), title: 'capacity (entries, log scale)' };
}

/**
 * The latency axis for CDFs of `latencies` (ms): linear when the slowest is within `wideLatencyRatio` of the median
 * non-zero one, else log over whole decades (at most `maxLatencyDecades`) with 0 ms at the left edge.
 */
function latencyAxis(latencies: readonly number[]): XAxis {
  const positive = latencies.filter((x) => x > 0).sort((a, b) => a - b);
  const max = positive.at(-1) ?? 0;
  if (positive.length === 0 || max <= wideLatencyRatio * positive[Math.floor(positive.length / 2)]) return linearAxis(max, 'latency ms');
  const hiDecade = Math.ceil(Math.log10(max));
  const loDecade = Math.max(Math.floor(Math.log10(positive[0])), hiDecade - maxLatencyDecades);
  const hasZero = latencies.some((x) => !(x > 0));
  const left = margin.left + (hasZero ? zeroSlotPx : 0);
  const lo = 10 ** loDecade;
  const at = (x: number): number => (x > 0 ? left + ((Math.log10(Math.max(x, lo)) - loDecade) / (hiDecade - loDecade)) * (margin.left + plotWidth - left) : margin.left);
  const isClamped = positive[0] < lo;
  const ticks: Tick[] = hasZero ? [{ value: 0, label: '0' }] : [];
  for (let k = loDecade; k <= hiDecade; k++) {
    // From a million on, 1e6 is shorter to read than 1000000 and leaves room for its neighbours' labels.
    const label = k >= 6 ? `1e${k}` : tickText(10 ** k);
    ticks.push({ value: 10 ** k, label: k === loDecade && isClamped ? `≤${label}` : label });
  }
  const title = `latency ms (log scale${hasZero ? '; 0 ms at the left edge' : ''})`;
  return { at, ticks: spacedTicks(ticks, at), title };
}

/** A line (or scatter, when `isScatter`) chart as an SVG string, y from 0 to `yMax` (default: a round number above the data). */
function chart(title: string, x: XAxis, yLabel: string, series: readonly Series[], options: { isScatter?: boolean; yMax?: number } = {}): string {
  const all = series.flatMap((s) => s.points);
  const yMax = options.yMax ?? niceMax(Math.max(...all.map(([, y]) => y)));
  const sx = x.at;
  const sy = (y: number): number => margin.top + plotHeight - (y / yMax) * plotHeight;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`);
  parts.push(`<text x="${margin.left}" y="14" font-size="13" font-weight="bold">${escapeHtml(title)}</text>`);
  for (let i = 0; i <= 4; i++) {
    const y = (yMax * i) / 4;
    parts.push(`<line x1="${margin.left}" x2="${margin.left + plotWidth}" y1="${sy(y)}" y2="${sy(y)}" stroke="#eee"/>`);
    parts.push(`<text x="${margin.left - 6}" y="${sy(y) + 4}" text-anchor="end">${Number(y.toPrecision(3))}</text>`);
  }
  for (const t of x.ticks) {
    parts.push(`<line x1="${sx(t.value).toFixed(1)}" x2="${sx(t.value).toFixed(1)}" y1="${margin.top + plotHeight}" y2="${margin.top + plotHeight + 4}" stroke="#333"/>`);
    parts.push(`<text x="${sx(t.value).toFixed(1)}" y="${margin.top + plotHeight + 16}" text-anchor="middle">${escapeHtml(t.label)}</text>`);
  }
  parts.push(`<line x1="${margin.left}" x2="${margin.left}" y1="${margin.top}" y2="${margin.top + plotHeight}" stroke="#333"/>`);
  parts.push(`<line x1="${margin.left}" x2="${margin.left + plotWidth}" y1="${margin.top + plotHeight}" y2="${margin.top + plotHeight}" stroke="#333"/>`);
  parts.push(`<text x="${margin.left + plotWidth / 2}" y="${height - 6}" text-anchor="middle">${escapeHtml(x.title)}</text>`);
  parts.push(`<text transform="translate(14 ${margin.top + plotHeight / 2}) rotate(-90)" text-anchor="middle">${escapeHtml(yLabel)}</text>`);
  series.forEach((s, i) => {
    const color = palette[s.name] ?? '#333';
    const pts = s.points.map(([px, py]) => [sx(px).toFixed(1), sy(Math.min(py, yMax)).toFixed(1)] as const);
    if (options.isScatter === true) {
      for (const [cx, cy] of pts) parts.push(`<circle cx="${cx}" cy="${cy}" r="4" fill="${color}"/>`);
    } else {
      parts.push(`<polyline fill="none" stroke="${color}" stroke-width="2"${s.dashed === true ? ' stroke-dasharray="5 3"' : ''} points="${pts.map((p) => p.join(',')).join(' ')}"/>`);
      if (s.points.length <= 12) for (const [cx, cy] of pts) parts.push(`<circle cx="${cx}" cy="${cy}" r="2.5" fill="${color}"/>`);
    }
    const ly = margin.top + 14 * i + 6;
    parts.push(`<rect x="${margin.left + plotWidth + 12}" y="${ly - 8}" width="10" height="10" fill="${color}"/>`);
    parts.push(`<text x="${margin.left + plotWidth + 26}" y="${ly + 1}">${escapeHtml(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}

/** One row of the results table: the text table's columns, with `-` for the prefetch ratios of a policy that issued none. */
function tableRow(capacity: number, r: ReplayDocument['runs'][number]['results'][number]): string {
  const cells = [String(capacity), r.policy, ...measuredCells(r), prefetchRatioCell(r, r.prefetch.precision), prefetchRatioCell(r, r.prefetch.coverage)];
  return `<tr>${cells.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`;
}

/**
 * The HTML report for a replay. Runs and the document's runs are drawn and listed by ascending capacity, whatever
 * order they come in, so the hit-ratio line never doubles back.
 */
export function writeReplayReport(doc: ReplayDocument, runs: readonly SimulationRun[]): string {
  const byCapacity = [...runs].sort((a, b) => a.capacity - b.capacity);
  const policies = [...new Set(byCapacity.flatMap((r) => r.results.map((x) => x.policy)))];
  const hitSeries: Series[] = policies.map((p) => ({
    name: p,
    dashed: p === 'belady' || p === 'oracle',
    points: byCapacity.map((run) => [run.capacity, 100 * (run.results.find((x) => x.policy === p)?.hitRatio ?? 0)] as const),
  }));
  const hitChart = chart('Hit ratio against capacity', capacityAxis(byCapacity.map((r) => r.capacity)), 'hit ratio %', hitSeries, { yMax: 100 });
  const latencyCharts = byCapacity.map((run) => {
    const series: Series[] = run.results.map((r) => ({
      name: r.policy,
      points: r.latencySample.map((ms, i) => [ms, (100 * (i + 1)) / r.latencySample.length] as const),
    }));
    const axis = latencyAxis(run.results.flatMap((r) => r.latencySample));
    return chart(`Latency distribution at ${run.capacity} entries (CDF)`, axis, '% of requests at or below', series, { yMax: 100 });
  });
  const loadSeries: Series[] = policies.map((p) => ({
    name: p,
    points: byCapacity.map((run) => {
      const r = run.results.find((x) => x.policy === p);
      return [100 * (r?.hitRatio ?? 0), r?.originFetchesPerRequest ?? 0] as const;
    }),
  }));
  const loadX = linearAxis(Math.max(...loadSeries.flatMap((s) => s.points.map(([x]) => x))), 'hit ratio %');
  const loadChart = chart('Origin load against hit ratio', loadX, 'origin fetches per request', loadSeries, { isScatter: true });
  const rows = [...doc.runs]
    .sort((a, b) => a.capacity - b.capacity)
    .flatMap((run) => run.results.map((r) => tableRow(run.capacity, r)))
    .join('\n');
  const head = ['capacity', 'policy', 'hit %', 'in flight %', 'mean ms', 'p50 ms', 'p95 ms', 'p99 ms', 'fetches/req', 'prefetches', 'precision %', 'coverage %'];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Prescient replay: ${escapeHtml(doc.trace)}</title>
<style>body{font-family:sans-serif;margin:24px;color:#222}table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ddd;padding:3px 8px;text-align:right}td:nth-child(2),th:nth-child(2){text-align:left}.charts{display:flex;flex-wrap:wrap;gap:16px}</style>
</head><body>
<h1>Prescient replay</h1>
<p><b>${escapeHtml(doc.trace)}</b>: ${doc.requests} requests, ${doc.distinctKeys} distinct keys. Timing: ${escapeHtml(doc.timing)}. Origin latency ${escapeHtml(String(doc.originLatencyMs))} ms, concurrency ${doc.originConcurrency ?? 'unlimited'}.</p>
<div class="charts">${hitChart}${loadChart}${latencyCharts.join('')}</div>
<h2>Results</h2>
<table><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr>
${rows}
</table>
</body></html>
`;
}
