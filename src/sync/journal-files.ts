/**
 * The journal's small files and file operations: the checkpoint (the highest sequence number
 * the origin confirmed, with the highest record version the caller kept beside it, replaced atomically), cutting a torn tail off a segment, and syncing the directory after files come or go.
 */
import { open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
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
