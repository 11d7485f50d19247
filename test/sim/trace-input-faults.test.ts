import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { isPrescientError } from '../../src/errors.ts';
import { lineBatches, maxLineChars, overlongLine } from '../../src/sim/line-batches.ts';
import { openTrace, type TraceOptions, type TraceRequest } from '../../src/sim/trace-reader.ts';
import { loadWorkload } from '../../src/sim/workload.ts';

const scratch = mkdtempSync(join(tmpdir(), 'prescient-trace-faults-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
const file = (name: string, content: string | Buffer): string => {
  const path = join(scratch, name);
  writeFileSync(path, content);
  return path;
};
const hasCode = (code: string, text?: RegExp) => (e: unknown) => isPrescientError(e) && e.code === code && (text === undefined || text.test(e.message));

async function readAll(path: string, options: TraceOptions = {}): Promise<{ requests: TraceRequest[]; notes: string }> {
  const source = await openTrace(path, options);
  const requests: TraceRequest[] = [];
  for await (const r of source) requests.push(r);
  return { requests, notes: source.guessReason ?? '' };
}

describe('trace files that are broken or odd', () => {
  test('a truncated, corrupt or empty gzip fails with ERR_TRACE_READ naming the file, not a zlib stack', async () => {
    const whole = gzipSync(Buffer.from(Array.from({ length: 5000 }, (_, i) => `key${i % 97}`).join('\n')));
    const truncated = file('truncated.txt.gz', whole.subarray(0, Math.floor(whole.length / 2)));
    const corrupt = Buffer.from(whole);
    corrupt[20] ^= 0xff;
    corrupt[21] ^= 0xff;
    for (const path of [truncated, file('corrupt.txt.gz', corrupt), file('empty.txt.gz', ''), file('plain.txt.gz', 'not gzip\n')]) {
      await assert.rejects(readAll(path, { format: 'keys' }), hasCode('ERR_TRACE_READ', /gzip data is truncated or corrupt/), path);
    }
  });

  test('a gzipped trace is gunzipped whatever its name: the magic bytes decide', async () => {
    const keys = Array.from({ length: 50 }, (_, i) => `key${i % 7}`);
    const { requests } = await readAll(file('gzipped-no-ext.txt', gzipSync(Buffer.from(keys.join('\n')))), { format: 'keys' });
    assert.deepEqual(requests.map((r) => r.key), keys);
  });

  test('a binary, otherwise compressed, UTF-16 or non-UTF-8 file fails with ERR_TRACE_READ saying what it is', async () => {
    const text = Buffer.from(Array.from({ length: 200 }, (_, i) => `s${i % 9}\tk${i % 13}`).join('\n'));
    const cases: Array<[string, Buffer, RegExp]> = [
      ['nul.bin', Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 0, 0, 0]), text]), /binary data/],
      ['t.tsv.bz2', Buffer.concat([Buffer.from('BZh91AY&SY'), text]), /bzip2-compressed/],
      ['t.tsv.zst', Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), text]), /zstd-compressed/],
      ['t.tsv.xz', Buffer.concat([Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), text]), /xz-compressed/],
      ['t.zip', Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04]), text]), /zip-compressed/],
      ['utf16.tsv', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text.toString(), 'utf16le')]), /UTF-16/],
      ['latin1.tsv', Buffer.concat([text, Buffer.from('\ns1\tcaf\xe9\n', 'latin1'), text]), /not UTF-8/],
      ['gzipped-binary.gz', gzipSync(Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 0]), text])), /binary data/],
    ];
    for (const [name, content, reason] of cases) {
      await assert.rejects(openTrace(file(name, content)), hasCode('ERR_TRACE_READ', reason), name);
      await assert.rejects(readAll(file(`given-${name}`, content), { format: 'keys' }), hasCode('ERR_TRACE_READ', reason), `${name} with a format given`);
    }
    const bom = await readAll(file('utf8-bom.tsv', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), text])), { format: 'delimited' });
    assert.equal(bom.requests.length, 200, 'a UTF-8 byte-order mark is text');
  });

  test('a line longer than the limit is one malformed line, with its number; --strict makes it fatal', async () => {
    const path = file('long.txt', `a\nb\n${'x'.repeat(maxLineChars + 10)}\nc\n${'y'.repeat(3 * maxLineChars)}`);
    const source = await openTrace(path, { format: 'keys' });
    const keys: string[] = [];
    for await (const r of source) keys.push(r.key);
    assert.deepEqual(keys, ['a', 'b', 'c']);
    assert.deepEqual(source.stats().firstMalformed.map((m) => m.line), [3, 5]);
    await assert.rejects(readAll(path, { format: 'keys', strict: true }), hasCode('ERR_TRACE_PARSE', /:3: line longer than/));
  });

  test('lines split across read chunks come out whole, and an overlong one becomes the marker', async () => {
    const lines = ['first', 'z'.repeat(1.5 * 2 ** 20), 'w'.repeat(maxLineChars + 1), 'last'];
    const path = file('chunks.txt', lines.join('\r\n'));
    const got: string[] = [];
    for await (const batch of lineBatches(path)) got.push(...batch);
    assert.deepEqual(got.map((l) => l.length), [5, overlongLine.length, overlongLine.length, 4]);
    assert.equal(got[1], overlongLine, 'a line read in two chunks that exceeds the limit');
    assert.equal(got[3], 'last');
  });

  test('a line of exactly the limit ending in \\r\\n is kept (the \\r is not counted); one character more is overlong', async () => {
    const exact = 'e'.repeat(maxLineChars);
    const path = file('crlf-limit.txt', ['a', exact, 'f'.repeat(maxLineChars + 1), exact].join('\r\n') + '\r\n');
    const got: string[] = [];
    for await (const batch of lineBatches(path)) got.push(...batch);
    assert.deepEqual(got.map((l) => l.length), [1, maxLineChars, overlongLine.length, maxLineChars]);
    assert.equal(got[1], exact);
  });

  test('four tab-separated integers per line are a delimited table, not ARC block ranges', async () => {
    const rows = Array.from({ length: 50 }, (_, i) => `${1 + (i % 7)}\t${100 + i}\t${1 + (i % 5)}\t${880000000 + i}`);
    const { requests, notes } = await readAll(file('ratings.tsv', rows.join('\n')));
    assert.equal(requests.length, 50, 'one request per line, not a block range each');
    assert.match(notes, /format delimited/);
    assert.match(notes, /no header line: key = column 0/);
  });

  test('a first line of column names is a header even when the rows below hold no numbers', async () => {
    const rows = ['user,page', ...Array.from({ length: 30 }, (_, i) => `u${i % 4},p${i % 9}`)];
    const { requests, notes } = await readAll(file('names.csv', rows.join('\n')));
    assert.equal(requests.length, 30);
    assert.equal(requests[0].key, 'p0', 'the key is the page column, named like a key');
    assert.equal(requests[0].user, 'u0');
    assert.match(notes, /header: the first line names columns/);
  });

  test('a data row with a column-like word is not a header: every field must name a column, and not recur below', async () => {
    const keys = await readAll(file('keys-page.txt', ['page', 'home', 'page', 'cart'].join('\n')));
    assert.deepEqual(keys.requests.map((r) => r.key), ['page', 'home', 'page', 'cart'], 'the first key recurs: data');
    const rows = await readAll(file('rows.csv', ['s1,page', 's1,cart', 's2,item', 's2,page'].join('\n')));
    assert.equal(rows.requests.length, 4);
    const byIndex = await readAll(file('by-index.csv', ['user,page', 'u1,p1', 'u2,p2'].join('\n')), { key: 1, user: 0 });
    assert.deepEqual(byIndex.requests.map((r) => r.key), ['page', 'p1', 'p2'], 'columns given by index: the file is read as it is');
  });

  test('an overlong first line is counted malformed, and the header after it is still the header', async () => {
    const path = file('long-then-header.txt', `${'x'.repeat(maxLineChars + 5)}\nobject_id\nk1\nk2`);
    const source = await openTrace(path, { format: 'keys', header: true });
    const keys: string[] = [];
    for await (const r of source) keys.push(r.key);
    assert.deepEqual(keys, ['k1', 'k2']);
    assert.deepEqual(source.stats().firstMalformed.map((m) => m.line), [1]);
  });

  test('a column index past the header\'s columns fails when the trace is opened, naming the option', async () => {
    const path = file('three.tsv', ['SessionId\tItemId\tTime', 's1\ta\t1', 's1\tb\t2'].join('\n'));
    await assert.rejects(openTrace(path, { header: true, key: 9, session: 0 }), hasCode('ERR_INVALID_OPTION', /`key`.*below 3/));
  });

  test('a file holding only its header has no requests', async () => {
    const path = file('header-only.tsv', 'SessionId\tItemId\tTime\n');
    const source = await openTrace(path);
    await assert.rejects(loadWorkload(source), hasCode('ERR_TRACE_EMPTY'));
  });

  test('a header above one key per line is skipped: when asked, or when it names a column', async () => {
    const content = ['object_id', 'k1', 'k2', 'k1'].join('\n');
    const asked = await readAll(file('keys-header.txt', content), { format: 'keys', header: true });
    assert.deepEqual(asked.requests.map((r) => r.key), ['k1', 'k2', 'k1']);
    const guessed = await readAll(file('keys-header-guessed.txt', content));
    assert.deepEqual(guessed.requests.map((r) => r.key), ['k1', 'k2', 'k1']);
    assert.match(guessed.notes, /header: the first line \(object_id\) names a column/);
    const plain = await readAll(file('keys-no-header.txt', content), { format: 'keys' });
    assert.equal(plain.requests.length, 4, 'a format given without --header reads every line');
  });

  test('a speed or gap that would overflow virtual time is refused with ERR_INVALID_OPTION', async () => {
    const timed = file('timed.tsv', ['s\tk\tt', 's1\ta\t1000', 's1\tb\t2000', 's2\tc\t3000'].join('\n'));
    await assert.rejects(loadWorkload(await openTrace(timed, { header: true, key: 'k', session: 's', time: 't', timeUnit: 's' }), { speed: 1e-320 }), hasCode('ERR_INVALID_OPTION', /`speed`/));
    const untimed = file('untimed.txt', 'a\nb\nc\n');
    await assert.rejects(loadWorkload(await openTrace(untimed, { format: 'keys' }), { interarrivalMs: 1e308 }), hasCode('ERR_INVALID_OPTION', /`interarrivalMs`/));
    const ok = await loadWorkload(await openTrace(untimed, { format: 'keys' }), { interarrivalMs: 1e6 });
    assert.equal(ok.requests, 3);
  });
});
