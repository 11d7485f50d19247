import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PendingReferences } from '../../src/cache/pending-references.ts';

const wait = (user: string, atS = 0) => ({ ctx: { user }, probability: 0.5, source: 'm', atS });

describe('PendingReferences', () => {
  test('hands the waits for a key over once, in arrival order', () => {
    const pending = new PendingReferences();
    pending.add('a', wait('u1'));
    pending.add('a', wait('u2'));
    pending.add('b', wait('u3'));
    assert.deepEqual(pending.take('a', 0).map((w) => w.ctx.user), ['u1', 'u2']);
    assert.deepEqual(pending.take('a', 0), []);
    assert.equal(pending.size, 1);
    pending.forget('b');
    assert.equal(pending.size, 0);
  });

  test('drops waits older than five seconds when they are taken', () => {
    const pending = new PendingReferences();
    pending.add('a', wait('old', 0));
    pending.add('a', wait('new', 4));
    assert.deepEqual(pending.take('a', 6).map((w) => w.ctx.user), ['new']);
  });

  test('is bounded: 64 waiters a key, 4096 keys (the oldest key dropped first)', () => {
    const pending = new PendingReferences();
    for (let i = 0; i < 100; i++) pending.add('a', wait(`u${i}`));
    for (let k = 0; k < 4096; k++) pending.add(`k${k}`, wait('u'));
    assert.equal(pending.size, 4096);
    assert.deepEqual(pending.take('a', 0), [], 'the oldest key went first');
    pending.add('z', wait('u'));
    assert.equal(pending.size, 4096);
    const fresh = new PendingReferences();
    for (let i = 0; i < 100; i++) fresh.add('a', wait(`u${i}`));
    assert.equal(fresh.take('a', 0).length, 64);
  });
});
