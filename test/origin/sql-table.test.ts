import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isPrescientError, PrescientError } from '../../src/errors.ts';
import { checkJsonbValue, SqlTable, sqlWriteError, writeRecords } from '../../src/origin/sql-table.ts';

const refused = (key: string) => (e: unknown) => isPrescientError(e, 'ERR_INVALID_VALUE') && (e as Error).message.includes(JSON.stringify(key));

describe('checkJsonbValue', () => {
  test('accepts JSON values, surrogate pairs included', () => {
    for (const value of [null, 0, -1.5, true, 'plain', 'emoji \ud83d\ude00', [1, 'x', null], { a: { b: ['c'] } }, new Date(0)]) {
      assert.doesNotThrow(() => checkJsonbValue('k', value));
    }
  });

  test('refuses NUL characters and lone surrogates in strings, nested strings and object keys, naming the key', () => {
    for (const value of ['a\u0000', '\ud800', 'x\udc00', ['ok', '\ud83d'], { nested: { s: 'tail\ud800' } }, { ['bad\u0000key']: 1 }]) {
      assert.throws(() => checkJsonbValue('item:1', value), refused('item:1'));
    }
  });

  test('refuses values JSON cannot carry, and a key jsonb cannot hold', () => {
    for (const value of [undefined, () => 1, Symbol('s'), 10n, { n: 10n }, Number.NaN, [Infinity]]) {
      assert.throws(() => checkJsonbValue('k', value), refused('k'));
    }
    assert.throws(() => checkJsonbValue('k\u0000', 1), (e) => isPrescientError(e, 'ERR_INVALID_VALUE'));
  });
});

describe('SqlTable.putMany', () => {
  test('checks every record before running a statement, so one bad value writes nothing', async () => {
    const statements: unknown[][] = [];
    const run = async (_text: string, params: readonly unknown[]) => {
      statements.push([...params]);
      return [];
    };
    const table = new SqlTable();
    await assert.rejects(
      table.putMany<unknown>(run, [{ key: 'good', value: 1, version: 1 }, { key: 'bad', value: 'x\u0000', version: 1 }]),
      refused('bad'),
    );
    assert.equal(statements.length, 0);
    await table.putMany<unknown>(run, [{ key: 'gone', value: undefined, version: 2, deleted: true }, { key: 'old', value: '\ud800', version: 1 }, { key: 'old', value: 'new', version: 2 }]);
    assert.equal(statements.length, 1, 'a tombstone and a superseded bad record are not refused');
  });
});

/** A driver error as postgres.js and PGlite raise it: the SQLSTATE in `code`. */
const pgError = (code: string, message = `SQLSTATE ${code}`) => Object.assign(new Error(message), { code });

describe('sqlWriteError', () => {
  test('a write the batch\'s contents make fail on every retry is a refusal (ERR_INVALID_VALUE, cause kept)', () => {
    // 54000: a key over the btree row limit, or a batch over jsonb's size limit; 22P05: text jsonb cannot hold;
    // 22001: a key too long for a varchar column; 22P02: malformed input.
    for (const code of ['54000', '54001', '22P05', '22001', '22P02']) {
      const cause = pgError(code);
      const error = sqlWriteError('pg', 2, cause);
      assert.equal(error.code, 'ERR_INVALID_VALUE', code);
      assert.equal(error.cause, cause);
    }
  });

  test('connection loss, timeouts, serialization failures and schema faults stay retryable (ERR_WRITE_FAILED)', () => {
    const timeout = new PrescientError('ERR_ORIGIN_TIMEOUT', 'deadline');
    const cases = [pgError('40001'), pgError('40P01'), pgError('08006'), pgError('57014'), pgError('57P01'), pgError('53100'), pgError('42P01'),
      pgError('22003'), Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }), new Error('plain'), timeout];
    for (const cause of cases) assert.equal(sqlWriteError('pg', 1, cause).code, 'ERR_WRITE_FAILED', String((cause as { code?: unknown }).code));
  });

  test('writeRecords codes a refusal of the database as ERR_INVALID_VALUE', async () => {
    const run = async () => {
      throw pgError('54000', 'index row size 4016 exceeds btree version 4 maximum 2704');
    };
    await assert.rejects(writeRecords(new SqlTable(), 'pg', run, [{ key: 'k', value: 1, version: 1 }]), (e) => isPrescientError(e, 'ERR_INVALID_VALUE'));
  });
});
