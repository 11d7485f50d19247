/**
 * ChangeBatch: the bookkeeping of the change feed, apart from any connection. It coalesces notifications per key,
 * decides per change whether the target needs it (a version not newer than the one held is ignored), applies a
 * batch in one `invalidate` call and one `refresh` call, each with the changes' versions (so only copies up to
 * them are removed; none for a hard DELETE, which removes every version), and keeps the watermark.
 *
 * Why a watermark with holds: catch-up after a gap reads `version > watermark` (minus the feed's
 * `catchUpLookback`, for rows committed late with lower versions), so the watermark may only pass
 * a version once that change and every one below it was applied. It is the highest applied version, held below
 * every change still pending or in flight (a failed batch goes back to pending) and at the position of a catch-up
 * that is owed, so a failure anywhere never lets a later success skip the changes it left behind.
 */
import type { Clock } from '../clock.ts';
import type { AppliedChange, ChangeFeedMode, ChangeRecord, ChangeTarget } from './change-target.ts';

/** A change waiting to be applied. `atMs` is the trigger's clock reading, when the notification carried it. */
export type PendingChange = {
  readonly version: number;
  readonly isDeleted: boolean;
  /** A hard DELETE: the version is the row's last one, so a held entry at that same version is stale too. */
  readonly isHardDelete: boolean;
  /** A TRUNCATE (held under the key '', which no cache holds): every key goes (`ChangeTarget.invalidateAll`). */
  readonly isTruncate?: boolean;
  readonly atMs: number | undefined;
};

/**
 * A parsed notification; `key` is undefined when the trigger left it out (too long for NOTIFY), '' for a TRUNCATE;
 * `table` is the bare name of the table it came from (undefined from a trigger of an older release).
 */
export type ParsedChange = PendingChange & { readonly key: string | undefined; readonly table: string | undefined };

/**
 * Parses a trigger payload (`{"tbl"?, "key", "version", "at"?, "deleted"?, "op"?}`, see sql/change-notify.sql, or
 * `{"tbl", "op": "truncate", "version", "at"}`, sql/truncate-notify.sql).
 * Returns undefined for anything else: a bad payload is dropped and counted, never thrown.
 */
export function parseChange(payload: string): ParsedChange | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(payload);
  } catch {
    return undefined;
  }
  if (typeof raw !== 'object' || raw === null) return undefined;
  const { key, version, at, deleted, op, tbl } = raw as Record<string, unknown>;
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 0) return undefined;
  if (tbl !== undefined && typeof tbl !== 'string') return undefined;
  const atMs = typeof at === 'number' && Number.isFinite(at) ? at : undefined;
  if (op === 'truncate') return { key: '', table: tbl, version, isDeleted: true, isHardDelete: true, isTruncate: true, atMs };
  if (key !== undefined && (typeof key !== 'string' || key.length === 0)) return undefined;
  return {
    key,
    table: tbl,
    version,
    isDeleted: deleted === true,
    isHardDelete: op === 'delete',
    atMs,
  };
}

/** Pending changes, the apply step and the watermark of one feed. */
export class ChangeBatch {
  readonly #clock: Clock;
  #pending = new Map<string, PendingChange>();
  readonly #inFlight = new Set<Map<string, PendingChange>>();
  #highestApplied: number;
  #watermark: number;
  #hold: number | undefined;
  #applied = 0;
  #ignored = 0;
  #batches = 0;
  #lastLagMs: number | undefined;

  constructor(clock: Clock, fromVersion: number) {
    this.#clock = clock;
    this.#highestApplied = fromVersion;
    this.#watermark = fromVersion;
  }

  /** Every change at or below this version has been applied. */
  get watermark(): number {
    return this.#watermark;
  }

  get pendingCount(): number {
    return this.#pending.size;
  }

  /** Sets the watermark outright (the start position). */
  resetWatermark(version: number): void {
    this.#highestApplied = version;
    this.#watermark = version;
  }

  /** Keeps the watermark at or below `version` (a catch-up owed from there); undefined lifts the hold. */
  holdAt(version: number | undefined): void {
    this.#hold = version;
    this.#advance();
  }

