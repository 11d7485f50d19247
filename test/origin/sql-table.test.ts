import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isPrescientError } from '../../src/errors.ts';
import { checkJsonbValue, SqlTable } from '../../src/origin/sql-table.ts';

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
