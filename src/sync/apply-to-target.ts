/**
 * applyToTarget: hands a record a WriteBack took (acknowledged, replayed, declined or refused) to its `target`, the
 * cache in front of it.
 *
 * Why: the target must never go on serving a copy older than an acknowledged write. So a tombstone, or any record
 * when a conflict resolver merges writes (the value the origin will hold is not the value written), deletes the
 * target's copies up to the record's version, and a `set` the target refuses (throws or rejects: over the cache's
 * `maxEntryBytes`, a tier down) falls back to that delete. Calls are not awaited, so a slow target cannot hold up a
 * write; failures are logged.
 */
import type { OriginRecord } from '../origin/origin.ts';
import type { WriteBackLogger, WriteBackTarget } from './write-back-options.ts';

/** Stores `record` in `target` (or deletes its copies up to the record's version, see above); never throws. */
export function applyToTarget<V>(
  target: WriteBackTarget<V>,
  { key, value, version, deleted }: OriginRecord<V>,
  isMerged: boolean,
  logger: WriteBackLogger | undefined,
): void {
  const remove = (): void => call(logger, key, 'delete', () => target.delete(key, { maxVersion: version }));
  if (deleted === true || isMerged) remove();
  else call(logger, key, 'set', () => target.set(key, value, { version }), remove);
}

/** Runs a target call without waiting for it; on a throw or rejection logs it, then runs `onFailure`. */
function call(logger: WriteBackLogger | undefined, key: string, method: 'set' | 'delete', run: () => unknown, onFailure?: () => void): void {
  const failed = (error: unknown): void => {
    logger?.warn({ key, method, err: error }, `write-back: target ${method} failed${onFailure === undefined ? '' : '; deleting its copy instead'}`);
    onFailure?.();
  };
  try {
    const done = run();
    if (done instanceof Promise) done.catch(failed);
  } catch (error) {
    failed(error);
  }
}