  /** Adds a notified change, merged with one pending for the same key (the newer version wins). */
  add(key: string, change: PendingChange): void {
    merge(this.#pending, key, change);
  }

  /** Takes every pending change, for one apply. */
  take(): Map<string, PendingChange> {
    const taken = this.#pending;
    this.#pending = new Map();
    return taken;
  }

  /** A catch-up page as changes, one per key (the highest version). */
  fromRecords(records: readonly ChangeRecord[]): Map<string, PendingChange> {
    const taken = new Map<string, PendingChange>();
    for (const r of records) {
      const change = r.isTruncate === true
        ? { version: r.version, isDeleted: true, isHardDelete: true, isTruncate: true, atMs: undefined }
        : r.removedVersion === undefined
          ? { version: r.version, isDeleted: r.deleted === true, isHardDelete: false, atMs: undefined }
          : { version: r.removedVersion, isDeleted: true, isHardDelete: true, atMs: undefined };
      merge(taken, r.key, change);
    }
    return taken;
  }

  /**
   * Applies `taken` to `target`: a TRUNCATE first (`invalidateAll`), then changes not newer than the held version
   * are ignored, the rest invalidated (or refreshed, in refresh mode, when held and not deleted) up to their
   * version (every version for a hard DELETE), in one call each. Resolves with a function that lists what was done
   * (built only when asked). Rejects with the target's error, from any of its methods (`peekVersion` too);
   * notified changes then go back to pending, so they are retried and hold the watermark below them.
   */
  async apply(
    taken: Map<string, PendingChange>,
    target: ChangeTarget,
    mode: ChangeFeedMode,
    source: 'notify' | 'catch-up',
  ): Promise<() => AppliedChange[]> {
    if (taken.size === 0) return () => [];
    const invalidate: string[] = [];
    const refresh: string[] = [];
    const invalidateVersions: Array<number | undefined> = [];
    const refreshVersions: Array<number | undefined> = [];
    let maxVersion = -1;
    let oldestAtMs = Infinity;
    let isTruncated = false;
    this.#inFlight.add(taken);
    try {
      for (const [key, c] of taken) {
        if (c.version > maxVersion) maxVersion = c.version;
        if (c.atMs !== undefined && c.atMs < oldestAtMs) oldestAtMs = c.atMs;
        if (c.isTruncate === true) {
          isTruncated = true;
          continue;
        }
        const held = target.peekVersion(key);
        if (held !== undefined && (c.isHardDelete ? held > c.version : held >= c.version)) continue;
        // A hard DELETE carries the row's last version, not a new one: every copy goes, whatever its version.
        const upTo = c.isHardDelete ? undefined : c.version;
        if (mode === 'refresh' && held !== undefined && !c.isDeleted && target.refresh !== undefined) {
          refresh.push(key);
          refreshVersions.push(upTo);
        } else {
          invalidate.push(key);
          invalidateVersions.push(upTo);
        }
      }
      if (isTruncated) await target.invalidateAll?.();
      await Promise.all([
        invalidate.length > 0 && target.invalidate(invalidate, invalidateVersions),
        refresh.length > 0 && target.refresh?.(refresh, refreshVersions),
      ]);
    } catch (error) {
      if (source === 'notify') for (const [key, c] of taken) merge(this.#pending, key, c);
      throw error;
    } finally {
      this.#inFlight.delete(taken);
    }
    const now = this.#clock.now();
    const done = invalidate.length + refresh.length + (isTruncated ? 1 : 0);
    if (done > 0) this.#batches++;
    this.#applied += done;
    this.#ignored += taken.size - done;
    if (source === 'notify' && oldestAtMs !== Infinity) this.#lastLagMs = Math.max(0, now - oldestAtMs);
    if (maxVersion > this.#highestApplied) this.#highestApplied = maxVersion;
    this.#advance();
    return () => {
      const refreshed = new Set(refresh);
      const invalidated = new Set(invalidate);
      return [...taken].map(([key, c]) => ({
        key,
        version: c.version,
        action: c.isTruncate === true ? 'invalidated-all' : refreshed.has(key) ? 'refreshed' : invalidated.has(key) ? 'invalidated' : 'ignored',
        lagMs: c.atMs === undefined ? undefined : Math.max(0, now - c.atMs),
      }));
    };
  }

  /** Counters: keys applied, changes ignored as not newer, target calls, last commit-to-apply lag. */
  counts(): { applied: number; ignored: number; batches: number; lastLagMs: number | undefined } {
    return { applied: this.#applied, ignored: this.#ignored, batches: this.#batches, lastLagMs: this.#lastLagMs };
  }

  #advance(): void {
    let cap = this.#highestApplied;
    if (this.#hold !== undefined && this.#hold < cap) cap = this.#hold;
    for (const c of this.#pending.values()) if (c.version - 1 < cap) cap = c.version - 1;
    for (const batch of this.#inFlight) for (const c of batch.values()) if (c.version - 1 < cap) cap = c.version - 1;
    if (cap > this.#watermark) this.#watermark = cap;
  }
}

/**
 * Puts `change` into `into`, merged with the one held for `key`: the newer version wins; a tie keeps both flags;
 * a TRUNCATE (key '') stays one whichever wins.
 */
function merge(into: Map<string, PendingChange>, key: string, change: PendingChange): void {
  const held = into.get(key);
  let merged: PendingChange;
  if (held === undefined) merged = change;
  else if (change.version > held.version) merged = { ...change, atMs: minAt(held.atMs, change.atMs) };
  else if (change.version === held.version) {
    merged = {
      version: held.version,
      isDeleted: held.isDeleted || change.isDeleted,
      isHardDelete: held.isHardDelete || change.isHardDelete,
      atMs: minAt(held.atMs, change.atMs),
    };
  } else merged = held;
  if (held?.isTruncate === true || change.isTruncate === true) merged = { ...merged, isDeleted: true, isHardDelete: true, isTruncate: true };
  into.set(key, merged);
}

function minAt(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined ? b : b === undefined ? a : Math.min(a, b);
}
