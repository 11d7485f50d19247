/**
 * Replay report: one self-contained HTML page with inline SVG charts — hit ratio against capacity for every
 * policy, the latency distribution (CDF) per policy at each capacity, and origin load against hit ratio — plus the
 * results table. No scripts, no external assets: it opens from disk anywhere.
 */
import type { ReplayDocument } from './replay-document.ts';
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

type Series = { readonly name: string; readonly points: ReadonlyArray<readonly [number, number]>; readonly dashed?: boolean };

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

function niceMax(x: number): number {
  if (!(x > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(x));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= x) return m * p;
  return 10 * p;
}

/** A line (or scatter, when `isScatter`) chart as an SVG string. */
function chart(title: string, xLabel: string, yLabel: string, series: readonly Series[], options: { logX?: boolean; isScatter?: boolean; yMax?: number } = {}): string {
  const all = series.flatMap((s) => s.points);
  const xs = all.map(([x]) => (options.logX === true ? Math.log10(Math.max(x, 1e-9)) : x));
  const xMin = Math.min(...xs, options.logX === true ? Infinity : 0);
  const xMaxRaw = Math.max(...xs);
  const xMax = xMaxRaw === xMin ? xMin + 1 : options.logX === true ? xMaxRaw : niceMax(xMaxRaw);
  const yMax = options.yMax ?? niceMax(Math.max(...all.map(([, y]) => y)));
  const pw = width - margin.left - margin.right;
  const ph = height - margin.top - margin.bottom;
  const sx = (x: number): number => margin.left + ((options.logX === true ? Math.log10(Math.max(x, 1e-9)) : x) - xMin) / (xMax - xMin) * pw;
  const sy = (y: number): number => margin.top + ph - (y / yMax) * ph;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`);
  parts.push(`<text x="${margin.left}" y="14" font-size="13" font-weight="bold">${escapeHtml(title)}</text>`);
  for (let i = 0; i <= 4; i++) {
    const y = (yMax * i) / 4;
    parts.push(`<line x1="${margin.left}" x2="${margin.left + pw}" y1="${sy(y)}" y2="${sy(y)}" stroke="#eee"/>`);
    parts.push(`<text x="${margin.left - 6}" y="${sy(y) + 4}" text-anchor="end">${Number(y.toPrecision(3))}</text>`);
  }
  const ticks = options.logX === true ? [...new Set(all.map(([x]) => x))].sort((a, b) => a - b) : [0, 1, 2, 3, 4].map((i) => xMin + ((xMax - xMin) * i) / 4);
  for (const t of ticks) parts.push(`<text x="${sx(t)}" y="${margin.top + ph + 16}" text-anchor="middle">${Number(t.toPrecision(3))}</text>`);
  parts.push(`<line x1="${margin.left}" x2="${margin.left}" y1="${margin.top}" y2="${margin.top + ph}" stroke="#333"/>`);
  parts.push(`<line x1="${margin.left}" x2="${margin.left + pw}" y1="${margin.top + ph}" y2="${margin.top + ph}" stroke="#333"/>`);
  parts.push(`<text x="${margin.left + pw / 2}" y="${height - 6}" text-anchor="middle">${escapeHtml(xLabel)}</text>`);
  parts.push(`<text transform="translate(14 ${margin.top + ph / 2}) rotate(-90)" text-anchor="middle">${escapeHtml(yLabel)}</text>`);
  series.forEach((s, i) => {
    const color = palette[s.name] ?? '#333';
    const pts = s.points.map(([x, y]) => `${sx(x).toFixed(1)},${sy(Math.min(y, yMax)).toFixed(1)}`);
    if (options.isScatter === true) {
      for (const p of pts) {
        const [cx, cy] = p.split(',');
        parts.push(`<circle cx="${cx}" cy="${cy}" r="4" fill="${color}"/>`);
      }
    } else {
      parts.push(`<polyline fill="none" stroke="${color}" stroke-width="2"${s.dashed === true ? ' stroke-dasharray="5 3"' : ''} points="${pts.join(' ')}"/>`);
      if (s.points.length <= 12) for (const p of pts) parts.push(`<circle cx="${p.split(',')[0]}" cy="${p.split(',')[1]}" r="2.5" fill="${color}"/>`);
    }
    const ly = margin.top + 14 * i + 6;
    parts.push(`<rect x="${margin.left + pw + 12}" y="${ly - 8}" width="10" height="10" fill="${color}"/>`);
    parts.push(`<text x="${margin.left + pw + 26}" y="${ly + 1}">${escapeHtml(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}

/** The HTML report for a replay. */
export function writeReplayReport(doc: ReplayDocument, runs: readonly SimulationRun[]): string {
  const policies = [...new Set(runs.flatMap((r) => r.results.map((x) => x.policy)))];
  const hitSeries: Series[] = policies.map((p) => ({
    name: p,
    dashed: p === 'belady' || p === 'oracle',
    points: runs.map((run) => [run.capacity, 100 * (run.results.find((x) => x.policy === p)?.hitRatio ?? 0)] as const),
  }));
  const hitChart = chart('Hit ratio against capacity', 'capacity (entries, log scale)', 'hit ratio %', hitSeries, { logX: runs.length > 1, yMax: 100 });
  const latencyCharts = runs.map((run) => {
    const series: Series[] = run.results.map((r) => ({
      name: r.policy,
      points: r.latencySample.map((ms, i) => [ms, (100 * (i + 1)) / r.latencySample.length] as const),
    }));
    return chart(`Latency distribution at ${run.capacity} entries (CDF)`, 'latency ms', '% of requests at or below', series, { yMax: 100 });
  });
  const loadSeries: Series[] = policies.map((p) => ({
    name: p,
    points: runs.map((run) => {
      const r = run.results.find((x) => x.policy === p);
      return [100 * (r?.hitRatio ?? 0), r?.originFetchesPerRequest ?? 0] as const;
    }),
  }));
  const loadChart = chart('Origin load against hit ratio', 'hit ratio %', 'origin fetches per request', loadSeries, { isScatter: true });
  const rows = doc.runs
    .flatMap((run) =>
      run.results.map(
        (r) =>
          `<tr><td>${run.capacity}</td><td>${r.policy}</td><td>${(100 * r.hitRatio).toFixed(2)}</td><td>${(100 * r.inflightRatio).toFixed(2)}</td>` +
          `<td>${r.meanLatencyMs.toFixed(2)}</td><td>${r.p50LatencyMs.toFixed(1)}</td><td>${r.p99LatencyMs.toFixed(1)}</td>` +
          `<td>${r.originFetchesPerRequest.toFixed(3)}</td><td>${r.prefetch.issued}</td><td>${(100 * r.prefetch.precision).toFixed(1)}</td><td>${(100 * r.prefetch.coverage).toFixed(1)}</td></tr>`,
      ),
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Prescient replay: ${escapeHtml(doc.trace)}</title>
<style>body{font-family:sans-serif;margin:24px;color:#222}table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ddd;padding:3px 8px;text-align:right}td:nth-child(2),th:nth-child(2){text-align:left}.charts{display:flex;flex-wrap:wrap;gap:16px}</style>
</head><body>
<h1>Prescient replay</h1>
<p><b>${escapeHtml(doc.trace)}</b>: ${doc.requests} requests, ${doc.distinctKeys} distinct keys. Timing: ${escapeHtml(doc.timing)}. Origin latency ${escapeHtml(String(doc.originLatencyMs))} ms, concurrency ${doc.originConcurrency ?? 'unlimited'}.</p>
<div class="charts">${hitChart}${loadChart}${latencyCharts.join('')}</div>
<h2>Results</h2>
<table><tr><th>capacity</th><th>policy</th><th>hit %</th><th>in flight %</th><th>mean ms</th><th>p50 ms</th><th>p99 ms</th><th>fetches/req</th><th>prefetches</th><th>precision %</th><th>coverage %</th></tr>
${rows}
</table>
</body></html>
`;
}
