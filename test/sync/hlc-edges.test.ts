/**
 * Hlc at its edges: a clock that reads no time, versions past 2^53, and versions of the node's own history that are
 * ahead of a wall clock stepped back.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type Clock, VirtualClock } from '../../src/clock.ts';
import { isPrescientError } from '../../src/errors.ts';
import { Hlc, HLC_LOGICAL_SPAN, hlcPhysicalMs } from '../../src/sync/hlc.ts';

const isDrift = (e: unknown) => isPrescientError(e, 'ERR_CLOCK_DRIFT');

/** A clock reading whatever `now` says (VirtualClock refuses a time that is not finite). */
function readingClock(now: () => number): Clock {
  return { now, setTimer: () => ({ id: 0 }), clearTimer: () => undefined };
}

describe('Hlc edges', () => {
  test('now() refuses a clock that reads NaN or Infinity instead of handing out a version that is not a number', () => {
    for (const reading of [NaN, Infinity, -Infinity]) {
      const hlc = new Hlc({ clock: readingClock(() => reading) });
      assert.throws(() => hlc.now(), isDrift, `clock reading ${reading}`);
      assert.equal(hlc.last, 0, 'the clock is left unchanged');
      assert.throws(() => hlc.observe(5), isDrift, 'observe cannot judge drift without a time either');
    }
  });

  test('now() refuses a version past 2^53 (a clock in the wrong unit) rather than repeat one', () => {
    const clock = new VirtualClock(1e13); // microseconds read as milliseconds: 1e13 * 1024 > 2^53
    const hlc = new Hlc({ clock });
    assert.throws(() => hlc.now(), isDrift);
    assert.throws(() => hlc.now(), isDrift);
    assert.equal(hlc.last, 0);
  });

  test('now() refuses once no version above the last is a safe integer, and never repeats one', () => {
    const hlc = new Hlc({ clock: new VirtualClock(1_000), initialVersion: Number.MAX_SAFE_INTEGER - 1 });
    assert.equal(hlc.now(), Number.MAX_SAFE_INTEGER);
    assert.throws(() => hlc.now(), isDrift);
    assert.equal(hlc.last, Number.MAX_SAFE_INTEGER);
  });

  test('observeTrusted adopts the node\'s own version however far ahead, and now() carries on strictly above it', () => {
    const clock = new VirtualClock(1_700_000_000_000);
    const hlc = new Hlc({ clock, maxDriftMs: 60_000 });
    const own = (1_700_000_000_000 + 120_000) * HLC_LOGICAL_SPAN + 5; // written before the wall clock stepped back 2 min
    assert.throws(() => hlc.observe(own), isDrift, 'from a peer it is still refused');
    assert.equal(hlc.observeTrusted(own), own);
    let last = own;
    for (let i = 0; i < 3_000; i++) {
      const v = hlc.now();
      assert.ok(v > last, `${v} > ${last}`);
      last = v;
    }
    assert.equal(hlcPhysicalMs(last), 1_700_000_000_000 + 120_000 + Math.floor((5 + 3_000) / HLC_LOGICAL_SPAN));
    clock.advance(200_000); // the wall clock passes the history: versions follow it again
    assert.equal(hlc.now(), (1_700_000_000_000 + 200_000) * HLC_LOGICAL_SPAN);
  });

  test('observeTrusted adopts the own history only up to maxTrustedAheadMs ahead: past it the history is suspect, not the clock', () => {
    const T0 = 1_700_000_000_000;
    const clock = new VirtualClock(T0);
    const hlc = new Hlc({ clock });
    const dayAhead = (T0 + 86_400_000) * HLC_LOGICAL_SPAN;
    assert.equal(hlc.observeTrusted(dayAhead), dayAhead, 'a day ahead: a clock stepped back, absorbed');
    const year2200 = Date.UTC(2200, 0, 1) * HLC_LOGICAL_SPAN;
    assert.throws(() => hlc.observeTrusted(year2200), (e) => isDrift(e) && /maxTrustedAheadMs/.test((e as Error).message));
    assert.equal(hlc.last, dayAhead, 'the clock is left unchanged');
    assert.ok(hlc.trustedAheadMs() === 86_400_000);
    assert.equal(new Hlc({ clock, maxTrustedAheadMs: 200 * 365 * 86_400_000 }).observeTrusted(year2200), year2200, 'accepted when told to');
  });

  test('observeTrusted keeps refusing versions that are not non-negative safe integers', () => {
    const hlc = new Hlc({ clock: new VirtualClock(0) });
    for (const v of [-1, 1.5, NaN, 2 ** 53]) assert.throws(() => hlc.observeTrusted(v), (e) => isPrescientError(e, 'ERR_INVALID_VALUE'), String(v));
  });

  test('carries after a trusted version are still bounded by maxDriftMs, measured from that version', () => {
    const clock = new VirtualClock(10_000);
    const hlc = new Hlc({ clock, maxDriftMs: 1 });
    hlc.observeTrusted(20_000 * HLC_LOGICAL_SPAN);
    for (let i = 0; i < 2 * HLC_LOGICAL_SPAN - 1; i++) hlc.now(); // up to the end of millisecond 20_001
    assert.throws(() => hlc.now(), isDrift, 'a carry into 20_002 is 2 ms past the trusted version');
  });
});
