/**
 * The journal directory is made, missing parents included, or refused at once with a coded error. Under /proc a
 * directory can never be made, and the kernel answers ENOENT (not EPERM) for it; Node's `mkdir(dir, { recursive })`
 * takes ENOENT for "parent missing", makes the parent (EEXIST), tries again, and spins for ever: an `open()` that
 * never settles and a thread-pool thread at 100% CPU. Linux only for the /proc cases (elsewhere there is no /proc).
 */
import assert from 'node:assert/strict';
import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { VirtualClock } from '../../src/clock.ts';
import { isPrescientError } from '../../src/errors.ts';
import { MapOrigin } from '../../src/origin/function-origin.ts';
import { Journal } from '../../src/sync/journal.ts';
import { WriteBack } from '../../src/sync/write-back.ts';
import { tempDirs } from '../doubles/temp-dirs.ts';

const tempDir = tempDirs('prescient-journal-dir-');
const isLinux = process.platform === 'linux';

/** True when `error` is ERR_JOURNAL_FAILED whose cause has errno `code`. */
function failedWith(code: string): (error: unknown) => boolean {
  return (error) => isPrescientError(error, 'ERR_JOURNAL_FAILED') && (error.cause as NodeJS.ErrnoException | undefined)?.code === code;
}

describe('Journal directory', () => {
  test('a journalDir under /proc that does not exist fails open() at once with ERR_JOURNAL_FAILED (ENOENT)', { timeout: 10_000, skip: !isLinux }, async () => {
    for (const dir of ['/proc/self/does-not-exist/journal', '/proc/does-not-exist', `/proc/${process.pid}/does-not-exist/a/b`]) {
      await assert.rejects(new Journal({ dir }).open(), failedWith('ENOENT'), dir);
    }
  });

  test('a journalDir that is an existing /proc directory fails open() at once: no file can be made there', { timeout: 10_000, skip: !isLinux }, async () => {
    await assert.rejects(new Journal({ dir: '/proc/self' }).open(), (error: unknown) => isPrescientError(error, 'ERR_JOURNAL_FAILED'));
  });

  test("a WriteBack whose dir is under /proc: start() rejects with ERR_JOURNAL_FAILED, and the journal's directory can be retried elsewhere", { timeout: 10_000, skip: !isLinux }, async () => {
    const clock = new VirtualClock(1_000_000);
    const wb = new WriteBack<string>({ origin: new MapOrigin<string>(), dir: '/proc/self/does-not-exist/journal', clock, groupCommitMs: 0 });
    await assert.rejects(wb.start(), failedWith('ENOENT'));
    await wb.close();
  });

  test('missing parents are made, an existing directory is used, and a path through a file is refused with ERR_JOURNAL_FAILED', { timeout: 10_000 }, async () => {
    const root = await tempDir();
    const nested = join(root, 'a', 'b', 'c');
    const journal = new Journal({ dir: nested });
    assert.deepEqual(await journal.open(), []);
    await journal.append(Buffer.from('x'));
    await journal.close();
    assert.ok((await stat(nested)).isDirectory());
    const again = new Journal({ dir: nested });
    assert.equal((await again.open()).length, 1, 'the existing directory is reopened with its record');
    await again.close();
    const file = join(root, 'plain-file');
    await writeFile(file, 'not a directory');
    await assert.rejects(new Journal({ dir: file }).open(), (error: unknown) => isPrescientError(error, 'ERR_JOURNAL_FAILED'));
    await assert.rejects(new Journal({ dir: join(file, 'journal') }).open(), failedWith('ENOTDIR'));
  });
});
