/**
 * `prescient demo`: the main job on embedded defaults. Replays the real trace sample that ships with the project
 * (the first 100,000 requests of cache2k's orm-busy trace, CC BY 4.0, headissue GmbH / Jens Wilke) through
 * prescient and every baseline, prints the comparison and writes the HTML report. Needs no external service.
 */
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { formatReplayTable } from '../sim/replay-document.ts';
import type { CliIo } from './io.ts';
import { addSimulationFlags, runReplay, type ReplayFlags } from './replay.ts';

/** The sample trace shipped in samples/. */
export const demoTracePath = fileURLToPath(new URL('../../samples/cache2k-orm-busy-100k.txt.gz', import.meta.url));

export function demoCommand(io: CliIo, done: (code: number) => void): Command {
  const command = new Command('demo').description('replay the shipped sample trace through prescient and the baselines');
  addSimulationFlags(command, { capacity: '1%,5%', policies: 'none,lru,tinylfu,readahead,belady,prescient,oracle' });
  command.setOptionValueWithSource('report', 'prescient-demo-report.html', 'default');
  return command.action(async (flags: ReplayFlags & Record<string, unknown>) => {
    io.stderr.write(`prescient demo: replaying ${demoTracePath}\n(cache2k orm-busy trace, first 100,000 requests; CC BY 4.0, headissue GmbH / Jens Wilke)\n`);
    const doc = await runReplay(demoTracePath, { ...flags, format: 'keys' }, io);
    if (flags.json === true) {
      io.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
    } else {
      io.stdout.write(formatReplayTable(doc));
      io.stdout.write(summary(doc));
      io.stdout.write(`report written to ${flags.report}\n`);
    }
    done(0);
  });
}

function summary(doc: Parameters<typeof formatReplayTable>[0]): string {
  const lines = [''];
  for (const run of doc.runs) {
    const by = new Map(run.results.map((r) => [r.policy, r]));
    const p = by.get('prescient');
    const lru = by.get('lru');
    const belady = by.get('belady');
    if (p === undefined || lru === undefined) continue;
    const pct = (x: number): string => (100 * x).toFixed(1);
    lines.push(
      `at ${run.capacity} entries: prescient ${pct(p.hitRatio)}% hits vs LRU ${pct(lru.hitRatio)}%` +
        (belady === undefined ? '' : ` and Belady ${pct(belady.hitRatio)}%`) +
        `; mean latency ${p.meanLatencyMs.toFixed(1)} ms vs ${lru.meanLatencyMs.toFixed(1)} ms; origin fetches ${(p.originFetchesPerRequest / Math.max(lru.originFetchesPerRequest, 1e-9)).toFixed(2)}x LRU's; prefetch precision ${pct(p.prefetch.precision)}%`,
    );
  }
  return lines.join('\n') + '\n';
}
