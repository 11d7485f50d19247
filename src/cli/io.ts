/**
 * CliIo: where a command writes. `main(argv, io)` takes it so tests can capture output in memory. And
 * `replaceFile`, how a command writes a file it produces (the replay report), so a failed write never leaves it cut.
 */
import { randomBytes } from 'node:crypto';
import { chmod, lstat, realpath, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export type CliIo = {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
  /** True when stderr is a terminal (progress bars are drawn only then). @default false */
  readonly isTTY?: boolean;
};

/**
 * How `replaceFile` writes `path`: `inPlace` for what is not a regular file (a device such as /dev/stdout, a FIFO, a
 * symlink whose target does not exist yet, which writing through creates); otherwise through a temporary file
 * renamed over `target` (the regular file a symlink points to, or `path` when nothing is there), keeping its `mode`.
 * @throws the file system's error for a path that cannot be looked at (EACCES, ENOTDIR, ...)
 */
export async function fileTarget(path: string): Promise<{ readonly inPlace: true } | { readonly inPlace: false; readonly target: string; readonly mode: number | undefined }> {
  let target: string;
  try {
    target = await realpath(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    // Nothing there, or a link to nothing (a dangling symlink, or /dev/stdout on a pipe: "pipe:[N]").
    const link = await lstat(path).catch(() => undefined);
    return link === undefined ? { inPlace: false, target: path, mode: undefined } : { inPlace: true };
  }
  const found = await stat(target);
  return found.isFile() ? { inPlace: false, target, mode: found.mode & 0o7777 } : { inPlace: true };
}

/**
 * Writes `text` to `path` all or nothing: into a temporary file beside it, then renamed over it, so a write that
 * fails part way (disk full, a file size limit) leaves the previous file whole instead of truncated; the file keeps
 * its mode. The temporary file is removed when anything fails. A `path` that is a symlink is written through (its
 * target is replaced). What is not a regular file (a device, a FIFO, a link to a file not there yet) is written in
 * place, as a plain write would: a rename would put a regular file where the device or the link was.
 * @throws the file system's error (ENOSPC, EFBIG, EACCES, ...), as it came
 */
export async function replaceFile(path: string, text: string): Promise<void> {
  const how = await fileTarget(path);
  if (how.inPlace) {
    await writeFile(path, text);
    return;
  }
  const { target, mode } = how;
  // Same folder, so the rename stays on one file system (atomic); a dot name and a random part, so it neither
  // shows in a listing nor meets another writer's temporary file.
  const temp = join(dirname(target), `.${basename(target)}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
  try {
    await writeFile(temp, text, { flag: 'wx' });
    if (mode !== undefined) await chmod(temp, mode);
    await rename(temp, target);
  } catch (error) {
    await rm(temp, { force: true }).catch(() => {});
    throw error;
  }
}
