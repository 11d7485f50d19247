/**
 * withDeadline: a promise raced against a deadline on the injected clock.
 *
 * Why: cancelling a statement (or a request) asks the other side to stop, but when the server or the network has
 * stopped answering, the cancel is never acknowledged and the original promise never settles: the only bound on
 * the caller's wait is to stop waiting. The work itself goes on (its own resources, a connection, are freed when
 * the driver gives up on them); its late result or error is dropped.
 */
import type { Clock } from '../clock.ts';

/**
 * Settles like `work`, or rejects with `onTimeout()`'s error once `timeoutMs` passed first (then `onTimeout` also
 * runs whatever side effect it carries, such as sending a cancel). 0 means no deadline. The timer is cleared when
 * `work` settles.
 */
export function withDeadline<T>(clock: Clock, timeoutMs: number, work: Promise<T>, onTimeout: () => Error): Promise<T> {
  if (timeoutMs <= 0) return work;
  return new Promise<T>((resolve, reject) => {
    const timer = clock.setTimer(timeoutMs, () => reject(onTimeout()));
    work.then(resolve, reject).finally(() => clock.clearTimer(timer));
  });
}
