import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PrescientError } from '../../src/errors.ts';
import { parseRequest, requestSchemas } from '../../src/server/schemas.ts';

const schemas = requestSchemas(32, 10);

/** What the zod schemas answer for a read's params and query: the parsed request, or the error's code and message. */
function viaZod(params: unknown, query: unknown): unknown {
  try {
    const { key } = parseRequest(schemas.keyParams, params, 'params');
    const q = parseRequest(schemas.readQuery, query, 'query');
    return { key, session: q.session, user: q.user, segment: q.segment };
  } catch (error) {
    assert.ok(error instanceof PrescientError);
    return { code: error.code, message: error.message };
  }
}

function viaReadItem(params: unknown, query: unknown): unknown {
  try {
    const r = schemas.readItem(params, query);
    return { key: r.key, session: r.session, user: r.user, segment: r.segment };
  } catch (error) {
    assert.ok(error instanceof PrescientError);
    return { code: error.code, message: error.message };
  }
}

describe('readItem (the hand-written check of GET /v1/items/:key)', () => {
  const keys: unknown[] = ['a', 'user:1/orders', 'k'.repeat(32), 'k'.repeat(33), '', 'bad key', 'é', 'action:buy', 'a\u0000b', 42, undefined];
  const queries: unknown[] = [
    undefined,
    {},
    { session: 's1' },
    { session: 's1', user: 'u-1', segment: 'seg.a' },
    { session: '' },
    { session: 'x'.repeat(129) },
    { session: ['a', 'b'] },
    { user: 'bad user' },
    { extra: '1' },
    { session: 's1', limit: '3' },
    { segment: 'a/b' },
  ];

  test('accepts and refuses exactly what the zod schemas do, with the same code and message', () => {
    let refused = 0;
    for (const key of keys) {
      for (const query of queries) {
        const params = key === undefined ? {} : { key };
        const expected = viaZod(params, query);
        assert.deepEqual(viaReadItem(params, query), expected, `key ${JSON.stringify(key)}, query ${JSON.stringify(query)}`);
        if ((expected as { code?: string }).code !== undefined) refused++;
      }
    }
    // Both kinds of outcome were compared, not only one.
    assert.ok(refused > 0 && refused < keys.length * queries.length);
  });

  test('an unknown params field is refused as zod refuses it', () => {
    const params = { key: 'a', other: 'b' };
    assert.deepEqual(viaReadItem(params, {}), viaZod(params, {}));
    assert.equal((viaReadItem(params, {}) as { code: string }).code, 'ERR_BAD_REQUEST');
  });

  test('key errors carry ERR_INVALID_KEY and query errors ERR_BAD_REQUEST, naming the field', () => {
    assert.deepEqual(viaReadItem({ key: 'bad key' }, {}), { code: 'ERR_INVALID_KEY', message: 'params.key: expected letters, digits and ._:/@+=,;!*~$()- only' });
    assert.deepEqual(viaReadItem({ key: 'a' }, { nope: '1' }), { code: 'ERR_BAD_REQUEST', message: 'query: unknown field "nope"' });
  });
});
