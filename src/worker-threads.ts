/**
 * Worker threads for TypeScript modules, shared by the simulator's parallel runs and the off-thread models.
 *
 * From the sources (tests, `prescient` through tsx) a worker's module is TypeScript loaded through tsx. A worker does
 * not inherit a loader registered through tsx's API (as bin/prescient.js registers it), so the worker registers tsx
 * itself before importing its module; registering again where `--import tsx` already did is harmless. From the built
 * package (dist/, plain Node) the worker's module is the compiled JavaScript beside the caller, started as it is.
 */
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { Worker, type ResourceLimits } from 'node:worker_threads';

/**
 * The module `name` in the caller's folder, with the caller's own extension: `.ts` from the sources, `.js` from the
 * built package. `base` is the caller's `import.meta.url`.
 */
export function moduleBeside(base: string, name: string): URL {
  return new URL(`./${name}${base.endsWith('.ts') ? '.ts' : '.js'}`, base);
}

/** Starts a worker thread on the module `entry` (a file URL, see {@link moduleBeside}), with `workerData` and optional heap limits. */
export function startTsWorker(entry: URL, workerData: unknown, resourceLimits?: ResourceLimits): Worker {
  const options = { workerData, ...(resourceLimits === undefined ? {} : { resourceLimits }) };
  if (!entry.pathname.endsWith('.ts')) return new Worker(entry, options);
  const tsx = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); });`;
  return new Worker(bootstrap, { eval: true, ...options });
}

/**
 * Lowers the scheduling priority of the calling thread to `nice` (19: the lowest), so that on a busy machine the
 * kernel runs it only when the request thread has nothing to do. Linux only (a thread's id is read from
 * /proc/thread-self); returns false where that is not possible, and the thread keeps its priority.
 */
export function lowerThreadPriority(nice = 19): boolean {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (!Number.isInteger(tid) || tid <= 0) return false;
    setPriority(tid, nice);
    return true;
  } catch {
    return false;
  }
}
