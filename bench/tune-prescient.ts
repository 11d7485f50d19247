/**
 * Question: which engine settings (prefetch region share, scheduler budget, predictor options) give the best hit
 * ratio inside the origin-fetch budget on a real trace? Runs lru, tinylfu and prescient variants on one workload.
 *
 *   node --import tsx bench/tune-prescient.ts <trace> <capacity,...> '<json list of variants>' [reader flags as JSON]
 *
 * A variant is { "name", "memory"?: {...}, "prefetch"?: {...}, "predictor"?: {...EnsemblePredictorOptions} | null }
 * (null: no predictor, the tinylfu policy with those memory settings).
 *
 * SEEDS=1,2,3 (default 1) runs each variant once per memory-tier hash seed and prints each run and the mean: at
 * capacities of 1-5% one run moves by about half a point with the seed, so differences under a point need the mean.
 * WORKLOAD='{"sessions":1,"ignoreTime":true}' sets the timing as `prescient replay`'s flags do (diginetica's set-up in
 * bench/replay-figures.ts). SKIP_TINYLFU=1 leaves out the tinylfu row. WEIGHTS=1 prints, after each run, the ensemble's learned mixture
 * weights and each source's hit rate.
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
const workload = await loadWorkload(source, JSON.parse(process.env.WORKLOAD ?? '{}'));
const variants = (JSON.parse(variantsJson ?? '[{"name":"default"}]') as Array<{ name?: string; memory?: object; prefetch?: object; predictor?: object | null }>)
  .map((v, i) => ({ ...v, name: v.name ?? `variant ${i + 1}` }));
console.log(`${path}: ${workload.requests} requests, ${workload.keys.length} keys, ${workload.timing}`);
for (const spec of capacitySpec.split(',')) {
  const capacity = resolveCapacity(spec, workload.keys.length);
  const lru = replayBaseline(workload, createLruPolicy({ capacity }), { latency: () => 20, random: seededRandom(1), concurrency: Infinity });
  const lruFetch = lru.demandFetches + lru.prefetchFetches;
  console.log(`capacity ${capacity}: lru ${(100 * lru.hits / workload.requests).toFixed(2)}% fetch/req ${(lruFetch / workload.requests).toFixed(3)}`);
  const seeds = (process.env.SEEDS ?? '1').split(',').map(Number);
  const rows = [...(process.env.SKIP_TINYLFU === '1' ? [] : [{ name: 'tinylfu', tinylfu: true }]), ...variants];
  for (const v of rows as Array<(typeof variants)[number] & { tinylfu?: boolean }>) {
    let hitSum = 0;
    let fetchSum = 0;
    for (const seed of seeds) {
      const t0 = performance.now();
      const predictor = v.tinylfu === true || v.predictor === null ? undefined : new EnsemblePredictor(v.predictor ?? {});
      const c = await replayEngine(workload, {
        capacity,
        predictor,
        prefetch: v.prefetch,
        latency: () => 20,
        random: seededRandom(1),
        concurrency: Infinity,
        seed,
        ...(v.memory === undefined ? {} : { memory: v.memory }),
      } as never);
      const fetches = c.demandFetches + c.prefetchFetches;
      hitSum += c.hits / workload.requests;
      fetchSum += fetches / lruFetch;
      if (process.env.WEIGHTS === '1' && predictor !== undefined) {
        const f = (r: Record<string, number>) => Object.entries(r).map(([k, x]) => `${k} ${x.toFixed(3)}`).join(', ');
        console.log(`    weights: ${f(predictor.weights())}\n    accuracy: ${f(predictor.accuracy())}`);
      }
      console.log(
        `  ${v.name.padEnd(24)} seed ${seed} hit ${(100 * c.hits / workload.requests).toFixed(2)}%  inflight ${(100 * c.inflight / workload.requests).toFixed(2)}%  ` +
          `fetch ${(fetches / lruFetch).toFixed(2)}x lru  issued ${c.prefetchIssued} used ${c.prefetchUsed} (${(100 * c.prefetchUsed / Math.max(1, c.prefetchIssued)).toFixed(1)}%)  ${((performance.now() - t0) / 1000).toFixed(1)}s`,
      );
    }
    if (seeds.length > 1) {
      console.log(`  ${v.name.padEnd(24)} MEAN hit ${(100 * hitSum / seeds.length).toFixed(2)}%  fetch ${(fetchSum / seeds.length).toFixed(2)}x lru`);
    }
  }
}
