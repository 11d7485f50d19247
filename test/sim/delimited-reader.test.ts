import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseTimeMs } from '../../src/sim/delimited-reader.ts';
import { parseIsoTimeMs } from '../../src/sim/iso-time.ts';
import { openTrace, type TraceOptions, type TraceSource } from '../../src/sim/trace-reader.ts';
import { loadWorkload } from '../../src/sim/workload.ts';
import { scratchFiles } from '../doubles/temp-dirs.ts';

const file = scratchFiles('prescient-delimited-');

async function readAll(path: string, options: TraceOptions): Promise<{ source: TraceSource; keys: string[]; times: Array<number | undefined> }> {
  const source = await openTrace(path, options);
  const keys: string[] = [];
  const times: Array<number | undefined> = [];
  for await (const r of source) {
    keys.push(r.key);
    times.push(r.timeMs);
  }
  return { source, keys, times };
}

describe('delimited time values', () => {
  test('only strict ISO 8601 is a date: words with a dash or a T are malformed lines, not dates in 2001', async () => {
    const path = file('junk.csv', ['session,item,time', 's1,a,1600000000', 's1,b,abc-1', 's1,c,Tuesday', 's2,d,1-2', 's2,e,foo-12', 's2,f,2020-02-30']);
    const { source, keys } = await readAll(path, { header: true });
    assert.deepEqual(keys, ['a']);
    assert.deepEqual(source.stats().firstMalformed.map((m) => m.line), [3, 4, 5, 6, 7]);
    for (const token of ['abc-1', '1-2', 'T', '2020-1-1', '2020-01-01T10', '2020-01-01T10:00:00 GMT', 'May 3, 2020']) {
      assert.equal(parseTimeMs(token, 'auto'), undefined, token);
      assert.equal(parseTimeMs(token, 'iso'), undefined, token);
    }
  });

  test('an ISO time without an offset is UTC whatever the machine time zone; offsets and fractions are honoured', (t) => {
    const zone = process.env.TZ;
    t.after(() => {
      if (zone === undefined) delete process.env.TZ;
      else process.env.TZ = zone;
    });
    process.env.TZ = 'America/New_York';
    for (const unit of ['auto', 'iso'] as const) assert.equal(parseTimeMs('2020-01-01T09:00:00', unit), Date.UTC(2020, 0, 1, 9), unit);
    assert.equal(parseIsoTimeMs('2020-01-01T09:00:00'), Date.UTC(2020, 0, 1, 9));
    assert.equal(parseIsoTimeMs('2020-01-01 09:00'), Date.UTC(2020, 0, 1, 9));
    assert.equal(parseIsoTimeMs('2020-01-01'), Date.UTC(2020, 0, 1));
    assert.equal(parseIsoTimeMs('2020-01-01T10:00:00+02:00'), Date.UTC(2020, 0, 1, 8));
    assert.equal(parseIsoTimeMs('2020-01-01T10:00:00-0130'), Date.UTC(2020, 0, 1, 11, 30));
    assert.equal(parseIsoTimeMs('2010-10-02T09:20:39.266+02:00'), Date.UTC(2010, 9, 2, 7, 20, 39, 266));
    assert.equal(parseIsoTimeMs('2010-10-02T07:20:39.5Z'), Date.UTC(2010, 9, 2, 7, 20, 39, 500));
    assert.equal(parseIsoTimeMs('2020-02-29'), Date.UTC(2020, 1, 29));
    for (const bad of ['2019-02-29', '2020-13-01', '2020-01-01T24:00:00', '2020-01-01T10:60', '2020-01-01T10:00:00+25:00']) {
      assert.equal(parseIsoTimeMs(bad), undefined, bad);
    }
  });

  test('a time before 1970 or after the year 3000 is a malformed line with its number, not a failed replay', async () => {
    const path = file('far.tsv', ['s\tk\tt', 's1\ta\t1600000000', 's1\tb\t99999999999999999999', 's2\tc\t1e300', 's2\td\t-5', 's2\te\t1600000100', 's3\tf\t3001-01-01']);
    const source = await openTrace(path, { header: true, key: 'k', session: 's', time: 't' });
    const workload = await loadWorkload(source);
    assert.equal(workload.requests, 2);
    assert.equal(workload.timingKind, 'timestamps');
    assert.deepEqual(source.stats().firstMalformed.map((m) => m.line), [3, 4, 5, 7]);
    assert.match(source.stats().firstMalformed[0].reason, /outside 1970 to the year 3000/);
    await assert.rejects(readAll(path, { header: true, key: 'k', session: 's', time: 't', strict: true }), { code: 'ERR_TRACE_PARSE', message: /:3: time/ });
  });

  test('a line with fewer fields than a selected column needs is malformed, with its number', async () => {
    const path = file('short.csv', ['s1,a,1600000000', 's1,b', 's2', 's2,c,1600000002', '']);
    const { source, keys } = await readAll(path, { format: 'delimited', delimiter: ',', header: false, session: 0, key: 1, time: 2 });
    assert.deepEqual(keys, ['a', 'c']);
    assert.deepEqual(source.stats().firstMalformed.map((m) => m.line), [2, 3]);
    const named = file('short-named.csv', ['session,item,time', 's1,a,1600000000', 's1', 's1,b']);
    const byName = await readAll(named, { delimiter: ',', header: true, session: 'session', key: 'item', time: 'time' });
    assert.deepEqual(byName.keys, ['a']);
    assert.deepEqual(byName.source.stats().firstMalformed.map((m) => m.line), [3, 4]);
  });
});
