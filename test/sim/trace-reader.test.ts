import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { isPrescientError, TraceParseError } from '../../src/errors.ts';
import { guessFormat } from '../../src/sim/format-guess.ts';
import { openTrace, type TraceOptions, type TraceRequest } from '../../src/sim/trace-reader.ts';

const fixtures = join(import.meta.dirname, '../fixtures');
const fixture = (name: string): string => join(fixtures, name);
const scratch = mkdtempSync(join(tmpdir(), 'prescient-trace-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

async function readAll(path: string, options: TraceOptions = {}): Promise<TraceRequest[]> {
  const source = await openTrace(path, options);
  const out: TraceRequest[] = [];
  for await (const request of source) out.push(request);
  return out;
}

describe('delimited traces', () => {
  test('reads named columns from a header, with seconds turned into milliseconds', async () => {
    const source = await openTrace(fixture('clicks-header.tsv'), {
      format: 'delimited', delimiter: 'tab', header: true, key: 'ItemId', session: 'SessionId', time: 'Time', user: 'UserId',
    });
    const requests: TraceRequest[] = [];
    for await (const r of source) requests.push(r);
    assert.deepEqual(requests[0], { key: '100', session: '1', user: 'u1', timeMs: 1396437466500, line: 2 });
    assert.deepEqual(requests[2], { key: '100', session: '2', timeMs: 1396437480250, line: 4 });
    assert.deepEqual(requests.map((r) => r.key), ['100', '101', '100', '103']);
    assert.equal(source.guessed, false);
  });

  test('counts malformed lines with their 1-based line numbers and skips them', async () => {
    const source = await openTrace(fixture('clicks-header.tsv'), { delimiter: '\\t', header: true, key: 1, session: 0, time: 2 });
    let n = 0;
    for await (const _ of source) n++;
    const stats = source.stats();
    assert.equal(n, 4);
    assert.equal(stats.requests, 4);
    assert.equal(stats.lines, 7);
    assert.equal(stats.malformed, 2);
    assert.deepEqual(stats.firstMalformed.map((m) => m.line), [5, 6]);
    assert.match(stats.firstMalformed[1].reason, /not-a-time/);
  });

  test('strict mode throws ERR_TRACE_PARSE naming the file and line of the first malformed line', async () => {
    const path = fixture('clicks-header.tsv');
    await assert.rejects(readAll(path, { header: true, key: 'ItemId', time: 'Time', strict: true }), (error: unknown) => {
      assert.ok(error instanceof TraceParseError);
      assert.equal(error.code, 'ERR_TRACE_PARSE');
      assert.equal(error.line, 5);
      assert.equal(error.file, path);
      return true;
    });
  });

  test('column indices may be numbers or digit strings, with the default key column 0', async () => {
    const byNumber = await readAll(fixture('clicks.csv'), { delimiter: ',', key: 1, session: '0', time: 2 });
    assert.deepEqual(byNumber[1], { key: 'b', session: '7', timeMs: 1700000000500, line: 2 });
    const byDefault = await readAll(fixture('clicks.csv'), { format: 'delimited', delimiter: ',' });
    assert.deepEqual(byDefault.map((r) => r.key), ['7', '7', '8']);
  });

  test('a literal tab, the word tab and backslash-t all split on tabs', async () => {
    for (const delimiter of ['\t', 'tab', '\\t']) {
      const requests = await readAll(fixture('clicks-header.tsv'), { delimiter, header: true, key: 'ItemId' });
      assert.deepEqual(requests.map((r) => r.key), ['100', '101', '100', '103'], JSON.stringify(delimiter));
    }
  });

  test('reads ISO 8601 times in auto and iso units, and numbers as ms or s when told', async () => {
    const iso = await readAll(fixture('events-iso.csv'), { header: true, key: 'activity', session: 'case_id', time: 'timestamp' });
    assert.equal(iso[0].timeMs, Date.parse('2010-10-02T07:20:39.266Z'));
    assert.equal(iso[2].timeMs, Date.UTC(2010, 9, 3));
    const isoExplicit = await readAll(fixture('events-iso.csv'), { header: true, key: 'activity', time: 'timestamp', timeUnit: 'iso' });
    assert.equal(isoExplicit[1].timeMs, Date.parse('2010-10-02T07:21:00Z'));
    const ms = await readAll(fixture('key-time.txt'), { format: 'delimited', delimiter: ' ', time: 1, timeUnit: 'ms' });
    assert.deepEqual(ms.map((r) => r.timeMs), [100, 200, 300]);
    const seconds = await readAll(fixture('key-time.txt'), { format: 'delimited', delimiter: ' ', time: 1, timeUnit: 's' });
    assert.deepEqual(seconds.map((r) => r.timeMs), [100_000, 200_000, 300_000]);
    const auto = await readAll(fixture('clicks.csv'), { delimiter: ',', key: 1, time: 2 });
    assert.equal(auto[0].timeMs, 1700000000000, 'numbers of 1e11 and over are milliseconds');
  });

  test('picks well-known header names when no column is given and says so', async () => {
    const source = await openTrace(fixture('views.csv'), { header: true, delimiter: ';' });
    const requests: TraceRequest[] = [];
    for await (const r of source) requests.push(r);
    assert.deepEqual(requests[0], { key: '81766', session: '1', timeMs: Date.UTC(2016, 4, 9), line: 2 });
    assert.equal(requests[2].user, '18', 'NA means no user');
    assert.equal(source.guessed, true);
    assert.match(source.guessReason, /key = column 2 \(item_id\)/);
    assert.match(source.guessReason, /session = column 0 \(session_id\)/);
  });

  test('rejects a column name without a header and an unknown column name', async () => {
    await assert.rejects(openTrace(fixture('clicks.csv'), { delimiter: ',', key: 'ItemId', header: false }), { code: 'ERR_INVALID_OPTION' });
    await assert.rejects(openTrace(fixture('clicks-header.tsv'), { header: true, key: 'Nope' }), { code: 'ERR_INVALID_OPTION' });
    await assert.rejects(openTrace(fixture('keys.txt'), { format: 'keys', key: 0 }), { code: 'ERR_INVALID_OPTION' });
  });
});

describe('other formats', () => {
  test('arc lines expand to one request per block and bad lines are malformed', async () => {
    const source = await openTrace(fixture('blocks.lis'));
    const requests: TraceRequest[] = [];
    for await (const r of source) requests.push(r);
    assert.equal(source.format, 'arc');
    assert.deepEqual(requests.map((r) => r.key), ['10', '11', '12', '20', '40', '41']);
    assert.deepEqual(requests.map((r) => r.line), [1, 1, 1, 3, 7, 7]);
    const stats = source.stats();
    assert.equal(stats.malformed, 3, 'count 0, a non-integer start and an absurd count');
    assert.deepEqual(stats.firstMalformed.map((m) => m.line), [4, 5, 6]);
  });

  test('limit stops a pass after that many requests, even inside an arc expansion', async () => {
    const source = await openTrace(fixture('blocks.lis'), { limit: 2 });
    const keys: string[] = [];
    for await (const r of source) keys.push(r.key);
    assert.deepEqual(keys, ['10', '11']);
    assert.equal(source.stats().requests, 2);
  });

  test('keys: one trimmed key per line, an empty line is malformed', async () => {
    const source = await openTrace(fixture('keys.txt'), { format: 'keys' });
    const keys: string[] = [];
    for await (const r of source) keys.push(r.key);
    assert.deepEqual(keys, ['a', 'b', 'a', 'c']);
    assert.deepEqual(source.stats().firstMalformed.map((m) => m.line), [3]);
  });

  test('keys: a line of several whitespace-separated tokens is malformed, given or guessed, not one key', async () => {
    const lines = [...Array.from({ length: 25 }, (_, i) => `k${i % 6}`), 'k1 k2', 'GET /a HTTP/1.1', 'k3'];
    const path = join(scratch, 'keys-with-tokens.txt');
    writeFileSync(path, lines.join('\n'));
    for (const options of [{ format: 'keys' }, {}] as const) {
      const source = await openTrace(path, options);
      const keys: string[] = [];
      for await (const r of source) keys.push(r.key);
      assert.equal(source.format, 'keys');
      assert.deepEqual(keys, [...lines.slice(0, 25), 'k3']);
      assert.deepEqual(source.stats().firstMalformed.map((m) => m.line), [26, 27]);
      assert.match(source.stats().firstMalformed[1].reason, /expected one key, found 3/);
    }
  });

  test('sessions: each line is a session named by its line number', async () => {
    const requests = await readAll(fixture('sessions.txt'), { format: 'sessions' });
    assert.deepEqual(requests.map((r) => `${r.session}:${r.key}`), ['1:home', '1:cart', '1:pay', '2:home', '4:search', '4:item', '4:item']);
  });

  test('a .gz path is read through gunzip', async () => {
    const path = join(scratch, 'keys.txt.gz');
    writeFileSync(path, gzipSync(readFileSync(fixture('keys.txt'))));
    const requests = await readAll(path, { format: 'keys' });
    assert.deepEqual(requests.map((r) => r.key), ['a', 'b', 'a', 'c']);
  });

  test('every iteration is a fresh pass over the file', async () => {
    const source = await openTrace(fixture('clicks.csv'), { delimiter: ',' });
    const first: string[] = [];
    for await (const r of source) first.push(r.key);
    const second: string[] = [];
    for await (const batch of source.batches()) for (const r of batch) second.push(r.key);
    assert.deepEqual(second, first);
    assert.equal(source.stats().requests, 3);
  });

  test('CRLF line ends, tabs in arc lines and a last line without a newline are read as usual', async () => {
    const crlf = join(scratch, 'crlf.txt');
    writeFileSync(crlf, 'a\r\nb\r\nc');
    assert.deepEqual((await readAll(crlf, { format: 'keys' })).map((r) => r.key), ['a', 'b', 'c']);
    const tabs = join(scratch, 'tabs.lis');
    writeFileSync(tabs, ' 7\t2\t0\t0\r\n');
    assert.deepEqual((await readAll(tabs)).map((r) => r.key), ['7', '8']);
  });

  test('a missing file is ERR_TRACE_NOT_FOUND and an empty one cannot be guessed', async () => {
    await assert.rejects(openTrace(join(scratch, 'missing.txt')), { code: 'ERR_TRACE_NOT_FOUND' });
    const empty = join(scratch, 'empty.txt');
    writeFileSync(empty, '\n\n');
    await assert.rejects(openTrace(empty), (error: unknown) => isPrescientError(error, 'ERR_TRACE_EMPTY'));
  });
});

describe('format guessing', () => {
  test('guesses arc from a .lis.gz name and from lines of four integers', async () => {
    const gz = join(scratch, 'trace.lis.gz');
    writeFileSync(gz, gzipSync(readFileSync(fixture('blocks.txt'))));
    const byName = await openTrace(gz);
    assert.equal(byName.format, 'arc');
    assert.match(byName.guessReason, /\.lis/);
    const byShape = await openTrace(fixture('blocks.txt'));
    assert.equal(byShape.format, 'arc');
    assert.equal(byShape.guessed, true);
    const keys: string[] = [];
    for await (const r of byShape) keys.push(r.key);
    assert.deepEqual(keys, ['1', '2', '4', '9']);
  });

  test('guesses a tab-delimited trace with a header despite a malformed line', async () => {
    const source = await openTrace(fixture('clicks-header.tsv'));
    assert.equal(source.format, 'delimited');
    assert.match(source.guessReason, /tab/);
    assert.match(source.guessReason, /header/);
    assert.match(source.guessReason, /key = column 1 \(ItemId\)/);
    const requests: TraceRequest[] = [];
    for await (const r of source) requests.push(r);
    assert.equal(requests[0].key, '100');
    assert.equal(requests[0].timeMs, 1396437466500);
  });

  test('guesses semicolons, single keys, sessions and whitespace columns', async () => {
    assert.equal((await openTrace(fixture('views.csv'))).format, 'delimited');
    assert.equal((await openTrace(fixture('keys.txt'))).format, 'keys');
    assert.equal((await openTrace(fixture('sessions.txt'))).format, 'sessions');
    const columns = guessFormat('x.txt', ['k1 100', 'k2 200']);
    assert.equal(columns.format, 'delimited');
    assert.equal(columns.delimiter, null);
  });

  test('a comma-separated file without a header is not taken for one', () => {
    const guess = guessFormat('x.csv', ['7,a,1700000000000', '7,b,1700000000500']);
    assert.equal(guess.format, 'delimited');
    assert.equal(guess.delimiter, ',');
    assert.equal(guess.header, false);
  });

  test('giving columns without a format reads the trace as delimited', async () => {
    const copy = join(scratch, 'plain.txt');
    copyFileSync(fixture('key-time.txt'), copy);
    const source = await openTrace(copy, { key: 0, time: 1, delimiter: ' ', timeUnit: 'ms' });
    assert.equal(source.format, 'delimited');
    assert.match(source.guessReason, /key, time, delimiter was given/);
  });
});
