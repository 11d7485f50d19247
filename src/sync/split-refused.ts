/**
 * splitRefused: find the records an origin refuses inside a batch, by bisection, so the rest still goes through.
 *
 * Why: `putMany` writes a batch in one statement, so one value the origin refuses (ERR_INVALID_VALUE, such as a
 * string PostgreSQL jsonb cannot hold or a key too long for its index; ERR_VALUE_TOO_LARGE) fails the whole batch,
 * and retrying it unchanged fails forever while every later write queues behind it. A batch refused as a whole (its
 * values together over a statement's limit) is split the same way, until its parts are small enough. Halving the
 * batch on each refusal, in order, isolates the refused records with about 2·log2(n) extra calls per refused record,
 * and keeps the records that pass in their original order (the journal is trimmed by prefix, so every part sent
 * must be a prefix of what is left).
 */
import { isPrescientError } from '../errors.ts';

/** True for an error saying the batch's contents are refused, so that resending it unchanged fails the same way. */
export function isRefusal(error: unknown): boolean {
  return isPrescientError(error, 'ERR_INVALID_VALUE') || isPrescientError(error, 'ERR_VALUE_TOO_LARGE');
}

/**
 * Sends `batch` with `send`; when it rejects with a refusal (`isRefusal`), sends the first half then the second, each
 * split the same way, and hands every single item still refused to `refuse` with the error. Parts are sent in
 * order, one at a time.
 * @throws whatever `send` rejects with other than a refusal (parts already sent stay sent)
 */
export async function splitRefused<T>(
  batch: readonly T[],
  send: (part: readonly T[]) => Promise<void>,
  refuse: (item: T, error: unknown) => void,
): Promise<void> {
  try {
    await send(batch);
  } catch (error) {
    if (!isRefusal(error) || batch.length === 0) throw error;
    if (batch.length === 1) {
      refuse(batch[0], error);
      return;
    }
    const half = Math.ceil(batch.length / 2);
    await splitRefused(batch.slice(0, half), send, refuse);
    await splitRefused(batch.slice(half), send, refuse);
  }
}
