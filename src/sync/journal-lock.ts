/**
 * JournalLock: the exclusive claim of one process on a journal directory.
 *
 * Why: a second process opening the same journal would replay the first one's records, take overlapping sequence
 * numbers and write a checkpoint past records the first has not flushed, so acknowledged writes would be lost.
 * An advisory `flock` is not reachable from Node without a native module, so the lock is a `LOCK` file naming the
 * holder's pid, created atomically: the pid is written to a private temporary file which is then hard-linked to
 * `LOCK` (link fails with EEXIST when the name exists), so `LOCK` never exists half-written.
 *
 * A `LOCK` left by a crash (SIGKILL, power loss) must not block the restart: its pid is probed with
 * `process.kill(pid, 0)`, and a pid that no longer runs (ESRCH) or a file that names no pid (garbage after a
 * power loss) is taken over. The stale file is first renamed to a name private to this process and read back, so
 * when two processes take over the same stale lock at once only the one that moved the stale file goes on; the
 * other sees the live holder on its next attempt. Inside one process a directory is held at most once (a set of
 * real paths, so a symlink does not make it a second one), and a `LOCK` naming this process's own pid for a directory it does not hold (a copied journal)
 * is stale. A pid is reused, often soon inside a container, so on Linux the file also names the holder's
 * incarnation — the kernel's boot id and the process's start time (`/proc/<pid>/stat`, field 22) — and a live pid
 * whose incarnation differs is an unrelated process: the lock is stale, as is one whose holder is a zombie (exited,
 * not yet reaped by its parent). Pids are compared in this process's pid namespace: two containers sharing a
 * volume must not share a host name too, or each may take the other's lock as stale. Where /proc cannot tell (another OS, a
 * lock written without it), a live pid keeps the lock until it exits or the file is removed by hand; the error
 * names the pid and the file. The file also names the host: a lock held on
 * another host (a volume shared between containers or machines, where a pid means nothing here) is never taken
 * over, only removed by hand.
 */
import { readFileSync } from 'node:fs';
import { link, open, readFile, realpath, rename, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { PrescientError } from '../errors.ts';

/** The lock file's name inside a journal directory. */
export const LOCK_FILE = 'LOCK';

/** Attempts at taking the lock when a stale one is found (each attempt either takes it or meets a live holder). */
const MAX_ATTEMPTS = 5;

/** Directories (real paths, symlinks resolved) this process holds a lock on. */
const held = new Set<string>();

/** A held journal lock. `release()` removes the `LOCK` file; it is idempotent. */
export type JournalLock = { readonly path: string; release(): Promise<void> };

/**
 * Takes the exclusive lock of journal directory `dir` (which must exist) for this process.
 * @throws PrescientError ERR_JOURNAL_FAILED naming the holder when a live process (or an open Journal of this
 *   process) holds it, or when the lock file cannot be created or read
 */
export async function acquireJournalLock(dir: string): Promise<JournalLock> {
  // The real path: one directory reached through a symlink must still be held once, or a second Journal of this
  // process would find its own pid in LOCK, take it for a copied journal's stale lock, and open it too.
  const key = await realpath(dir).catch((error: unknown) => {
    throw lockError(`Cannot lock the journal in ${dir}: ${error instanceof Error ? error.message : String(error)}`, error);
  });
  const path = join(dir, LOCK_FILE);
  if (held.has(key)) throw lockError(`Journal ${dir} is already open in this process (pid ${process.pid})`);
  held.add(key);
  try {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      if (await tryCreate(dir, path)) return lockHandle(key, path);
      const text = await readLock(path);
      if (text === undefined) continue;
      const { pid, host, incarnation } = parseLock(text);
      // A holder on another host (a shared volume, another container) cannot be probed: never take its lock.
      if (pid !== undefined && host !== undefined && host !== hostname()) {
        throw lockError(`Journal ${dir} is locked by process ${pid} on host ${host} (${path}); if that host is gone for good, remove ${path} by hand`);
      }
      if (pid !== undefined && pid !== process.pid && isAlive(pid) && !isDefunct(pid) && !isOtherIncarnation(pid, incarnation)) {
        throw lockError(`Journal ${dir} is locked by process ${pid} (${path}); one process per journal directory`);
      }
      await takeOver(dir, path, text);
    }
    throw lockError(`Journal ${dir}: could not take the lock ${path} after ${MAX_ATTEMPTS} attempts (contended)`);
  } catch (error) {
    held.delete(key);
    if (error instanceof PrescientError) throw error;
    throw lockError(`Cannot lock the journal in ${dir}: ${error instanceof Error ? error.message : String(error)}`, error);
  }
}

