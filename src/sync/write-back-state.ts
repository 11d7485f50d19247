/**
 * The lifecycle of a WriteBack, and the error a call gets in a state that cannot serve it.
 *
 * Why a failed `start()` closes the instance rather than letting it start again: the journal is opened once per
 * instance (its lock, and records already taken back by a replay cut short, belong to that attempt), so a second
 * attempt on the same instance would replay into half-built state. The failed start releases the directory; a new
 * WriteBack on it starts cleanly, and the error for a retry here says so instead of "called twice".
 */
import { PrescientError } from '../errors.ts';

/** Where a WriteBack is in its life: `start()` takes 'new' to 'open' (or to 'closed' when it fails). */
export type WriteBackState = 'new' | 'starting' | 'open' | 'closing' | 'closed';

/**
 * The error for `start()` (`isStart`) or a write on a WriteBack in `state`, given why its start failed (undefined
 * when it did not): ERR_NOT_READY before start, ERR_CLOSED once closed (naming the failed start, as `cause`, when
 * that is what closed it), ERR_INVALID_CONFIG for a second `start()`.
 */
export function unusableError(state: WriteBackState, isStart: boolean, startFailure: unknown): PrescientError {
  if (state === 'closed' && startFailure !== undefined) {
    const reason = startFailure instanceof Error ? `${(startFailure as { code?: string }).code ?? startFailure.name}: ${startFailure.message}` : String(startFailure);
    return new PrescientError(
      'ERR_CLOSED',
      `WriteBack is closed: its start() failed (${reason}); an instance whose start failed cannot start again, create a new WriteBack on the directory`,
      { cause: startFailure },
    );
  }
  if (state === 'closed' || state === 'closing') return new PrescientError('ERR_CLOSED', 'WriteBack is closed');
  if (isStart) return new PrescientError('ERR_INVALID_CONFIG', 'WriteBack.start() called twice');
  return new PrescientError('ERR_NOT_READY', 'WriteBack is not started: await start() first');
}
