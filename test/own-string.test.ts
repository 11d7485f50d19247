import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { ownString } from '../src/own-string.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Heap bytes still used, after a full collection, while `kept` is alive. */
function heldBy(make: (parent: string) => string): number {
  gc();
  const before = process.memoryUsage().heapUsed;
  const kept: string[] = [];
  // 200 request "URLs" of 100 KB each; from each, a 40-character id is cut out as a slice.
  for (let i = 0; i < 200; i++) kept.push(make(`/v1/items/k?session=${'s'.repeat(40)}${i}&pad=${'x'.repeat(100_000)}`));
  gc();
  const held = process.memoryUsage().heapUsed - before;
  assert.equal(kept.length, 200);
  assert.ok(kept.every((id) => id.startsWith('session=sss')));
  return held;
}

test('ownString keeps the text of a slice, not the string it was cut from', () => {
  const slices = heldBy((url) => url.slice(12, 52));
  const owned = heldBy((url) => ownString(url.slice(12, 52)));
  assert.ok(slices > 15_000_000, `plain slices keep their 100 KB parents (${slices} bytes)`);
  assert.ok(owned < 2_000_000, `owned copies keep only themselves (${owned} bytes)`);
  assert.equal(ownString('short'), 'short');
  const long = 'a'.repeat(20);
  assert.equal(ownString(long), long);
});