function lockHandle(key: string, path: string): JournalLock {
  let isReleased = false;
  return {
    path,
    async release() {
      if (isReleased) return;
      isReleased = true;
      held.delete(key);
      await unlink(path).catch((error: unknown) => {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      });
    },
  };
}

/** Creates `LOCK` holding this pid, complete or not at all; false when it exists. */
async function tryCreate(dir: string, path: string): Promise<boolean> {
  const tmp = join(dir, `${LOCK_FILE}.${process.pid}.tmp`);
  const handle = await open(tmp, 'w');
  try {
    const self = processIncarnation(process.pid);
    await handle.writeFile(`${process.pid} ${hostname()}${self === undefined ? '' : ` ${self}`}\n`);
    await handle.datasync();
  } finally {
    await handle.close();
  }
  try {
    await link(tmp, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}

/** The lock file's text, or undefined when it vanished meanwhile (its holder released it). */
async function readLock(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Moves a stale `LOCK` (holding `staleText`) aside and deletes it; puts back a live one moved by a race. */
async function takeOver(dir: string, path: string, staleText: string): Promise<void> {
  const aside = join(dir, `${LOCK_FILE}.${process.pid}.stale`);
  try {
    await rename(path, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  const moved = await readFile(aside, 'utf8');
  if (moved !== staleText) {
    // Another process took the stale lock over between our read and our rename: its lock goes back.
    await link(aside, path).catch(() => undefined);
  }
  await unlink(aside);
}

/**
 * The holder named by a lock file: `<pid> <hostname> [<incarnation>]` (or a bare pid); garbage names no one (a
 * stale lock).
 */
function parseLock(text: string): { pid?: number; host?: string; incarnation?: string } {
  const match = /^(\d+)(?: (\S+))?(?: (\S+))?\s*$/.exec(text);
  const pid = match === null ? NaN : Number(match[1]);
  if (!Number.isSafeInteger(pid) || pid <= 0) return {};
  return { pid, host: match![2], incarnation: match![3] };
}

/** The state letter and start time (clock ticks since boot) of process `pid` from /proc, or undefined. */
function procStat(pid: number): { state: string; start: string } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: count fields after its closing one.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const start = fields[22 - 3];
    return start === undefined || !/^\d+$/.test(start) ? undefined : { state: fields[0], start };
  } catch {
    return undefined;
  }
}

/**
 * Which run of process `pid` this is on this machine — `<boot id>:<start time in clock ticks since boot>` — or
 * undefined where /proc cannot tell (not Linux, the process is gone, /proc is hidden).
 */
export function processIncarnation(pid: number): string | undefined {
  try {
    const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    const stat = procStat(pid);
    return boot === '' || stat === undefined ? undefined : `${boot}:${stat.start}`;
  } catch {
    return undefined;
  }
}

/** True when /proc shows `pid` as a zombie or dead (it answers signal 0 but holds nothing any more). */
function isDefunct(pid: number): boolean {
  const state = procStat(pid)?.state;
  return state === 'Z' || state === 'X';
}

/** True when the lock names an incarnation of `pid` and the process running as `pid` now is provably another. */
function isOtherIncarnation(pid: number, incarnation: string | undefined): boolean {
  if (incarnation === undefined) return false;
  const now = processIncarnation(pid);
  return now !== undefined && now !== incarnation;
}

/** True when a process `pid` runs (EPERM: it runs under another user). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function lockError(message: string, cause?: unknown): PrescientError {
  return new PrescientError('ERR_JOURNAL_FAILED', message, cause === undefined ? undefined : { cause });
}
