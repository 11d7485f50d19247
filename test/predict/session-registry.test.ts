import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SessionRegistry } from '../../src/predict/session-registry.ts';

type State = { lastAt: number; n: number };

describe('SessionRegistry', () => {
  it('forgets the session it last found once the cap drops it', () => {
    const r = new SessionRegistry<State>(2, Infinity, () => ({ lastAt: 0, n: 0 }));
    r.touch('a', 0).n = 1;
    assert.equal(r.peek('a')?.n, 1);
    r.touch('b', 1);
    r.touch('c', 2);
    assert.equal(r.peek('a'), undefined);
    assert.equal(r.touch('a', 3).n, 0);
    assert.equal(r.size, 2);
  });

  it('restarts the session it last touched after an idle gap', () => {
    const r = new SessionRegistry<State>(10, 100, () => ({ lastAt: 0, n: 0 }));
    r.touch('a', 0).n = 5;
    assert.equal(r.touch('a', 50).n, 5);
    assert.equal(r.peek('a')?.n, 5);
    assert.equal(r.touch('a', 200).n, 0);
  });

  it('drops the session it last peeked when it idles out behind a newer one', () => {
    const r = new SessionRegistry<State>(10, 100, () => ({ lastAt: 0, n: 0 }));
    r.touch('old', 0).n = 7;
    r.touch('new', 10);
    assert.equal(r.peek('old')?.n, 7);
    r.touch('new', 500);
    assert.equal(r.peek('old'), undefined);
    assert.equal(r.size, 1);
  });
  it('a time that is not a number neither restarts nor expires anyone', () => {
    const r = new SessionRegistry<State>(10, 100, () => ({ lastAt: 0, n: 0 }));
    for (const id of ['a', 'b', 'c']) r.touch(id, 1000).n = 1;
    r.touch('d', Number.NaN);
    assert.equal(r.size, 4, 'NaN read as "idle for ever" used to drop the two oldest');
    r.touch('a', 1001);
    assert.equal(r.size, 4);
    assert.equal(r.peek('a')?.n, 1, 'a kept its state');
  });
});
