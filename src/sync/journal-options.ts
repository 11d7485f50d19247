/**
 * The options of a Journal, resolved once into a frozen shape.
 */
import { type Clock, systemClock } from '../clock.ts';
import { InvalidOptionError } from '../errors.ts';
import { hasMethods, nonNegativeInt, positiveInt } from '../options.ts';

export type JournalOptions = {
  /**
   * Directory of the segment and checkpoint files; created if missing. One open journal per directory: `open()`
   * locks it (a `LOCK` file) and `close()` releases it.
   */
  readonly dir: string;
  /** Timer source for the group commit window. @default systemClock */
  readonly clock?: Clock;
  /**
   * How long (milliseconds) the first append of a group waits for others to join its write + fsync. 0 commits at
   * once; appends arriving while an fsync runs always join the next group, which already batches as many records
   * per fsync as there are concurrent writers (bench/write-back.ts: 0 beat 2 ms at 1, 16 and 256 writers). A
   * window above 0 waits on a Clock timer; systemClock timers are unref'd, so a process with nothing else
   * keeping it alive exits while a put waits out the window. @default 0
   */
  readonly groupCommitMs?: number;
  /** A group is written as soon as it holds this many bytes, without waiting out the window. @default 1 MiB */
  readonly maxGroupBytes?: number;
  /** A segment is closed and a new one started when it reaches this many bytes. @default 16 MiB */
  readonly segmentBytes?: number;
};

export type ResolvedJournalOptions = {
  readonly dir: string;
  readonly clock: Clock;
  readonly groupCommitMs: number;
  readonly maxGroupBytes: number;
  readonly segmentBytes: number;
};

/** Checks and freezes `options`. @throws InvalidOptionError for a missing `dir` or an out-of-range number. */
export function resolveJournalOptions(options: JournalOptions): ResolvedJournalOptions {
  if (typeof options?.dir !== 'string' || options.dir === '') throw new InvalidOptionError('dir', 'a directory path', options?.dir);
  return Object.freeze({
    dir: options.dir,
    clock: options.clock === undefined ? systemClock : hasMethods<Clock>('clock', options.clock, ['now', 'setTimer', 'clearTimer']),
    groupCommitMs: nonNegativeInt('groupCommitMs', options.groupCommitMs, 0),
    maxGroupBytes: positiveInt('maxGroupBytes', options.maxGroupBytes, 1024 * 1024),
    segmentBytes: positiveInt('segmentBytes', options.segmentBytes, 16 * 1024 * 1024),
  });
}
