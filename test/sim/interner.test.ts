import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { isPrescientError } from '../../src/errors.ts';
import { Interner } from '../../src/sim/interner.ts';
import { openTrace } from '../../src/sim/trace-reader.ts';
import { loadWorkload } from '../../src/sim/workload.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const scratch = mkdtempSync(join(tmpdir(), 'prescient-interner-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

describe('Interner', () => {
  test('a trace with a new key in every read chunk does not stay in memory through its keys', async () => {
    // 24 chunks of 1 MiB: 200-character lines repeating one key, and one new 40-character key per chunk. Kept as
    // slices of their chunks, the 24 new keys would hold all 24 MiB; owned copies hold a few hundred bytes.
    const chunks = 24;
    const repeated = `common-${'c'.repeat(192)}`;
    const linesPerChunk = Math.ceil(2 ** 20 / (repeated.length + 1));
    const path = join(scratch, 'new-key-per-chunk.txt');
    const fd = openSync(path, 'w');
    for (let c = 0; c < chunks; c++) writeSync(fd, `unique-${String(c).padStart(4, '0')}-${'u'.repeat(28)}\n${`${repeated}\n`.repeat(linesPerChunk)}`);
    closeSync(fd);
    gc();
    gc();
    const before = process.memoryUsage().heapUsed;
    const workload = await loadWorkload(await openTrace(path, { format: 'keys' }));
    gc();
    const heldBytes = process.memoryUsage().heapUsed - before;
    assert.equal(workload.keys.length, chunks + 1);
    assert.ok(heldBytes < 6 * 2 ** 20, `the workload holds ${(heldBytes / 2 ** 20).toFixed(1)} MiB of heap`);
  });

  test('past its limit of distinct strings it fails with ERR_TRACE_READ stating the limit', () => {
    const interner = new Interner('keys in t.txt', 3);
    for (const name of ['a', 'b', 'c', 'a']) interner.id(name);
    assert.deepEqual(interner.names, ['a', 'b', 'c']);
    assert.throws(() => interner.id('d'), (e) => isPrescientError(e, 'ERR_TRACE_READ') && /more than 3 distinct keys in t\.txt/.test(e.message));
  });
});
