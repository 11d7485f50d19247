import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FrequencySketch, hashKey } from '../../src/cache/frequency-sketch.ts';
import { isPrescientError } from '../../src/errors.ts';
import { seededRandom as random } from '../../src/sim/seeded-random.ts';

describe('FrequencySketch', () => {
  test('estimates increase with increments', () => {
    const sketch = new FrequencySketch({ capacity: 512 });
    const h = hashKey('item:1');
    assert.equal(sketch.frequency(h), 0);
    for (let i = 1; i <= 5; i++) {
      sketch.increment(h);
      assert.equal(sketch.frequency(h), i);
    }
  });

  test('estimates are capped at 15', () => {
    const sketch = new FrequencySketch({ capacity: 512 });
    const h = hashKey('hot');
    for (let i = 0; i < 40; i++) sketch.increment(h);
    assert.equal(sketch.frequency(h), 15);
  });

  test('reset halves every estimate', () => {
    const sketch = new FrequencySketch({ capacity: 512 });
    const a = hashKey('a');
    const b = hashKey('b');
    for (let i = 0; i < 12; i++) sketch.increment(a);
    for (let i = 0; i < 5; i++) sketch.increment(b);
    sketch.reset();
    assert.equal(sketch.frequency(a), 6);
    assert.equal(sketch.frequency(b), 2);
  });

  test('halves by itself after sampleSize additions', () => {
    const sketch = new FrequencySketch({ capacity: 64 });
    assert.equal(sketch.sampleSize, 640);
    const hot = hashKey('hot');
    for (let i = 0; i < 10; i++) sketch.increment(hot);
    let i = 0;
    let previous = sketch.size;
    for (; i < 1000; i++) {
      sketch.increment(hashKey(`cold:${i}`));
      if (sketch.size < previous) break;
      previous = sketch.size;
    }
    assert.equal(previous, 639, 'halved when the 640th addition arrived');
    assert.ok(sketch.size < 640 / 2 + 1, `size ${sketch.size} not halved`);
    assert.ok(sketch.frequency(hot) <= 5, `hot estimate ${sketch.frequency(hot)} not halved`);
  });

  test('keys never counted estimate low in a sketch sized for the traffic', () => {
    const sketch = new FrequencySketch({ capacity: 1024, seed: 7 });
    for (let i = 0; i < 1000; i++) sketch.increment(hashKey(`seen:${i}`));
    let high = 0;
    for (let i = 0; i < 1000; i++) if (sketch.frequency(hashKey(`unseen:${i}`)) > 1) high++;
    assert.ok(high < 20, `${high} of 1000 unseen keys estimated above 1`);
  });

  test('ensureCapacity grows the table and clears the counts', () => {
    const sketch = new FrequencySketch({ capacity: 16 });
    const h = hashKey('x');
    sketch.increment(h);
    sketch.ensureCapacity(8);
    assert.equal(sketch.frequency(h), 1, 'a smaller capacity is a no-op');
    sketch.ensureCapacity(4096);
    assert.equal(sketch.capacity, 4096);
    assert.equal(sketch.sampleSize, 40_960);
    assert.equal(sketch.frequency(h), 0);
  });

  test('increment reports saturation, and the epoch moves whenever counts may have dropped', () => {
    const sketch = new FrequencySketch({ capacity: 512 });
    const h = hashKey('hot');
    let first = -1;
    for (let i = 1; i <= 20 && first < 0; i++) if (sketch.increment(h)) first = i;
    assert.equal(first, 15, 'saturated once every counter reached 15');
    assert.equal(sketch.frequency(h), 15);
    let epoch = sketch.epoch;
    sketch.reset();
    assert.notEqual(sketch.epoch, epoch, 'a halving moves the epoch');
    assert.equal(sketch.increment(h), false, 'halved counters are not saturated');
    epoch = sketch.epoch;
    sketch.clear();
    assert.notEqual(sketch.epoch, epoch, 'clear moves the epoch');
    epoch = sketch.epoch;
    sketch.ensureCapacity(8192);
    assert.notEqual(sketch.epoch, epoch, 'a resize moves the epoch');
  });

  test('skipping the increments of a key saturated in the current epoch leaves every count as it would be', () => {
    const rand = random(3);
    const full = new FrequencySketch({ capacity: 256, seed: 5 });
    const skipping = new FrequencySketch({ capacity: 256, seed: 5 });
    const hashes = Array.from({ length: 2000 }, (_, i) => hashKey(`k${i}`));
    const saturatedIn = new Map<number, number>();
    let skipped = 0;
    for (let i = 0; i < 50_000; i++) {
      // Skewed: a few hot keys saturate, a long tail keeps the halvings coming.
      const h = hashes[Math.floor(hashes.length * rand() ** 4)];
      full.increment(h);
      if (saturatedIn.get(h) === skipping.epoch) skipped++;
      else if (skipping.increment(h)) saturatedIn.set(h, skipping.epoch);
      if (i % 997 === 0) for (const k of hashes) assert.equal(skipping.frequency(k), full.frequency(k));
      assert.equal(skipping.size, full.size);
    }
    assert.ok(skipped > 10_000, `only ${skipped} increments skipped`);
  });

  test('hashKey is a deterministic 32-bit hash', () => {
    assert.equal(hashKey('abc'), hashKey('abc'));
    assert.notEqual(hashKey('abc'), hashKey('abd'));
    assert.equal(hashKey('abc') | 0, hashKey('abc'));
    assert.equal(hashKey(''), 0x811c9dc5 | 0);
  });

  test('a bad capacity or seed throws ERR_INVALID_OPTION naming it', () => {
    for (const [options, option] of [
      [{ capacity: 0 }, 'capacity'],
      [{ capacity: 1.5 }, 'capacity'],
      [{ capacity: 8, seed: 0.5 }, 'seed'],
    ] as const) {
      assert.throws(
        () => new FrequencySketch(options),
        (error: unknown) => isPrescientError(error, 'ERR_INVALID_OPTION') && (error as { option?: string }).option === option,
      );
    }
  });
});
