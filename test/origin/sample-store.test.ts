/**
 * The sample store: built once from a trace into a data folder, reopened from it, values derived from keys.
 * Uses a small trace fixture and a temp folder of its own; one test builds from the shipped sample.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isPrescientError } from '../../src/errors.ts';
import { openSampleOrigin, readSampleKeys, sampleValue } from '../../src/origin/sample-store.ts';

let dir = '';
let trace = '';

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'prescient-sample-test-'));
  trace = join(dir, 'trace.txt');
  await writeFile(trace, '5\n-7\n5\n\n12\n-7\n99\n');
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('sample store', () => {
  test('sampleValue is a pure function of the key, a few hundred bytes of JSON', () => {
    assert.deepEqual(sampleValue('-268435455'), sampleValue('-268435455'));
    assert.notDeepEqual(sampleValue('1'), sampleValue('2'));
    assert.equal(sampleValue('42').id, 42);
    for (const key of ['1', '-2013265408', '77777']) {
      const bytes = JSON.stringify(sampleValue(key)).length;
      assert.ok(bytes >= 200 && bytes <= 500, `${key}: ${bytes} bytes`);
    }
  });

  test('readSampleKeys answers distinct keys in order of first appearance', async () => {
    assert.deepEqual(await readSampleKeys(trace), ['5', '-7', '12', '99']);
  });

  test('builds once, then reopens the saved folder; a private copy keeps the saved store unchanged', async () => {
    const dataDir = join(dir, 'store');
    const first = await openSampleOrigin({ dataDir, tracePath: trace });
    assert.deepEqual(await first.getMany(['5', '12', 'absent']), [
      { key: '5', value: sampleValue('5'), version: 1 }, { key: '12', value: sampleValue('12'), version: 1 }, undefined,
    ]);
    await first.putMany([{ key: '5', value: sampleValue('6'), version: 2 }]);
    assert.equal((await first.getMany(['5']))[0]?.version, 2);
    await first.close();
    assert.deepEqual((await readdir(dir)).sort(), ['store', 'trace.txt'], 'the build scratch and the private copy are gone');

    await writeFile(trace, '1000\n');
    const second = await openSampleOrigin({ dataDir, tracePath: trace, isolation: 'in-place' });
    assert.deepEqual((await second.getMany(['5', '1000']))[0], { key: '5', value: sampleValue('5'), version: 1 }, 'not rebuilt, copy writes discarded');
    assert.equal((await second.getMany(['1000']))[0], undefined, 'the saved store was not rebuilt from the changed trace');
    await second.putMany([{ key: '99', value: sampleValue('1'), version: 3 }]);
    await second.close();

    const third = await openSampleOrigin({ dataDir, tracePath: trace });
    assert.equal((await third.getMany(['99']))[0]?.version, 3, 'in-place writes persist');
    await third.close();
  });

  test('two private copies open at once without sharing a folder', async () => {
    const dataDir = join(dir, 'shared');
    await writeFile(trace, '1\n2\n');
    const [a, b] = await Promise.all([openSampleOrigin({ dataDir, tracePath: trace }), openSampleOrigin({ dataDir, tracePath: trace })]);
    await a.putMany([{ key: '1', value: sampleValue('9'), version: 5 }]);
    assert.equal((await b.getMany(['1']))[0]?.version, 1);
    await Promise.all([a.close(), b.close()]);
  });

  test('the default store holds one row per distinct key of the shipped sample', async () => {
    const dataDir = join(dir, 'shipped');
    const origin = await openSampleOrigin({ dataDir });
    const { rows } = await origin.db.query<{ n: number }>('select count(*)::int as n from prescient_items');
    assert.equal(rows[0].n, (await readSampleKeys()).length);
    assert.deepEqual((await origin.getMany(['-268435455']))[0]?.value, sampleValue('-268435455'));
    await origin.close();
  });

  test('a missing trace rejects with ERR_ORIGIN_FAILED; a bad option by name', async () => {
    await assert.rejects(openSampleOrigin({ dataDir: join(dir, 'none'), tracePath: join(dir, 'nope.txt') }), (e) => isPrescientError(e, 'ERR_ORIGIN_FAILED'));
    await assert.rejects(openSampleOrigin({ dataDir: join(dir, 'x'), isolation: 'shared' as never }), (e) => isPrescientError(e, 'ERR_INVALID_OPTION'));
  });

  test('a data folder under /proc rejects with ERR_ORIGIN_FAILED instead of hanging in mkdir', { skip: process.platform !== 'linux', timeout: 20_000 }, async () => {
    // Node's recursive mkdir spins for ever where the kernel answers ENOENT to every mkdir (/proc).
    await assert.rejects(openSampleOrigin({ dataDir: '/proc/self/no-such-folder/store', tracePath: trace }), (error: unknown) => isPrescientError(error) && error.code === 'ERR_ORIGIN_FAILED');
  });
});
