/**
 * Question: which engine settings (prefetch region share, scheduler budget, predictor options) give the best hit
 * ratio inside the origin-fetch budget on a real trace? Runs lru, tinylfu and prescient variants on one workload.
 *
 *   node --import tsx bench/tune-prescient.ts <trace> <capacity,...> '<json list of variants>' [reader flags as JSON]
 *
 * A variant is { "name", "memory"?: {...}, "prefetch"?: {...}, "predictor"?: {...EnsemblePredictorOptions} | null }
 * (null: no predictor, the tinylfu policy with those memory settings).
 */
import { EnsemblePredictor } from '../src/predict/ensemble-predictor.ts';
import { seededRandom } from '../src/sim/seeded-random.ts';
import { replayEngine } from '../src/sim/engine-replay.ts';
import { replayBaseline } from '../src/sim/baseline-replay.ts';
import { createLruPolicy } from '../src/sim/lru-policy.ts';
import { resolveCapacity } from '../src/sim/simulator.ts';
import { openTrace } from '../src/sim/trace-reader.ts';
import { loadWorkload } from '../src/sim/workload.ts';

const [path, capacitySpec, variantsJson, readerJson] = process.argv.slice(2);
const source = await openTrace(path, readerJson === undefined ? {} : JSON.parse(readerJson));
const workload = await loadWorkload(source, {});
const variants = JSON.parse(variantsJson ?? '[{"name":"default"}]') as Array<{ name: string; memory?: object; prefetch?: object; predictor?: object | null }>;
console.log(`${path}: ${workload.requests} requests, ${workload.keys.length} keys, ${workload.timing}`);
for (const spec of capacitySpec.split(',')) {
  const capacity = resolveCapacity(spec, workload.keys.length);
  const lru = replayBaseline(workload, createLruPolicy({ capacity }), { latency: () => 20, random: seededRandom(1), concurrency: Infinity });
  const lruFetch = lru.demandFetches + lru.prefetchFetches;
  console.log(`capacity ${capacity}: lru ${(100 * lru.hits / workload.requests).toFixed(2)}% fetch/req ${(lruFetch / workload.requests).toFixed(3)}`);
  for (const v of [{ name: 'tinylfu', tinylfu: true }, ...variants] as Array<(typeof variants)[number] & { tinylfu?: boolean }>) {
    const t0 = performance.now();
    const c = await replayEngine(workload, {
      capacity,
      predictor: v.tinylfu === true || v.predictor === null ? undefined : new EnsemblePredictor(v.predictor ?? {}),
      prefetch: v.prefetch,
      latency: () => 20,
      random: seededRandom(1),
      concurrency: Infinity,
      seed: 1,
      ...(v.memory === undefined ? {} : { memory: v.memory }),
    } as never);
    const fetches = c.demandFetches + c.prefetchFetches;
    console.log(
      `  ${v.name.padEnd(24)} hit ${(100 * c.hits / workload.requests).toFixed(2)}%  inflight ${(100 * c.inflight / workload.requests).toFixed(2)}%  ` +
        `fetch ${(fetches / lruFetch).toFixed(2)}x lru  issued ${c.prefetchIssued} used ${c.prefetchUsed} (${(100 * c.prefetchUsed / Math.max(1, c.prefetchIssued)).toFixed(1)}%)  ${((performance.now() - t0) / 1000).toFixed(1)}s`,
    );
  }
}
