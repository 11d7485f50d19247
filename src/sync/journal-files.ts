/**
 * The journal's small files and file operations: the checkpoint (the highest sequence number the origin confirmed,
 * replaced atomically), cutting a torn tail off a segment, and syncing the directory after files come or go.
 */
import { open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { PrescientError } from '../errors.ts';

/** Name of the checkpoint file in the journal directory. */
export const CHECKPOINT_FILE = 'checkpoint';

/** The error for a journal that cannot be trusted (a bad record before good ones, a damaged checkpoint, ...). */
export const corrupt = (detail: string): PrescientError => new PrescientError('ERR_JOURNAL_CORRUPT', `Journal is corrupt: ${detail}`);

/** The confirmed sequence number in `path` (0 when there is no checkpoint yet). @throws ERR_JOURNAL_CORRUPT */
export async function readCheckpoint(path: string): Promise<number> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw error;
  }
  const seq = Number(text.trim());
  if (!/^\d+\s*$/.test(text) || !Number.isSafeInteger(seq)) throw corrupt(`checkpoint holds ${JSON.stringify(text.slice(0, 40))}`);
  return seq;
}

/** Replaces the checkpoint with `seq`: temp file, fdatasync, rename (a crash leaves the old or the new one). */
export async function writeCheckpoint(dir: string, seq: number): Promise<void> {
  const tmp = join(dir, `${CHECKPOINT_FILE}.tmp`);
  const handle = await open(tmp, 'w');
  try {
    await handle.writeFile(`${seq}\n`);
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
