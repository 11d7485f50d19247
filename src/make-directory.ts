/**
 * makeDirectory: `mkdir -p` that cannot spin (see the function), for the journal's and the sample store's folders.
 */
import { mkdir, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

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
