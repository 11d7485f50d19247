import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { run } from './run-cli.ts';

const scratch = mkdtempSync(join(tmpdir(), 'prescient-evaluate-cli-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
const file = (name: string, lines: readonly string[]): string => {
  const path = join(scratch, name);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
};

/** 40 sessions a -> b -> c, one every 10 s from 2023-11-14T22:13:20Z, as session,item,time. */
const sessions = file('sessions.csv', [
  'session,item,time',
  ...Array.from({ length: 40 }, (_, s) => ['a', 'b', 'c'].map((item, i) => `s${s},${item},${1_700_000_000 + s * 10 + i}`)).flat(),
]);

type EvaluationJson = {
  trainRequests: number;
  testRequests: number;
  testPositions: number;
  learnOnline: boolean;
  protocol: string;
  predictors: Array<{ name: string; recall: Record<string, number>; listCap: number | null }>;
};

describe('prescient evaluate --no-online', () => {
  test('says that test clicks still update the models, in the table, the JSON and --help', async () => {
    const table = await run(['evaluate', sessions, '--no-online']);
    assert.equal(table.code, 0, table.stderr);
    assert.doesNotMatch(table.stdout, /frozen/);
    assert.match(table.stdout, /scored after every training click has been observed, in time order; each test click still updates the models after it is scored/);
    const json = await run(['evaluate', sessions, '--no-online', '--json']);
    const doc = JSON.parse(json.stdout) as EvaluationJson;
    assert.equal(doc.learnOnline, false);
    assert.match(doc.protocol, /each test click still updates the models/);
    const online = JSON.parse((await run(['evaluate', sessions, '--json'])).stdout) as EvaluationJson;
    assert.match(online.protocol, /keep learning online/);
    const help = await run(['evaluate', '--help']);
    assert.match(help.stdout.replace(/\s+/g, ' '), /--no-online .*each test click still updates the models/);
    assert.doesNotMatch(help.stdout, /freeze/);
  });
});

describe('prescient evaluate list caps', () => {
  test('a k above a list no option lengthens is named in the table and the JSON', async () => {
    const table = await run(['evaluate', sessions, '--k', '1,100']);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^capped: delta 64, popularity 64 keys at most/m);
    const doc = JSON.parse((await run(['evaluate', sessions, '--k', '1,100', '--json'])).stdout) as EvaluationJson;
    const caps = Object.fromEntries(doc.predictors.map((p) => [p.name, p.listCap]));
    assert.deepEqual([caps.delta, caps.popularity, caps['markov-1'], caps['sequential-rules'], caps.ensemble], [64, 64, null, null, null]);
    const small = await run(['evaluate', sessions]);
    assert.doesNotMatch(small.stdout, /^capped:/m, 'no list stops below k = 20');
  });
});

describe('prescient evaluate sessions', () => {
  test('a request without a session is not merged into a real session named #0 (anon.tsv)', async () => {
    const trace = file('anon.tsv', ['session\tkey\ttime', 's1\ta\t1000', 's1\tb\t1001', 's2\ta\t1002', 's2\tb\t1003', 'NA\tq\t2000', '#0\ta\t2001', '#0\tb\t2002']);
    const r = await run(['evaluate', trace, '--time-unit', 'ms', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as EvaluationJson;
    // Four sessions by start: s1, s2, the lone q, #0; the last 20% (one session: #0) is the test set.
    assert.deepEqual([doc.trainRequests, doc.testRequests, doc.testPositions], [5, 2, 1]);
  });
});

describe('prescient evaluate --train-until', () => {
  test('a value that is not a time is an invalid option naming the flag and the value', async () => {
    for (const value of ['abc-1', 'Tuesday']) {
      const r = await run(['evaluate', sessions, '--train-until', value]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, new RegExp(`^prescient: ERR_INVALID_OPTION: Expected \`--train-until\` to be .*, got "${value}"$`, 'm'));
    }
  });

  test('a time before 1970 or after the year 3000 is refused like a trace time', async () => {
    for (const value of ['-5', '1969-12-31', '99999999999999', '3000-01-02']) {
      const r = await run(['evaluate', sessions, '--train-until', value]);
      assert.equal(r.code, 2, `${value}: ${r.stderr}`);
      assert.match(r.stderr, /ERR_INVALID_OPTION: Expected `--train-until` to be a time from 1970 to the year 3000/, value);
    }
    const edge = await run(['evaluate', sessions, '--train-until', '2023-11-14T22:16:40Z', '--json']);
    assert.equal(edge.code, 0, edge.stderr);
  });

  test('a cut that leaves one side empty stays a usage error worded with the flags', async () => {
    const allTrain = await run(['evaluate', sessions, '--train-until', '2999-01-01']);
    assert.equal(allTrain.code, 2);
    assert.match(allTrain.stderr, /ERR_USAGE: The cut leaves 120 training and 0 test requests; move --train-until or --train-fraction/);
    const allTest = await run(['evaluate', sessions, '--train-until', '1970-01-02']);
    assert.equal(allTest.code, 2);
    assert.match(allTest.stderr, /ERR_USAGE: The cut leaves 0 training and 120 test requests/);
    assert.equal(allTest.stdout, '');
  });
});
