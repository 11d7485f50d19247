import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { VirtualClock } from '../../src/clock.ts';
import { isPrescientError } from '../../src/errors.ts';
import { Hlc, HLC_LOGICAL_SPAN, HLC_NODE_SPAN, hlcLogical, hlcPhysicalMs } from '../../src/sync/hlc.ts';

describe('Hlc', () => {
  test('packs physical milliseconds and a logical counter into one number', () => {
    const clock = new VirtualClock(1_700_000_000_000);
    const hlc = new Hlc({ clock });
    const v = hlc.now();
    assert.equal(v, 1_700_000_000_000 * HLC_LOGICAL_SPAN);
    assert.equal(hlcPhysicalMs(v), 1_700_000_000_000);
    assert.equal(hlcLogical(hlc.now()), 1);
  });

  test('is strictly increasing within one millisecond, carrying into the next past 1024 versions', () => {
    const clock = new VirtualClock(1_000);
    const hlc = new Hlc({ clock });
    let last = -1;
    for (let i = 0; i < 5_000; i++) {
      const v = hlc.now();
      assert.ok(v > last);
      last = v;
    }
    assert.equal(hlcPhysicalMs(last), 1_000 + Math.floor(4_999 / HLC_LOGICAL_SPAN));
  });

  test('follows the wall clock forward and never goes back when it steps back', () => {
    let wall = 10_000;
    const hlc = new Hlc({ clock: { now: () => wall, setTimer: () => ({ id: 0 }), clearTimer: () => undefined } });
    const a = hlc.now();
    wall = 10_005;
    const b = hlc.now();
    assert.equal(b, 10_005 * HLC_LOGICAL_SPAN);
    wall = 9_000;
    const c = hlc.now();
    assert.ok(c > b && a < b);
    assert.equal(hlcPhysicalMs(c), 10_005);
  });

  test('observe makes every later version greater than the observed one', () => {
    const clock = new VirtualClock(50_000);
    const hlc = new Hlc({ clock });
    const remote = 50_020 * HLC_LOGICAL_SPAN + 7;
    assert.equal(hlc.observe(remote), remote);
    assert.equal(hlc.now(), remote + 1);
    assert.equal(hlc.observe(5), remote + 1, 'an older version changes nothing');
  });

  test('refuses a remote version further ahead than maxDriftMs and stays unchanged', () => {
    const clock = new VirtualClock(50_000);
    const hlc = new Hlc({ clock, maxDriftMs: 1_000 });
    const before = hlc.now();
    assert.throws(() => hlc.observe((50_000 + 1_001) * HLC_LOGICAL_SPAN), (e) => isPrescientError(e, 'ERR_CLOCK_DRIFT'));
    assert.equal(hlc.last, before);
    assert.throws(() => hlc.observe(-1), (e) => isPrescientError(e, 'ERR_INVALID_VALUE'));
    assert.throws(() => hlc.observe(1.5), (e) => isPrescientError(e, 'ERR_INVALID_VALUE'));
  });

  test('starts after initialVersion', () => {
    const hlc = new Hlc({ clock: new VirtualClock(1), initialVersion: 5_000 });
    assert.equal(hlc.now(), 5_001);
  });

  test('versions stay exact JS integers for centuries', () => {
    const year2200Ms = Date.UTC(2200, 0, 1);
    const hlc = new Hlc({ clock: new VirtualClock(year2200Ms) });
    assert.ok(Number.isSafeInteger(hlc.now() + HLC_LOGICAL_SPAN));
  });

  test('rejects bad options with ERR_INVALID_OPTION', () => {
    assert.throws(() => new Hlc({ maxDriftMs: -1 }), (e) => isPrescientError(e, 'ERR_INVALID_OPTION'));
    assert.throws(() => new Hlc({ clock: {} as never }), (e) => isPrescientError(e, 'ERR_INVALID_OPTION'));
  });

  test('nodeId: two nodes on one millisecond never draw the same version, even as each observes the other', () => {
    const clock = new VirtualClock(1_000);
    const a = new Hlc({ clock, nodeId: 3 });
    const b = new Hlc({ clock, nodeId: 12 });
    assert.equal(a.now(), 1_000 * HLC_LOGICAL_SPAN + 3, 'the first version of a millisecond ends in the id');
    const seen = new Set<number>();
    let lastA = 0;
    let lastB = 0;
    for (let i = 0; i < 500; i++) {
      const va = a.now();
      const vb = b.now();
      assert.ok(va > lastA && vb > lastB, 'each strictly increasing');
      assert.equal(va % HLC_NODE_SPAN, 3);
      assert.equal(vb % HLC_NODE_SPAN, 12);
      assert.ok(!seen.has(va) && !seen.has(vb) && va !== vb);
      seen.add(va).add(vb);
      lastA = va;
      lastB = vb;
      if (i % 3 === 0) a.observe(vb); // a write seen from the other node
      if (i % 5 === 0) b.observe(va);
      if (i % 7 === 0) clock.advance(1);
    }
    const without = [new Hlc({ clock }), new Hlc({ clock })];
    assert.equal(without[0].now(), without[1].now(), 'without ids the same millisecond gives the same version');
  });

  test('nodeId: 64 versions a millisecond before the counter carries; out-of-range ids are refused', () => {
    const clock = new VirtualClock(1_000);
    const hlc = new Hlc({ clock, nodeId: 0 });
    let v = 0;
    for (let i = 0; i < HLC_LOGICAL_SPAN / HLC_NODE_SPAN; i++) v = hlc.now();
    assert.equal(hlcPhysicalMs(v), 1_000);
    assert.equal(hlcPhysicalMs(hlc.now()), 1_001);
    for (const nodeId of [-1, 16, 1.5, '2']) {
      assert.throws(() => new Hlc({ nodeId: nodeId as number }), (e) => isPrescientError(e, 'ERR_INVALID_OPTION'), String(nodeId));
    }
  });
});
