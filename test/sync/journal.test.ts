import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { appendFile, mkdtemp, open, readdir, readFile, rm, stat, symlink, truncate, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { flushMicrotasks, VirtualClock } from '../../src/clock.ts';
import { isPrescientError } from '../../src/errors.ts';
import { Journal } from '../../src/sync/journal.ts';
import { processIncarnation } from '../../src/sync/journal-lock.ts';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'prescient-journal-'));
  dirs.push(dir);
  return dir;
}
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

const text = (frames: Array<{ payload: Buffer }>) => frames.map((f) => f.payload.toString());
async function segments(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.endsWith('.seg')).sort();
}

async function filled(dir: string, n: number, options: Partial<ConstructorParameters<typeof Journal>[0]> = {}): Promise<Journal> {
  const journal = new Journal({ dir, groupCommitMs: 0, ...options });
  await journal.open();
  for (let i = 0; i < n; i++) await journal.append(Buffer.from(`record-${i}`));
  return journal;
}

/** The lock line this process writes: pid, host and, where /proc tells it, its incarnation. */
function ownLock(): string {
  const self = processIncarnation(process.pid);
  return `${process.pid} ${hostname()}${self === undefined ? '' : ` ${self}`}`;
}

/** `promise`, or a rejection naming `what` when it has not settled within 5 s of real time. */
async function within<T>(promise: Promise<T>, what: string, ms = 5_000): Promise<T> {
  let bound: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (bound = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(bound);
  }
}

/** Resolves once `condition()` holds (polled each turn of the event loop); fails naming `what` after 5 s. */
function until(condition: () => boolean, what: string): Promise<void> {
  return within((async () => {
    while (!condition()) await new Promise((resolve) => setImmediate(resolve));
  })(), what);
}

