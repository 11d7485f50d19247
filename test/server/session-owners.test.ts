import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PrescientError } from '../../src/errors.ts';
import { SessionOwners } from '../../src/server/session-owners.ts';

describe('SessionOwners', () => {
  test('the first user owns a session; another user is refused; a session seen without a user is claimed later', () => {
    const owners = new SessionOwners(10);
    assert.deepEqual(owners.context('s1', 'alice', undefined), { session: 's1#1', user: 'alice' });
    assert.deepEqual(owners.context('s1', undefined, undefined), { session: 's1#1', user: 'alice' }, 'no user: acts as the owner');
    assert.throws(() => owners.context('s1', 'bob', undefined), (e: unknown) => e instanceof PrescientError && e.code === 'ERR_FORBIDDEN');
    assert.deepEqual(owners.context('s2', undefined, 'eu'), { session: 's2#2', segment: 'eu' });
    assert.deepEqual(owners.context('s2', 'bob', 'eu'), { session: 's2#2', user: 'bob', segment: 'eu' }, 'claimed later: same incarnation');
    assert.throws(() => owners.context('s2', 'carol', undefined), (e: unknown) => e instanceof PrescientError && e.code === 'ERR_FORBIDDEN');
  });

  test('requests of a session share one context object until owner or segment changes', () => {
    const owners = new SessionOwners(10);
    const first = owners.context('s', undefined, undefined);
    assert.equal(owners.context('s', undefined, undefined), first);
    const claimed = owners.context('s', 'alice', undefined);
    assert.notEqual(claimed, first, 'a new owner: a new context');
    assert.equal(owners.context('s', 'alice', undefined), claimed);
    const segmented = owners.context('s', 'alice', 'eu');
    assert.deepEqual(segmented, { session: 's#1', user: 'alice', segment: 'eu' });
    assert.equal(owners.context('s', undefined, 'eu'), segmented);
  });

  test('bounded: past maxSessions the least recently moved go, never one used within the last maxSessions / 2 claims', () => {
    const max = 100;
    const owners = new SessionOwners(max);
    owners.context('kept', 'alice', undefined);
    owners.context('gone', 'carol', undefined);
    for (let i = 0; i < 1000; i++) {
      owners.context(`s${i}`, undefined, undefined);
      // `kept` is used every max / 2 claims, so it must never be forgotten (forgotten, it would lose its owner).
      if (i % (max / 2 - 1) === 0) assert.equal(owners.context('kept', undefined, undefined).user, 'alice', `claim ${i}`);
      assert.ok(owners.size <= max);
    }
    assert.equal(owners.size, max);
    // A session left alone is forgotten, its owner with it: another user may claim it now, as a new incarnation the
    // models hold no history for.
    const reclaimed = owners.context('gone', 'bob', undefined);
    assert.equal(reclaimed.user, 'bob');
    assert.notEqual(reclaimed.session, 'gone#2');
    assert.match(reclaimed.session ?? '', /^gone#[0-9a-z]+$/);
  });
});
