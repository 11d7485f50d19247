import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { openTrace } from '../../src/sim/trace-reader.ts';
import { loadWorkload, type Workload } from '../../src/sim/workload.ts';

const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));

/** The keys of the workload in arrival order. */
const keysInOrder = (w: Workload): string[] => Array.from(w.keyIds, (id) => w.keys[id]);

describe('loadWorkload', () => {
  test('interleaves sessions round-robin, a new session taking the slot of one that ended', async () => {
    // Sessions a(3), b(1), c(2), d(1); two active at once. b ends after one request and c takes its slot in the
    // next round; a ends and d takes its slot; c ends with nobody left to replace it.
    const source = await openTrace(fixture('interleave-sessions.txt'), { format: 'sessions' });
    const w = await loadWorkload(source, { sessions: 2, interarrivalMs: 10 });
    assert.equal(w.timingKind, 'interleaved');
    assert.deepEqual(keysInOrder(w), ['a1', 'b1', 'a2', 'c1', 'a3', 'c2', 'd1']);
    assert.deepEqual(Array.from(w.arrivalMs), [0, 10, 20, 30, 40, 50, 60]);
    assert.equal(w.requests, 7);
    // Every request keeps its own session: a's requests share one id, distinct from the others'.
    const sessionOf = (key: string): string => w.sessions[w.sessionIds[keysInOrder(w).indexOf(key)]];
    assert.equal(sessionOf('a1'), sessionOf('a3'));
    assert.equal(sessionOf('c1'), sessionOf('c2'));
    assert.notEqual(sessionOf('a1'), sessionOf('c1'));
    assert.match(w.timing, /2 sessions interleaved/);
  });

  test('with one active session the stream is file order, each session played to its end', async () => {
    const source = await openTrace(fixture('interleave-sessions.txt'), { format: 'sessions' });
    const w = await loadWorkload(source, { sessions: 1 });
    assert.deepEqual(keysInOrder(w), ['a1', 'a2', 'a3', 'b1', 'c1', 'c2', 'd1']);
  });

  test('with more active sessions than the trace has, every session starts in the first round', async () => {
    const source = await openTrace(fixture('interleave-sessions.txt'), { format: 'sessions' });
    const w = await loadWorkload(source, { sessions: 10 });
    assert.deepEqual(keysInOrder(w), ['a1', 'b1', 'c1', 'd1', 'a2', 'c2', 'a3']);
  });

  test('timestamps give arrival = (t - t0) / speed, sorted by time with ties in file order', async () => {
    const source = await openTrace(fixture('timed-keys.csv'), { format: 'delimited', header: true, key: 'key', time: 'time', timeUnit: 'ms' });
    const w = await loadWorkload(source, { speed: 2 });
    assert.equal(w.timingKind, 'timestamps');
    // File: x@1000 y@3000 z@2000 w@2000 v@1000 (ms past 1700000000000).
    assert.deepEqual(keysInOrder(w), ['x', 'v', 'z', 'w', 'y']);
    assert.deepEqual(Array.from(w.arrivalMs), [0, 0, 500, 500, 1000]);
    assert.match(w.timing, /2x speed/);
  });

  test('timestamps at speed 1 keep the trace spacing', async () => {
    const source = await openTrace(fixture('timed-keys.csv'), { format: 'delimited', header: true, key: 'key', time: 'time', timeUnit: 'ms' });
    const w = await loadWorkload(source);
    assert.deepEqual(Array.from(w.arrivalMs), [0, 0, 1000, 1000, 2000]);
  });

  test('ignoreTime falls back to file order with the fixed inter-arrival when there are no sessions', async () => {
    const source = await openTrace(fixture('timed-keys.csv'), { format: 'delimited', header: true, key: 'key', time: 'time', timeUnit: 'ms' });
    const w = await loadWorkload(source, { ignoreTime: true, interarrivalMs: 5 });
    assert.equal(w.timingKind, 'sequential');
    assert.deepEqual(keysInOrder(w), ['x', 'y', 'z', 'w', 'v']);
    assert.deepEqual(Array.from(w.arrivalMs), [0, 5, 10, 15, 20]);
  });

  test('a keys-only trace is replayed in file order, one request every interarrivalMs', async () => {
    const source = await openTrace(fixture('plain-keys.txt'), { format: 'keys' });
    const w = await loadWorkload(source, { interarrivalMs: 7 });
    assert.equal(w.timingKind, 'sequential');
    assert.deepEqual(keysInOrder(w), ['p', 'q', 'p', 'r']);
    assert.deepEqual(Array.from(w.arrivalMs), [0, 7, 14, 21]);
    assert.deepEqual(w.keys, ['p', 'q', 'r'], 'keys are interned once each, in order of first appearance');
    assert.deepEqual(Array.from(w.sessionIds), [-1, -1, -1, -1]);
    assert.match(w.timing, /file order/);
  });

  test('the default inter-arrival is 25 ms', async () => {
    const source = await openTrace(fixture('plain-keys.txt'), { format: 'keys' });
    const w = await loadWorkload(source);
    assert.deepEqual(Array.from(w.arrivalMs), [0, 25, 50, 75]);
  });

  test('a trace whose every line is malformed throws ERR_TRACE_EMPTY', async () => {
    const source = await openTrace(fixture('blank-keys.txt'), { format: 'keys' });
    await assert.rejects(loadWorkload(source), { code: 'ERR_TRACE_EMPTY' });
  });

  test('a delimited trace whose every time is unreadable throws ERR_TRACE_EMPTY', async () => {
    const source = await openTrace(fixture('bad-times.csv'), { format: 'delimited', header: true, key: 'key', time: 'time' });
    await assert.rejects(loadWorkload(source), { code: 'ERR_TRACE_EMPTY' });
  });

  test('rejects a zero speed and a non-integer session count with ERR_INVALID_OPTION', async () => {
    const source = await openTrace(fixture('plain-keys.txt'), { format: 'keys' });
    await assert.rejects(loadWorkload(source, { speed: 0 }), { code: 'ERR_INVALID_OPTION' });
    await assert.rejects(loadWorkload(source, { sessions: 1.5 }), { code: 'ERR_INVALID_OPTION' });
  });
});
