/**
 * The service's cap on origin fetches in flight (`limits.maxInflightFetches`): what a request may start now.
 *
 * Why apart: a request that alone asks for more fetches than the cap can never pass it, so answering it 503
 * "retry shortly" sent well-behaved clients into an endless retry (and an action's prefetch, whose size the models
 * choose, was refused that way on an idle server). Such a request is the client's to change (400); the models'
 * guesses are trimmed to the room left instead of refusing the request that asked for them.
 */
import { PrescientError } from '../errors.ts';

/**
 * Throws unless `count` more fetches fit beside `pending` under `max`.
 * @throws PrescientError ERR_BAD_REQUEST when `count` alone is over `max` (never fits); ERR_OVERLOADED when it does
 *   not fit now
 */
export function checkFetchCapacity(pending: number, count: number, max: number): void {
  if (count > max) {
    throw new PrescientError('ERR_BAD_REQUEST', `The request needs ${count} origin fetches at once; the server allows ${max} (limits.maxInflightFetches): ask for fewer keys`);
  }
  if (pending + count > max) throw new PrescientError('ERR_OVERLOADED', `Too many origin fetches in flight (limit ${max}); retry shortly`);
}

/** How many more fetches fit beside `pending` and `reserved` under `max` (never below 0). */
export function fetchRoom(pending: number, reserved: number, max: number): number {
  return Math.max(0, max - pending - reserved);
}
