/**
 * The hard test of the write-back path: a child process (test/fixtures/write-back-child.ts) takes writes into a
 * WriteBack over PostgreSQL and is killed with SIGKILL at seeded random moments (after some acknowledgements,
 * the instant a flush starts, or right after start-up replay), 24 times on the same journal; a final child
 * replays, flushes and exits cleanly. Then the table must hold every saved write exactly once.
 *
 * "Saved" = acknowledged (an `ack` line: printed only after the record was fsynced) or replayed by a later child
 * (a `replayed` line: the record was durable in the journal but the process died before printing its ack; such
 * writes reach PostgreSQL and are counted, as long as a `begin` line shows the write was really taken).
 * Nothing else may appear in the table, and the counter must equal the sum of the saved deltas exactly.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { PostgresOrigin } from '../../src/origin/postgres-origin.ts';
import { seededRandom } from '../../src/sim/seeded-random.ts';
import { Journal } from '../../src/sync/journal.ts';

const KILLS = 24;
/** Bounded wait for one child (start-up through tsx included) on a busy machine. */
const CHILD_DEADLINE_MS = 20_000;
const root = fileURLToPath(new URL('../..', import.meta.url));
const fixture = join(root, 'test/fixtures/write-back-child.ts');
const table = `wb_crash_${process.pid}`;
const sql = postgres({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test', max: 1, onnotice: () => undefined });
let dir = '';

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'prescient-wb-crash-'));
  await sql.unsafe(`drop table if exists ${table}`);
  await PostgresOrigin.ensureTable(sql, table);
});
after(async () => {
  await sql.unsafe(`drop table if exists ${table}`);
  await sql.end();
  await rm(dir, { recursive: true, force: true });
});

type Write = { key: string; version: number; value: string };
type Plan = { kind: 'acks'; after: number } | { kind: 'flush'; nth: number } | { kind: 'ready' } | { kind: 'final' };
type Outcome = { exitCode: number | null; signal: string | null; killedMidFlush: boolean; stderr: string };

const saved = new Map<string, Write>();
const acked = new Map<string, Write>();
const begun = new Set<string>();

/** Runs one child to its planned death (or, for 'final', to a clean exit), recording every line it printed. */
function runChild(run: number, plan: Plan): Promise<Outcome> {
  const args = ['--import', 'tsx', fixture, dir, table, String(run), ...(plan.kind === 'final' ? ['final'] : [])];
  const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  let acks = 0;
  let flushes = 0;
  let openFlushes = 0;
  let isKilled = false;
  const kill = () => {
    if (!isKilled) child.kill('SIGKILL');
    isKilled = true;
  };
  const deadline = setTimeout(kill, CHILD_DEADLINE_MS);
  createInterface({ input: child.stdout }).on('line', (line) => {
    const [kind, key, a, b] = line.split(' ');
    if (kind === 'begin') begun.add(`${key} ${a}`);
    else if (kind === 'ack' || kind === 'replayed') {
      const write = { key, version: Number(a), value: b };
      saved.set(`${key}@${a}`, write);
      if (kind === 'ack') acked.set(`${key}@${a}`, write);
      if (kind === 'ack' && plan.kind === 'acks' && ++acks >= plan.after) kill();
    } else if (kind === 'flush-begin') {
      openFlushes++;
      if (plan.kind === 'flush' && ++flushes >= plan.nth) kill();
    } else if (kind === 'flush-end') openFlushes--;
    else if (kind === 'ready' && plan.kind === 'ready') kill();
  });
  return new Promise((resolve) => {
    child.on('close', (exitCode, signal) => {
      clearTimeout(deadline);
      resolve({ exitCode, signal, killedMidFlush: isKilled && openFlushes > 0, stderr });
    });
  });
}

test('every acknowledged write is in PostgreSQL exactly once after 24 SIGKILLs, mid-flush included', { timeout: 120_000 }, async (t) => {
  const random = seededRandom(20_261_121);
  let midFlush = 0;
  for (let run = 1; run <= KILLS; run++) {
    const r = random();
    const plan: Plan = r < 0.45 ? { kind: 'acks', after: 1 + Math.floor(random() * 300) }
      : r < 0.9 ? { kind: 'flush', nth: 1 + Math.floor(random() * 6) }
      : { kind: 'ready' };
    const outcome = await runChild(run, plan);
    assert.equal(outcome.signal, 'SIGKILL', `run ${run} (${JSON.stringify(plan)}) ended on its own: ${outcome.exitCode}\n${outcome.stderr}`);
    if (outcome.killedMidFlush) midFlush++;
  }
  const final = await runChild(KILLS + 1, { kind: 'final' });
  assert.equal(final.exitCode, 0, `the final child failed:\n${final.stderr}`);

  const rows = await sql.unsafe<Array<{ key: string; value: unknown; version: string; deleted: boolean }>>(`select key, value, version::text as version, deleted from ${table}`);
  const byKey = new Map(rows.map((row) => [row.key, { value: JSON.stringify(row.value), version: Number(row.version) }]));

  const expected = new Map<string, { version: number; value: string; total: number }>();
  for (const w of saved.values()) {
    assert.ok(begun.has(`${w.key} ${w.value}`), `saved write ${w.key}=${w.value} was never begun`);
    const held = expected.get(w.key);
    const total = (held?.total ?? 0) + (w.key === 'counter' ? Number(w.value) : 0);
    if (held === undefined || w.version > held.version) expected.set(w.key, { version: w.version, value: w.value, total });
    else held.total = total;
  }
  for (const w of acked.values()) {
    const row = byKey.get(w.key);
    assert.ok(row !== undefined && row.version >= w.version, `acknowledged ${w.key}@${w.version} is missing`);
  }
  for (const [key, want] of expected) {
    const row = byKey.get(key);
    assert.ok(row !== undefined, `saved key ${key} has no row`);
    assert.equal(row.version, want.version, `row ${key} holds the newest saved version`);
    assert.equal(row.value, key === 'counter' ? String(want.total) : want.value, `row ${key} holds the newest saved value`);
  }
  for (const row of rows) assert.ok(expected.has(row.key), `row ${row.key} was never saved`);
  assert.equal(rows.length, expected.size);

  const counterWrites = [...saved.values()].filter((w) => w.key === 'counter').length;
  assert.ok(acked.size > 500, `enough writes to mean something: ${acked.size}`);
  assert.ok(counterWrites > 20, `enough counter increments: ${counterWrites}`);
  assert.ok(midFlush >= 3, `kills that landed during a PostgreSQL upsert: ${midFlush}`);

  const journal = new Journal({ dir });
  assert.deepEqual(await journal.open(), [], 'the final child left nothing unconfirmed');
  await journal.close();
  t.diagnostic(`acked ${acked.size}, saved but ack lost ${saved.size - acked.size}, rows ${rows.length}, counter ${byKey.get('counter')?.value} from ${counterWrites} increments, mid-flush kills ${midFlush}/${KILLS}`);
});
