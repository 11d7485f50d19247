/**
 * WriteBack over an origin that refuses what a batch holds the way PostgreSQL does (a SQLSTATE the SQL origins code
 * as a refusal, sql-table.ts): a record refused alone is set aside, a batch refused as a whole is split, and only
 * the server's own faults are retried.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VirtualClock } from '../../src/clock.ts';
import { isPrescientError } from '../../src/errors.ts';
import { MapOrigin } from '../../src/origin/function-origin.ts';
import type { OriginRecord, PutManyOutcome } from '../../src/origin/origin.ts';
import { SqlTable, writeRecords } from '../../src/origin/sql-table.ts';
import { WriteBack } from '../../src/sync/write-back.ts';
import { tempDirs } from '../doubles/temp-dirs.ts';

const tempDir = tempDirs('prescient-wb-refused-');

const pgError = (code: string, message: string) => Object.assign(new Error(message), { code });

/** The btree limit on one index row; PostgreSQL's default table indexes the key. */
const MAX_INDEX_ROW_BYTES = 2704;

/**
 * A map origin writing through SqlTable's statement, whose runner fails as PostgreSQL would: 54000 for a key over the
 * index row limit or a statement over `maxStatementChars` (jsonb's size limit), or the SQLSTATEs in `failNext`.
 */
class SqlLikeOrigin<V> extends MapOrigin<V> {
  readonly statements: number[] = [];
  readonly failNext: string[] = [];
  readonly #table = new SqlTable();
  readonly #maxStatementChars: number;
  constructor(maxStatementChars = Infinity) {
    super();
    this.#maxStatementChars = maxStatementChars;
  }
  override putMany(records: readonly OriginRecord<V>[]): Promise<PutManyOutcome> {
    return writeRecords(this.#table, 'sql-like', async (_text, params) => {
      const text = params[0] as string;
      const rows = JSON.parse(text) as Array<OriginRecord<V>>;
      this.statements.push(rows.length);
      const code = this.failNext.shift();
      if (code !== undefined) throw pgError(code, `SQLSTATE ${code}`);
      if (rows.some((r) => r.key.length > MAX_INDEX_ROW_BYTES)) throw pgError('54000', 'index row size 4016 exceeds btree version 4 maximum 2704');
      if (text.length > this.#maxStatementChars) throw pgError('54000', 'total size of jsonb array elements exceeds the maximum');
      await MapOrigin.prototype.putMany.call(this, rows);
      return [];
    }, records);
  }
}

test('a key too long for the origin\'s index is set aside and reported; the rest of its batch and later writes are flushed', async () => {
  const origin = new SqlLikeOrigin<number>();
  const dir = await tempDir();
  const clock = new VirtualClock(1_000_000);
  const wb = new WriteBack<number>({ origin, dir, clock, groupCommitMs: 0 });
  await wb.start();
  const rejected: Array<{ key: string; code: unknown }> = [];
  wb.on('write:rejected', (e) => rejected.push({ key: e.key, code: (e.error as { code?: unknown }).code }));
  const long = 'k'.repeat(4000);
  await wb.put('a', 1);
  await wb.put(long, 2);
  await wb.put('b', 3);
  await wb.flush();
  assert.deepEqual([...origin.records.keys()].sort(), ['a', 'b']);
  assert.deepEqual(rejected, [{ key: long, code: 'ERR_INVALID_VALUE' }]);
  assert.equal(wb.stats().pending, 0);
  assert.equal(wb.stats().failures, 0);
  await wb.put('later', 4);
  await wb.flush();
  assert.equal(origin.records.get('later')?.value, 4);
  await wb.close();
  const next = new WriteBack<number>({ origin, dir, clock, groupCommitMs: 0 });
  assert.equal(await next.start(), 0, 'the refused record is not replayed after a restart');
  await next.close();
});

test('a batch the origin refuses as a whole (over its size limit) is split until the parts go through, nothing refused', async () => {
  const origin = new SqlLikeOrigin<string>(400); // about two records of 100-character values per statement
  const wb = new WriteBack<string>({ origin, dir: await tempDir(), clock: new VirtualClock(1_000_000), groupCommitMs: 0 });
  await wb.start();
  for (let i = 0; i < 6; i++) await wb.put(`k${i}`, 'x'.repeat(100));
  await wb.flush();
  assert.equal(origin.records.size, 6);
  assert.equal(wb.stats().rejected, 0);
  assert.equal(wb.stats().flushed, 6);
  assert.equal(origin.statements[0], 6, 'the whole batch was tried first');
  await wb.close();
});

test('a serialization failure or a lost connection keeps the batch whole for retry; nothing is set aside', async () => {
  const origin = new SqlLikeOrigin<number>();
  origin.failNext.push('40001', '08006');
  const wb = new WriteBack<number>({ origin, dir: await tempDir(), clock: new VirtualClock(1_000_000), groupCommitMs: 0 });
  await wb.start();
  await wb.put('a', 1);
  await wb.put('b', 2);
  for (let i = 0; i < 2; i++) await assert.rejects(wb.flush(), (e) => isPrescientError(e, 'ERR_WRITE_FAILED'));
  assert.deepEqual(origin.statements, [2, 2], 'sent whole each time, never split');
  assert.equal(wb.stats().pending, 2);
  await wb.flush();
  assert.deepEqual([...origin.records.keys()].sort(), ['a', 'b']);
  assert.equal(wb.stats().rejected, 0);
  await wb.close();
});
