/**
 * Question: how accurately does each online predictor name the next request of a session?
 *
 * Runs the session protocol of src/sim/evaluate.ts (Recall@k, MRR@k, learning online) for the default predictor
 * set on three real clickstreams, side by side with first-order Markov as the baseline:
 *   - yoochoose-100k: rows stably sorted by Time; train on the earlier days, test on sessions starting on the
 *     last calendar day (UTC) in the data;
 *   - diginetica-sample: global order (eventdate, session_id, timeframe), user ids where present, first 80% of
 *     sessions by start train;
 *   - msnbc: the first 100,000 sessions, one after another, first 80% train.
 * Usage: node --import tsx bench/predictor-accuracy.ts [dataDir] [yoochoose|diginetica|msnbc ...]
 * dataDir defaults to $PRESCIENT_DATA or ../shared/data relative to the repository.
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultPredictorSet, evaluatePredictors, type EvaluationOptions, type EvaluationRequest, type PredictorFactory } from '../src/sim/evaluate.ts';
import { lastDayStart, loadDiginetica, loadMsnbc, loadYoochoose } from './predictor-accuracy-data.ts';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const dataDir = resolve(args[0] && !['yoochoose', 'diginetica', 'msnbc'].includes(args[0]) ? args.shift()! : (process.env.PRESCIENT_DATA ?? join(here, '..', '..', 'shared', 'data')));
const which = args.length > 0 ? args : ['yoochoose', 'diginetica', 'msnbc'];

/** The cut-offs reported; the predictors' list caps are sized to the largest (defaultPredictorSet). */
const ks = [1, 5, 20];

function report(label: string, requests: EvaluationRequest[], cut: Partial<EvaluationOptions>, predictors: PredictorFactory[]): void {
  const started = process.hrtime.bigint();
  const result = evaluatePredictors(requests, { ks, learnOnline: true, predictors, ...cut });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  console.log(`\n## ${label}: ${result.trainSessions} train / ${result.testSessions} test sessions, ${result.testPositions} test positions (${seconds.toFixed(1)} s)\n`);
  console.log('| predictor | Recall@1 | Recall@5 | Recall@20 | MRR@20 |');
  console.log('|---|---|---|---|---|');
  for (const p of result.predictors) {
    console.log(`| ${p.name} | ${p.recall['1'].toFixed(4)} | ${p.recall['5'].toFixed(4)} | ${p.recall['20'].toFixed(4)} | ${p.mrr['20'].toFixed(4)} |`);
  }
}

const set = defaultPredictorSet(Math.max(...ks));
const only = process.env.PREDICTORS?.split(',');
const predictors = only === undefined ? set : set.filter((p) => only.includes(p.name));
if (which.includes('yoochoose')) {
  const rows = loadYoochoose(dataDir);
  const until = lastDayStart(rows);
  report(`yoochoose-100k (test = sessions starting from ${new Date(until).toISOString().slice(0, 10)})`, rows, { trainUntil: until }, predictors);
}
if (which.includes('diginetica')) report('diginetica-sample (trainFraction 0.8)', loadDiginetica(dataDir), { trainFraction: 0.8 }, predictors);
if (which.includes('msnbc')) report('msnbc, first 100k sessions (trainFraction 0.8)', loadMsnbc(dataDir), { trainFraction: 0.8 }, predictors);
