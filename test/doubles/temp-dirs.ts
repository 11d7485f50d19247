/**
 * Temporary directories for a test file (journals, traces), removed when the file's tests end.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';

/** A function making a fresh directory named `prefix…` under the OS temp dir on each call; all go after the file. */
export function tempDirs(prefix: string): () => Promise<string> {
  const dirs: string[] = [];
  after(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });
  return async () => {
    const dir = await mkdtemp(join(tmpdir(), prefix));
    dirs.push(dir);
    return dir;
  };
}

/** A scratch directory for a test file (removed after its tests) and a function writing a file of `lines` into it. */
export function scratchFiles(prefix: string): (name: string, lines: readonly string[]) => string {
  const scratch = mkdtempSync(join(tmpdir(), prefix));
  after(() => rmSync(scratch, { recursive: true, force: true }));
  return (name, lines) => {
    const path = join(scratch, name);
    writeFileSync(path, `${lines.join('\n')}\n`);
    return path;
  };
}
