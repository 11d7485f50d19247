import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { GhostList } from '../../src/cache/ghost-list.ts';

describe('GhostList', () => {
  test('remembers the last `capacity` keys added and forgets the older ones', () => {
    const ghosts = new GhostList(3);
    for (const key of ['a', 'b', 'c', 'd']) ghosts.add(key);
    assert.equal(ghosts.size, 3);
    assert.equal(ghosts.take('a'), false);
    for (const key of ['b', 'c', 'd']) assert.equal(ghosts.take(key), true, key);
    assert.equal(ghosts.size, 0);
  });

  test('a key taken and added again is remembered for `capacity` more additions, not forgotten with its old place', () => {
    const ghosts = new GhostList(3);
    ghosts.add('a');
    assert.equal(ghosts.take('a'), true);
    ghosts.add('a');
    ghosts.add('b');
    ghosts.add('c'); // overwrites the ring place 'a' had first
    assert.equal(ghosts.size, 3);
    assert.equal(ghosts.take('a'), true);
    ghosts.add('d');
    ghosts.add('e'); // the places of 'a' and 'b'
    assert.equal(ghosts.take('b'), false, 'b was the oldest');
    assert.deepEqual(['c', 'd', 'e'].map((key) => ghosts.take(key)), [true, true, true]);
  });
});