describe('Journal', () => {
  test('returns appended records in order after a reopen, with consecutive sequence numbers', async () => {
    const dir = await tempDir();
    const journal = new Journal({ dir, groupCommitMs: 0 });
    assert.deepEqual(await journal.open(), []);
    const seqs = await Promise.all(['a', 'b', 'c'].map((s) => journal.append(Buffer.from(s))));
    assert.deepEqual(seqs, [1, 2, 3]);
    await journal.close();
    const again = new Journal({ dir, groupCommitMs: 0 });
    const frames = await again.open();
    assert.deepEqual(text(frames), ['a', 'b', 'c']);
    assert.deepEqual(frames.map((f) => f.seq), [1, 2, 3]);
    assert.equal(await again.append(Buffer.from('d')), 4);
    await again.close();
  });

  test('group commit: appends within the window share one write and fsync, and none resolves before it', async () => {
    const dir = await tempDir();
    const clock = new VirtualClock();
    const journal = new Journal({ dir, clock, groupCommitMs: 5 });
    await journal.open();
    let resolved = 0;
    const appends = Array.from({ length: 50 }, (_, i) => journal.append(Buffer.from(`r${i}`)).then((seq) => (resolved++, seq)));
    for (let i = 0; i < 20; i++) await flushMicrotasks();
    assert.equal(resolved, 0, 'nothing is acknowledged before the group is fsynced');
    assert.equal(journal.syncs, 0);
    clock.advance(5);
    await Promise.all(appends);
    assert.equal(journal.syncs, 1);
    await journal.close();
  });

  test('appends arriving while an fsync runs form the next group (no window needed)', { timeout: 20_000 }, async () => {
    const dir = await tempDir();
    const journal = new Journal({ dir, groupCommitMs: 0 });
    await journal.open();
    // Hold every fsync of the journal's segment until the test releases it, and count the writes: FileHandle's
    // datasync and write, patched on the prototype the journal's handles share (datasync waits on a gate per call).
    const probe = await open(join(dir, 'probe'), 'w');
    const proto = Object.getPrototypeOf(probe) as { datasync(this: unknown): Promise<void>; write(this: unknown, ...args: unknown[]): Promise<unknown> };
    await probe.close();
    const { datasync, write } = proto;
    const gates: Array<() => void> = [];
    let writes = 0;
    proto.datasync = function (this: unknown) {
      return new Promise<void>((resolve) => gates.push(resolve)).then(() => datasync.call(this));
    };
    proto.write = function (this: unknown, ...args: unknown[]) {
      writes++;
      return write.apply(this, args);
    };
    try {
      const first = journal.append(Buffer.from('first'));
      await until(() => gates.length === 1, 'the first fsync starts');
      // These arrive while the first group's fsync runs.
      const acked = new Set<number>();
      const rest = Array.from({ length: 99 }, (_, i) => journal.append(Buffer.from(`r${i}`)).then((seq) => (acked.add(seq), seq)));
      for (let i = 0; i < 20; i++) await flushMicrotasks();
      assert.equal(journal.syncs, 0);
      assert.equal(writes, 1, 'no second write while the first group\'s fsync runs');
      assert.equal(gates.length, 1, 'no second fsync while the first runs');
      gates[0]();
      assert.equal(await within(first, 'the first append resolves'), 1);
      assert.equal(journal.syncs, 1);
      await until(() => gates.length === 2, 'the second group\'s fsync starts');
      for (let i = 0; i < 20; i++) await flushMicrotasks();
      assert.equal(acked.size, 0, 'no record of the second group resolves before its fsync');
      assert.equal(journal.syncs, 1);
      gates[1]();
      assert.deepEqual(await within(Promise.all(rest), 'the second group resolves'), Array.from({ length: 99 }, (_, i) => i + 2));
      assert.equal(journal.syncs, 2, 'all 99 arrivals shared one write + fsync');
      assert.equal(gates.length, 2);
      assert.equal(writes, 2);
    } finally {
      proto.datasync = datasync;
      proto.write = write;
      for (const gate of gates) gate();
    }
    await journal.close();
    const again = new Journal({ dir, groupCommitMs: 0 });
    assert.deepEqual(text(await again.open()), ['first', ...Array.from({ length: 99 }, (_, i) => `r${i}`)]);
    await again.close();
  });

  test('a group is written at once when it reaches maxGroupBytes, without waiting out the window', async () => {
    const dir = await tempDir();
    const clock = new VirtualClock();
    const journal = new Journal({ dir, clock, groupCommitMs: 1_000, maxGroupBytes: 100 });
    await journal.open();
    const appends = Array.from({ length: 10 }, () => journal.append(Buffer.alloc(40, 1)));
    await Promise.all(appends);
    assert.ok(journal.syncs >= 5, `groups of at most 100 bytes (56-byte frames): got ${journal.syncs} fsyncs`);
    await journal.close();
  });

  test('a torn tail is cut off: a partial last record is dropped, earlier ones kept, appends continue', async () => {
    const dir = await tempDir();
    const journal = await filled(dir, 5);
    await journal.close();
    const [segment] = await segments(dir);
    const path = join(dir, segment);
    const size = (await stat(path)).size;
    await truncate(path, size - 3);
    const again = new Journal({ dir, groupCommitMs: 0 });
    assert.deepEqual(text(await again.open()), ['record-0', 'record-1', 'record-2', 'record-3']);
    assert.equal((await stat(path)).size, size - 3 - (16 + 'record-4'.length - 3));
    assert.equal(await again.append(Buffer.from('next')), 5);
    await again.close();
    const third = new Journal({ dir, groupCommitMs: 0 });
    assert.deepEqual(text(await third.open()).slice(-2), ['record-3', 'next']);
    await third.close();
  });

  test('garbage after the last record (a write cut short) is a torn tail too', async () => {
    const dir = await tempDir();
    const journal = await filled(dir, 3);
    await journal.close();
    await appendFile(join(dir, (await segments(dir))[0]), Buffer.from([40, 0, 0, 0, 1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 8, 64, 9, 9]));
    const again = new Journal({ dir, groupCommitMs: 0 });
    assert.deepEqual(text(await again.open()), ['record-0', 'record-1', 'record-2']);
    await again.close();
  });

  test('a damaged record followed by valid ones is ERR_JOURNAL_CORRUPT, not a silent loss', async () => {
    const dir = await tempDir();
    const journal = await filled(dir, 4);
    await journal.close();
    const path = join(dir, (await segments(dir))[0]);
    const bytes = await readFile(path);
    bytes[16 + 2] ^= 0xff;
    await writeFile(path, bytes);
    await assert.rejects(new Journal({ dir }).open(), (e) => isPrescientError(e, 'ERR_JOURNAL_CORRUPT'));
  });

  test('a segment that lost records the checkpoint confirms is ERR_JOURNAL_CORRUPT, and the files are left as they were', async () => {
    for (const damage of ['garbage', 'cut at a record boundary'] as const) {
      const dir = await tempDir();
      const journal = await filled(dir, 10);
      await journal.confirm(5);
      await journal.close();
      const path = join(dir, (await segments(dir))[0]);
      const size = (await stat(path)).size;
      const bytes = damage === 'garbage' ? Buffer.from(Array.from({ length: size }, (_, i) => (i * 167 + 13) & 0xff)) : (await readFile(path)).subarray(0, 3 * (16 + 'record-0'.length));
      await writeFile(path, bytes);
      for (let attempt = 0; attempt < 2; attempt++) {
        await assert.rejects(new Journal({ dir, groupCommitMs: 0 }).open(), (e) => isPrescientError(e, 'ERR_JOURNAL_CORRUPT'), damage);
        assert.deepEqual(await segments(dir), [path.slice(dir.length + 1)], `${damage}: no segment started or removed`);
        assert.deepEqual(await readFile(path), bytes, `${damage}: the segment is not truncated`);
      }
    }
  });

  test('bad bytes at the end longer than one group write are ERR_JOURNAL_CORRUPT, not a torn tail', async () => {
    const dir = await tempDir();
    const journal = await filled(dir, 10, { maxGroupBytes: 64 }); // 24-byte frames: at most 2 per group
    await journal.close();
    const path = join(dir, (await segments(dir))[0]);
    const bytes = await readFile(path);
    bytes.fill(0x5a, 2 * 24); // records 3 to 10 overwritten: 192 bytes, 3 groups' worth
    await writeFile(path, bytes);
    await assert.rejects(new Journal({ dir, groupCommitMs: 0, maxGroupBytes: 64 }).open(), (e) => isPrescientError(e, 'ERR_JOURNAL_CORRUPT'));
    assert.equal((await stat(path)).size, bytes.length, 'the segment is not truncated');
    await writeFile(path, bytes.subarray(0, 2 * 24 + 40)); // one group's worth of bad bytes: a torn write
    const again = new Journal({ dir, groupCommitMs: 0, maxGroupBytes: 64 });
    assert.deepEqual(text(await again.open()), ['record-0', 'record-1']);
    await again.close();
  });

  test('confirm trims: fully confirmed segments are deleted and a reopen returns only unconfirmed records', async () => {
    const dir = await tempDir();
    const journal = await filled(dir, 20, { segmentBytes: 100 });
    const before = (await segments(dir)).length;
    assert.ok(before >= 5, `small segments roll: ${before}`);
    await journal.confirm(12);
    assert.equal(journal.confirmedSeq, 12);
    assert.ok((await segments(dir)).length < before);
    await journal.close();
    const again = new Journal({ dir, groupCommitMs: 0, segmentBytes: 100 });
    const frames = await again.open();
    assert.deepEqual(frames.map((f) => f.seq), [13, 14, 15, 16, 17, 18, 19, 20]);
    await again.confirm(20);
    assert.equal(await again.append(Buffer.from('x')), 21);
    await again.close();
    const third = new Journal({ dir, groupCommitMs: 0 });
    assert.deepEqual(text(await third.open()), ['x']);
    await third.close();
  });

  test('a fully confirmed active segment over 64 KiB is rolled and deleted', async () => {
    const dir = await tempDir();
    const journal = new Journal({ dir, groupCommitMs: 0 });
    await journal.open();
    await Promise.all(Array.from({ length: 20 }, () => journal.append(Buffer.alloc(4_000, 7))));
    assert.ok(journal.bytes > 64 * 1024);
    await journal.confirm(20);
    await journal.settle();
    assert.equal(journal.bytes, 0);
    assert.equal((await segments(dir)).length, 1);
    await journal.close();
    const reopened = new Journal({ dir });
    assert.deepEqual(await reopened.open(), []);
    await reopened.close();
  });

  test('a missing segment in the middle is ERR_JOURNAL_CORRUPT', async () => {
    const dir = await tempDir();
    const journal = await filled(dir, 20, { segmentBytes: 100 });
    await journal.close();
    const names = await segments(dir);
    await rm(join(dir, names[1]));
    await assert.rejects(new Journal({ dir }).open(), (e) => isPrescientError(e, 'ERR_JOURNAL_CORRUPT'));
  });

  test('a damaged checkpoint is ERR_JOURNAL_CORRUPT; an unreadable directory is ERR_JOURNAL_FAILED', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'checkpoint'), 'zz');
    await assert.rejects(new Journal({ dir }).open(), (e) => isPrescientError(e, 'ERR_JOURNAL_CORRUPT'));
    const file = join(dir, 'plain-file');
    await writeFile(file, '');
    await assert.rejects(new Journal({ dir: join(file, 'sub') }).open(), (e) => isPrescientError(e, 'ERR_JOURNAL_FAILED'));
  });

  test('append after close rejects with ERR_CLOSED; bad options throw ERR_INVALID_OPTION', async () => {
    const dir = await tempDir();
    const journal = await filled(dir, 1);
    await journal.close();
    await assert.rejects(journal.append(Buffer.from('late')), (e) => isPrescientError(e, 'ERR_CLOSED'));
    assert.throws(() => new Journal({ dir: '' }), (e) => isPrescientError(e, 'ERR_INVALID_OPTION'));
    assert.throws(() => new Journal({ dir, groupCommitMs: -1 }), (e) => isPrescientError(e, 'ERR_INVALID_OPTION'));
  });

  test('a directory is locked while open: a second Journal fails naming the holder, close releases it', async () => {
    const dir = await tempDir();
    const first = await filled(dir, 1);
    assert.equal((await readFile(join(dir, 'LOCK'), 'utf8')).trim(), ownLock());
    await assert.rejects(new Journal({ dir }).open(), (e) => isPrescientError(e, 'ERR_JOURNAL_FAILED') && e.message.includes(String(process.pid)));
    assert.equal((await first.append(Buffer.from('still mine'))), 2, 'the failed open took nothing from the holder');
    await first.close();
    assert.ok(!(await readdir(dir)).includes('LOCK'), 'close removes the lock');
    const second = new Journal({ dir, groupCommitMs: 0 });
    assert.deepEqual(text(await second.open()), ['record-0', 'still mine']);
    await second.close();
  });

  test('a directory reached through a symlink is the same directory: a second Journal on it fails while the first is open', async () => {
    const dir = await tempDir();
    const alias = `${dir}-alias`;
    await symlink(dir, alias);
    dirs.push(alias);
    const first = await filled(dir, 1);
    await assert.rejects(new Journal({ dir: alias }).open(), (e) => isPrescientError(e, 'ERR_JOURNAL_FAILED'));
    assert.equal(await first.append(Buffer.from('still mine')), 2);
    await first.close();
    const again = new Journal({ dir: alias, groupCommitMs: 0 });
    assert.deepEqual(text(await again.open()), ['record-0', 'still mine'], 'once closed, the alias opens it');
    await again.close();
  });

  test('another live process holding the journal blocks open; once it is killed, its stale lock is taken over', async () => {
    const dir = await tempDir();
    const journalModule = fileURLToPath(new URL('../../src/sync/journal.ts', import.meta.url));
    const script = `const { Journal } = await import(${JSON.stringify(journalModule)});
      const j = new Journal({ dir: ${JSON.stringify(dir)}, groupCommitMs: 0 });
      await j.open(); await j.append(Buffer.from('child')); console.log('open'); setInterval(() => {}, 60000);`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const [line] = (await once(child.stdout!, 'data')) as [Buffer];
      assert.equal(line.toString().trim(), 'open');
      await assert.rejects(
        new Journal({ dir }).open(),
        (e) => isPrescientError(e, 'ERR_JOURNAL_FAILED') && e.message.includes(`process ${child.pid}`),
      );
    } finally {
      child.kill('SIGKILL');
    }
    await once(child, 'exit');
    const after = new Journal({ dir, groupCommitMs: 0 });
    assert.deepEqual(text(await after.open()), ['child'], 'the crashed holder\'s lock is stale: taken over, records replayed');
    assert.equal((await readFile(join(dir, 'LOCK'), 'utf8')).trim(), ownLock());
    await after.close();
  });

  test('a live pid whose start differs from the lock\'s is a reused pid: the lock is stale; the same start holds it', async (t) => {
    const self = processIncarnation(process.pid);
    if (process.platform !== 'linux') return t.skip('process incarnations are read from /proc (Linux only)');
    assert.ok(self !== undefined && /^[0-9a-f-]+:\d+$/.test(self), `incarnation of this process: ${self}`);
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 60000)'], { stdio: 'ignore' });
    try {
      await once(child, 'spawn');
      const live = processIncarnation(child.pid!);
      assert.ok(live !== undefined && live !== self, 'another process has another incarnation');
      const dir = await tempDir();
      await writeFile(join(dir, 'LOCK'), `${child.pid} ${hostname()} ${live}\n`);
      await assert.rejects(new Journal({ dir }).open(), (e) => isPrescientError(e, 'ERR_JOURNAL_FAILED') && e.message.includes(`process ${child.pid}`));
      const [boot] = live.split(':');
      await writeFile(join(dir, 'LOCK'), `${child.pid} ${hostname()} ${boot}:1\n`);
      const journal = new Journal({ dir, groupCommitMs: 0 });
      await journal.open();
      assert.equal((await readFile(join(dir, 'LOCK'), 'utf8')).trim(), ownLock(), 'the reused pid\'s lock was taken over');
      await journal.close();
    } finally {
      child.kill('SIGKILL');
    }
  });

  test('a lock whose holder is a zombie (exited, not reaped) is stale', async (t) => {
    if (process.platform !== 'linux') return t.skip('process states are read from /proc (Linux only)');
    // A short sleep exits in the background after the shell has become `sleep`, which never reaps it: a zombie for
    // 20 s. (A child that exits at once can be reaped by the shell itself before its exec: then it is simply gone.)
    const parent = spawn('sh', ['-c', 'sleep 0.3 & echo $!; exec sleep 20'], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      const [line] = (await once(parent.stdout!, 'data')) as [Buffer];
      const pid = Number(line.toString().trim());
      let state = '';
      // A real process: poll its state, boundedly (at most 3 s).
      for (let i = 0; i < 300 && state !== 'Z'; i++) {
        const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
        state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
        if (state !== 'Z') await new Promise((resolve) => setTimeout(resolve, 10));
      }
      assert.equal(state, 'Z', 'the holder is a zombie');
      const dir = await tempDir();
      await writeFile(join(dir, 'LOCK'), `${pid} ${hostname()} ${processIncarnation(pid)}\n`);
      const journal = new Journal({ dir, groupCommitMs: 0 });
      await journal.open();
      assert.equal((await readFile(join(dir, 'LOCK'), 'utf8')).trim(), ownLock(), 'the zombie\'s lock was taken over');
      await journal.close();
    } finally {
      parent.kill('SIGKILL');
    }
  });

  test('a lock held on another host is never taken over, even when its pid does not run here', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'LOCK'), '999999999 other-host.example\n');
    await assert.rejects(
      new Journal({ dir }).open(),
      (e) => isPrescientError(e, 'ERR_JOURNAL_FAILED') && e.message.includes('other-host.example'),
    );
    assert.equal((await readFile(join(dir, 'LOCK'), 'utf8')).trim(), '999999999 other-host.example', 'the foreign lock stays');
    await writeFile(join(dir, 'LOCK'), `999999999 ${hostname()}\n`);
    const journal = new Journal({ dir, groupCommitMs: 0 });
    await journal.open();
    await journal.close();
  });

  test('a lock file left half-written by a power loss is stale; a failed open releases the lock', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'LOCK'), '');
    const journal = await filled(dir, 1);
    await journal.close();
    await writeFile(join(dir, 'checkpoint'), 'zz');
    await assert.rejects(new Journal({ dir }).open(), (e) => isPrescientError(e, 'ERR_JOURNAL_CORRUPT'));
    assert.ok(!(await readdir(dir)).includes('LOCK'), 'the lock of a failed open is released');
  });
});
