/**
 * Question: what does each predictor cost per access (observe + predict(limit 5)) and per model state?
 *
 * Replays yoochoose-100k (stable-sorted by Time), msnbc (first 100,000 sessions, one after another) and LIRS multi2
 * (a block trace: anonymous reads, one global stream, where delta is the source that counts) through each predictor, side by side with a naive baseline (first-order Markov as Map<string, Map<string, number>>,
 * sorting successors on every predict). Reports ns per access (median of 3 timed passes after a warm-up pass, a
 * fresh predictor each pass) and bytes per state: the growth of (heapUsed + arrayBuffers after global.gc())
 * when a second trained model is added beside a first one (so loader garbage and lazily compiled code are
 * already settled), over its stateCount (n/a under 1,000 states, where heap noise dominates).
 * Usage: node --expose-gc --import tsx bench/predictor-cost.ts [dataDir]
 * PREDICTORS=ensemble,delta (names of the default set, comma-separated) times only those beside the baseline.
 * VARIANTS='[{"name":"no-knn","ensemble":{"knn":false}}]' adds EnsemblePredictors with those options.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import type { ReadContext } from '../src/context.ts';
import type { Access, Prediction, Predictor } from '../src/predict/predictor.ts';
import { EnsemblePredictor, type EnsemblePredictorOptions } from '../src/predict/ensemble-predictor.ts';
import { defaultPredictorSet, type EvaluationRequest } from '../src/sim/evaluate.ts';
import { loadMsnbc, loadYoochoose } from './predictor-accuracy-data.ts';

const here = dirname(fileURLToPath(import.meta.url));
const dataDir = resolve(process.argv[2] ?? process.env.PRESCIENT_DATA ?? join(here, '..', '..', 'shared', 'data'));
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc --import tsx bench/predictor-cost.ts');

/** Baseline: the first-order Markov table most people would write first. */
class NaiveMarkov implements Predictor {
  readonly name = 'naive-map-markov-1';
  #next = new Map<string, Map<string, number>>();
  #last = new Map<string, string>();
  get stateCount(): number {
    return this.#next.size;
  }
  observe(a: Access): void {
    const s = a.ctx.session ?? '';
    const prev = this.#last.get(s);
    if (prev !== undefined) {
      let m = this.#next.get(prev);
      if (m === undefined) this.#next.set(prev, (m = new Map()));
      m.set(a.key, (m.get(a.key) ?? 0) + 1);
    }
    this.#last.set(s, a.key);
  }
  predict(ctx: ReadContext, limit: number): Prediction[] {
    const prev = this.#last.get(ctx.session ?? '');
    const m = prev === undefined ? undefined : this.#next.get(prev);
    if (m === undefined) return [];
    let total = 0;
    for (const c of m.values()) total += c;
    return [...m].sort((a, b) => b[1] - a[1]).slice(0, limit).map(([key, c]) => ({ key, probability: c / total }));
  }
}

function accesses(rows: EvaluationRequest[]): Access[] {
  return rows.map((r, i) => ({ key: r.key, at: r.time ?? i, ctx: { session: r.session } }));
}

/** LIRS multi2: one block number per line, read as anonymous accesses 10 ms apart. */
function blockTrace(file: string): Access[] {
  const lines = gunzipSync(readFileSync(join(dataDir, 'cache-lirs', file))).toString('latin1').split('\n');
  const out: Access[] = [];
  for (const line of lines) {
    const key = line.trim();
    if (key !== '') out.push({ key, at: out.length * 10, ctx: {} });
  }
  return out;
}

function run(make: () => Predictor, stream: Access[]): { ns: number; predictor: Predictor } {
  let predictor = make();
  let sink = 0;
  const t0 = process.hrtime.bigint();
  for (const a of stream) {
    predictor.observe(a);
    sink += predictor.predict(a.ctx, 5).length;
  }
  const ns = Number(process.hrtime.bigint() - t0) / stream.length;
  if (sink < 0) predictor = make();
  return { ns, predictor };
}

function heap(): number {
  gc!();
  gc!();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

const only = process.env.PREDICTORS?.split(',');
const chosen = defaultPredictorSet().filter((p) => only === undefined || only.includes(p.name));
const variants = JSON.parse(process.env.VARIANTS ?? '[]') as Array<{ name: string; ensemble: EnsemblePredictorOptions }>;
const makers: { name: string; make: () => Predictor }[] = [
  { name: 'naive-map-markov-1', make: () => new NaiveMarkov() },
  ...chosen,
  ...variants.map((v) => ({ name: `ensemble ${v.name}`, make: () => new EnsemblePredictor(v.ensemble) })),
];
for (const [label, stream] of [
  ['yoochoose-100k', accesses(loadYoochoose(dataDir))],
  ['msnbc (100k sessions)', accesses(loadMsnbc(dataDir))],
  ['LIRS multi2 (anonymous block reads)', blockTrace('multi2.trace.gz')],
] as const) {
  console.log(`\n## ${label}: ${stream.length} accesses\n`);
  console.log('| predictor | ns / access (observe + predict 5) | states | bytes / state |');
  console.log('|---|---|---|---|');
  for (const { name, make } of makers) {
    run(make, stream);
    const times: number[] = [];
    for (let i = 0; i < 3; i++) times.push(run(make, stream).ns);
    times.sort((a, b) => a - b);
    const { predictor: resident } = run(make, stream);
    const before = heap();
    const { predictor } = run(make, stream);
    const after = heap();
    const states = predictor.stateCount ?? 0;
    if (resident.stateCount !== states) console.log(`(${name}: replays disagree on stateCount)`);
    const perState = states >= 1000 ? ((after - before) / states).toFixed(0) : 'n/a';
    console.log(`| ${name} | ${times[1].toFixed(0)} | ${states} | ${perState} |`);
  }
}
