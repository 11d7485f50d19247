/**
 * The journal's small files and file operations: making its directory, the checkpoint (the highest sequence number
 * the origin confirmed, with the highest record version the caller kept beside it, replaced atomically), cutting a torn tail off a segment, and syncing the directory after files come or go.
 */
import { mkdir, open, readFile, rename, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { PrescientError } from '../errors.ts';

/** Name of the checkpoint file in the journal directory. */
export const CHECKPOINT_FILE = 'checkpoint';

/** The error for a journal that cannot be trusted (a bad record before good ones, a damaged checkpoint, ...). */
export const corrupt = (detail: string): PrescientError => new PrescientError('ERR_JOURNAL_CORRUPT', `Journal is corrupt: ${detail}`);

/**
 * The checkpoint in `path`: the confirmed sequence number and the highest version the caller kept with it
 * (`<seq>` or `<seq> <version>`; both 0 when there is no checkpoint yet). @throws ERR_JOURNAL_CORRUPT
 */
export async function readCheckpoint(path: string): Promise<{ seq: number; version: number }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { seq: 0, version: 0 };
    throw error;
  }
  const match = /^(\d+)(?: (\d+))?\s*$/.exec(text);
  const seq = Number(match?.[1]);
  const version = Number(match?.[2] ?? 0);
  if (match === null || !Number.isSafeInteger(seq) || !Number.isSafeInteger(version)) throw corrupt(`checkpoint holds ${JSON.stringify(text.slice(0, 40))}`);
  return { seq, version };
}

/**
 * Replaces the checkpoint with `seq` and `version` (left out when 0, so a checkpoint without one reads as before):
 * temp file, fdatasync, rename (a crash leaves the old or the new one).
 */
export async function writeCheckpoint(dir: string, seq: number, version = 0): Promise<void> {
  const tmp = join(dir, `${CHECKPOINT_FILE}.tmp`);
  const handle = await open(tmp, 'w');
  try {
    await handle.writeFile(version > 0 ? `${seq} ${version}\n` : `${seq}\n`);
    await handle.datasync();
  } finally {
    await handle.close();
  }
  await rename(tmp, join(dir, CHECKPOINT_FILE));
}

/** Cuts `path` to its first `validBytes` bytes (a torn tail after a crash) and syncs it. */
export async function truncateTail(path: string, validBytes: number): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    await handle.truncate(validBytes);
    await handle.datasync();
  } finally {
    await handle.close();
  }
}

/** Makes the directory's entries (files created, renamed or deleted) durable. */
export async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Makes directory `dir` and its missing parents (`mkdir -p`). Not `mkdir(dir, { recursive: true })`: Node's takes
 * ENOENT for "a parent is missing", makes the parent, gets EEXIST, tries `dir` again, and spins for ever where the
 * file system answers ENOENT for a directory it can never hold (/proc, where the kernel says ENOENT, not EPERM, to
 * any mkdir) — an open() that never settles and a thread-pool thread at 100% CPU. Here ENOENT once the parent
 * exists is final.
 * @throws the file system's error (ENOENT, ENOTDIR, EACCES, EROFS...); ENOTDIR when `dir` exists and is not a directory
 */
export async function makeDirectory(dir: string): Promise<void> {
  const path = resolve(dir);
  try {
    await mkdir(path);
    return;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return checkDirectory(path, error);
    const parent = dirname(path);
    if (code !== 'ENOENT' || parent === path) throw error;
  }
  await makeDirectory(dirname(path));
  try {
    await mkdir(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error; // ENOENT again: the parent cannot hold it
    await checkDirectory(path, error);
  }
}

/** Resolves when `path` is a directory; else throws ENOTDIR (the EEXIST `cause` of finding something else there). */
async function checkDirectory(path: string, cause: unknown): Promise<void> {
  if ((await stat(path)).isDirectory()) return;
  throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${path}'`, { cause }), { code: 'ENOTDIR', path });
}
