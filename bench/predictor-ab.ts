/**
 * Question: is one version of the predictors faster than another, on this (noisy, shared) machine?
 *
 * Loads EnsemblePredictor from two checkouts of the repository side by side in one process (for example
 * `git worktree add /tmp/base HEAD~1` with node_modules linked) and times observe + predict(5) per access on one real
 * stream, alternating the two for `rounds` rounds after a warm-up of each, so load and heap state hit both alike. Prints
 * the median ns per access of each and the ratio of every round (B / A). Separate runs of bench/predictor-cost.ts moved
 * by 20–40% on this machine; paired rounds moved by a few percent.
 * Usage: node --import tsx bench/predictor-ab.ts <repoA> <repoB> [yoochoose|msnbc|multi2] [rounds] [optionsJSON] [dataDir]
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import type { Access, Predictor } from '../src/predict/predictor.ts';
import { loadMsnbc, loadYoochoose } from './predictor-accuracy-data.ts';

const here = dirname(fileURLToPath(import.meta.url));
const [repoA, repoB, streamName = 'yoochoose', roundsArg = '10', optionsArg = '{}', dataArg] = process.argv.slice(2);
if (repoA === undefined || repoB === undefined) throw new Error('usage: bench/predictor-ab.ts <repoA> <repoB> [stream] [rounds] [optionsJSON] [dataDir]');
const dataDir = resolve(dataArg ?? process.env.PRESCIENT_DATA ?? join(here, '..', '..', 'shared', 'data'));
type Maker = new (options: object) => Predictor;
const load = async (repo: string): Promise<Maker> => (await import(join(resolve(repo), 'src', 'predict', 'ensemble-predictor.ts'))).EnsemblePredictor as Maker;
const [A, B] = [await load(repoA), await load(repoB)];

function stream(name: string): Access[] {
  if (name === 'yoochoose') return loadYoochoose(dataDir).map((r, i) => ({ key: r.key, at: r.time ?? i, ctx: { session: r.session } }));
  if (name === 'msnbc') return loadMsnbc(dataDir, 30_000).map((r, i) => ({ key: r.key, at: i, ctx: { session: r.session } }));
  if (name === 'multi2') {
    const keys = gunzipSync(readFileSync(join(dataDir, 'cache-lirs', 'multi2.trace.gz'))).toString('latin1').split('\n').map((l) => l.trim()).filter((l) => l !== '');
    return keys.map((key, i) => ({ key, at: i * 10, ctx: {} }));
  }
  throw new Error(`unknown stream ${name}: yoochoose, msnbc or multi2`);
}

const accesses = stream(streamName);
const options = JSON.parse(optionsArg) as object;
let sink = 0;
function time(Make: Maker): number {
  const predictor = new Make(options);
  const started = process.hrtime.bigint();
  for (const a of accesses) {
    predictor.observe(a);
    sink += predictor.predict(a.ctx, 5).length;
  }
  return Number(process.hrtime.bigint() - started) / accesses.length;
}

time(A);
time(B);
const a: number[] = [];
const b: number[] = [];
for (let round = 0; round < Number(roundsArg); round++) {
  // Alternate which goes first, so neither always runs on a heap the other just left.
  if (round % 2 === 0) {
    a.push(time(A));
    b.push(time(B));
  } else {
    b.push(time(B));
    a.push(time(A));
  }
}
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[xs.length >> 1];
console.log(`${streamName}, ${accesses.length} accesses: A ${median(a).toFixed(0)} ns, B ${median(b).toFixed(0)} ns per access, B/A ${(median(b) / median(a)).toFixed(3)}`);
console.log(`rounds B/A: ${a.map((x, i) => (b[i] / x).toFixed(2)).join(' ')}${sink < 0 ? ' ' : ''}`);
