import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalInteger, KeyInterner } from '../../src/predict/key-interner.ts';

describe('KeyInterner', () => {
  it('gives dense ids in first-seen order and the same id for the same key', () => {
    const k = new KeyInterner();
    assert.equal(k.id('a'), 0);
    assert.equal(k.id('42'), 1);
    assert.equal(k.id('a'), 0);
    assert.equal(k.id('42'), 1);
    assert.equal(k.key(1), '42');
    assert.equal(k.size, 2);
  });

  it('finds a canonical integer key by its value, and keeps non-canonical spellings apart', () => {
    const k = new KeyInterner();
    const id = k.id('1007');
    const padded = k.id('01007');
    assert.notEqual(id, padded);
    assert.equal(k.peekNumber(1007), id);
    assert.equal(k.peek('01007'), padded);
    assert.equal(k.peekNumber(1008), -1);
    assert.equal(k.peek('never'), -1);
  });

  it('finds a value by number once it is interned, after a lookup that missed it, and tells apart values sharing a memo entry', () => {
    const k = new KeyInterner();
    assert.equal(k.peekNumber(5000), -1);
    assert.equal(k.peekNumber(5000 + 1024), -1);
    const id = k.id('5000');
    assert.equal(k.peekNumber(5000), id);
    assert.equal(k.peekNumber(5000 + 1024), -1);
    const other = k.id(String(5000 + 1024));
    assert.equal(k.peekNumber(5000 + 1024), other);
    assert.equal(k.peekNumber(5000), id);
    assert.equal(k.peek('5000'), id);
    assert.equal(k.peekNumber(2 ** 40 + 5000), -1);
    assert.equal(k.peekNumber(-5000), -1);
    const negative = k.id('-5000');
    assert.equal(k.peekNumber(-5000), negative);
    assert.equal(k.id('-5000'), negative);
  });

  it('parses only what String(n) would print', () => {
    assert.equal(canonicalInteger('0'), 0);
    assert.equal(canonicalInteger('-12'), -12);
    assert.equal(canonicalInteger('9007199254740991'), Number.MAX_SAFE_INTEGER);
    for (const bad of ['', '-', '-0', '007', '1e3', '12a', '9007199254740992', ' 1']) assert.ok(Number.isNaN(canonicalInteger(bad)), bad);
  });
  it('holds at most maxKeys keys: a new key takes the id of a least recently used one, string or numeric', () => {
    const k = new KeyInterner({ maxKeys: 8 });
    const hot = k.id('hot');
    for (let i = 0; i < 1000; i++) {
      const key = i % 2 === 0 ? `name${i}` : String(i);
      const id = k.id(key);
      assert.ok(id >= 0 && id < 8, `id ${id} within maxKeys`);
      assert.equal(k.key(id), key);
      assert.equal(k.peek(key), id);
      if (i % 3 === 0) assert.equal(k.id('hot'), hot, 'a key read all along keeps its id');
    }
    assert.equal(k.size, 8);
    assert.ok(k.reused >= 990, `reused ${k.reused}`);
    assert.equal(k.peek('name0'), -1, 'an evicted key is forgotten');
    assert.equal(k.peekNumber(1), -1, 'an evicted numeric key is forgotten, memo included');
    assert.equal(k.id('name0'), k.peek('name0'), 'and interned again on its next read');
    assert.throws(() => new KeyInterner({ maxKeys: 0 }), (e: { code?: string }) => e.code === 'ERR_INVALID_OPTION');
  });

  it('tells by reusedAt which ids went to another key after a given reused count', () => {
    const k = new KeyInterner({ maxKeys: 2 });
    const a = k.id('a');
    const b = k.id('b');
    assert.equal(k.reusedAt(a), 0);
    const since = k.reused;
    k.id('a');
    const c = k.id('c');
    assert.equal(c, b, 'c took the id of b, read least recently');
    assert.equal(k.reused, since + 1);
    assert.ok(k.reusedAt(c) > since, 'an id in a list made before names another key now');
    assert.ok(k.reusedAt(a) <= since, 'an id never given away still names its key');
  });
});
