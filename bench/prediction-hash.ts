/**
 * Question: does a change to the predictors leave every prediction exactly as it was?
 *
 * Replays five real streams (yoochoose-100k, the first 60,000 diginetica-sample clicks with their users, the first
 * 20,000 msnbc sessions, LIRS multi2 and the first 60,000 ARC OLTP requests as anonymous reads) through three
 * EnsemblePredictor variants (default, Markov only, sequential rules with userConfidence 3), predicting after every
 * access (limit 20 on every third, else 5), and prints a SHA-1 of every prediction (key, probability bits, ETA,
 * source) with the final weights, accuracy and state count. Run it before and after an optimisation that claims to
 * be exact: the 15 hashes must match. The ns column is wall clock including the hashing (noise; not a cost figure).
 * Usage: node --import tsx bench/prediction-hash.ts [dataDir]
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import type { ReadContext } from '../src/context.ts';
import { EnsemblePredictor, type EnsemblePredictorOptions } from '../src/predict/ensemble-predictor.ts';
import type { Access } from '../src/predict/predictor.ts';
import { loadDiginetica, loadMsnbc, loadYoochoose } from './predictor-accuracy-data.ts';

const here = dirname(fileURLToPath(import.meta.url));
const dataDir = resolve(process.argv[2] ?? process.env.PRESCIENT_DATA ?? join(here, '..', '..', 'shared', 'data'));

function lines(file: string, limit = Infinity): string[] {
  const out: string[] = [];
  for (const line of gunzipSync(readFileSync(file)).toString('latin1').split('\n')) {
    if (out.length >= limit) break;
    if (line.trim() !== '') out.push(line.trim());
  }
  return out;
}

const streams: [string, Access[]][] = [
  ['yoochoose', loadYoochoose(dataDir).map((r, i) => ({ key: r.key, at: r.time ?? i, ctx: { session: r.session } }))],
  ['diginetica', loadDiginetica(dataDir).slice(0, 60_000).map((r, i) => {
    const ctx: ReadContext = r.user === undefined ? { session: r.session } : { session: r.session, user: r.user };
    return { key: r.key, at: r.time ?? i, ctx };
  })],
  ['msnbc', loadMsnbc(dataDir, 20_000).map((r, i) => ({ key: r.key, at: i, ctx: { session: r.session } }))],
  ['multi2', lines(join(dataDir, 'cache-lirs', 'multi2.trace.gz')).map((key, i) => ({ key, at: i * 10, ctx: {} }))],
  ['oltp', lines(join(dataDir, 'cache-arc', 'OLTP.lis.gz'), 60_000).map((l, i) => ({ key: l.split(' ')[0], at: i * 10, ctx: {} }))],
];
const variants: [string, EnsemblePredictorOptions][] = [
  ['default', {}],
  ['markov-only', { knn: false, delta: false, popularity: false }],
  ['rules-user', { rules: {}, userConfidence: 3 }],
];
const bits = new Float64Array(1);
const words = new Uint32Array(bits.buffer);
for (const [streamName, stream] of streams) {
  for (const [variantName, options] of variants) {
    const predictor = new EnsemblePredictor(options);
    const hash = createHash('sha1');
    const started = performance.now();
    let chunk = '';
    for (const access of stream) {
      predictor.observe(access);
      for (const p of predictor.predict(access.ctx, (access.at / 10) % 3 === 0 ? 20 : 5)) {
        bits[0] = p.probability;
        chunk += `${p.key}|${words[0]},${words[1]}|${p.etaMs ?? ''}|${p.source};`;
      }
      chunk += '\n';
      if (chunk.length > 1 << 16) {
        hash.update(chunk);
        chunk = '';
      }
    }
    hash.update(chunk + JSON.stringify(predictor.weights()) + JSON.stringify(predictor.accuracy()) + predictor.stateCount);
    const ns = ((performance.now() - started) * 1e6) / stream.length;
    console.log(`${streamName.padEnd(11)} ${variantName.padEnd(12)} ${hash.digest('hex').slice(0, 16)} ${ns.toFixed(0)} ns`);
  }
}
