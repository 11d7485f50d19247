/**
 * CliIo: where a command writes. `main(argv, io)` takes it so tests can capture output in memory. And
 * `replaceFile`, how a command writes a file it produces (the replay report), so a failed write never leaves it cut.
 */
import { randomBytes } from 'node:crypto';
import { realpath, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export type CliIo = {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
  /** True when stderr is a terminal (progress bars are drawn only then). @default false */
  readonly isTTY?: boolean;
};

/**
 * Writes `text` to `path` all or nothing: into a temporary file beside it, then renamed over it, so a write that
 * fails part way (disk full, a file size limit) leaves the previous file whole instead of truncated. The temporary
 * file is removed when anything fails. A `path` that is a symlink is written through (its target is replaced).
 * @throws the file system's error (ENOSPC, EFBIG, EACCES, ...), as it came
 */
export async function replaceFile(path: string, text: string): Promise<void> {
  const target = await realpath(path).catch(() => path);
  // Same folder, so the rename stays on one file system (atomic); a dot name and a random part, so it neither
  // shows in a listing nor meets another writer's temporary file.
  const temp = join(dirname(target), `.${basename(target)}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
  try {
    await writeFile(temp, text, { flag: 'wx' });
    await rename(temp, target);
  } catch (error) {
    await rm(temp, { force: true }).catch(() => {});
    throw error;
  }
}
