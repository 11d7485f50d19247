/**
 * EntryCells: one shared, reference-counted cell per key, pointing to the newest entry the cache stored for it.
 *
 * Why: the shadow catalogs reference the same item from many users; each reference points to the key's cell and the
 * cell to the very `Entry` object the memory tier holds (or held), so an item is stored once however many catalogs
 * name it. The cell is also how a catalog never serves a value older than one the cache knows: the cache reports
 * every entry it stores (`supersede`: the cell now points to the newer entry) and every key it deletes (`drop`: the
 * cell is emptied and leaves the index). Both cost one Map lookup whatever the number of references; references
 * to an emptied cell die lazily, where their owner meets them. We chose this over a key -> set-of-catalogs index,
 * which costs a Set entry per reference (about as much again as the reference) to make invalidation eager, and over
 * a version check against the tier on every read, which cannot tell a deleted key from an evicted one.
 *
 * A cell keeps its entry alive after the memory tier evicted it, so the cells also count those bytes (the owner marks
 * which entries the tier no longer holds) and `trimOutside` kills the cells kept outside longest past a budget.
 */
import type { Entry } from './entry.ts';

/** The cell of one key. */
export type EntryCell<V> = {
  /** The newest entry stored for the key; undefined once the key was deleted or invalidated (the cell is dead). */
  entry: Entry<V> | undefined;
  /** References pointing here; the cell leaves the index at 0. */
  refs: number;
};

/** The live cells by key. Every method is synchronous and O(1) unless said otherwise. */
export class EntryCells<V> {
  readonly #cells = new Map<string, EntryCell<V>>();
  /** Told of an entry kept outside the memory tier that no cell keeps any more (trimmed, or its last reference gone). */
  readonly #onLetGo: ((entry: Entry<V>) => void) | undefined;

  constructor(onLetGo?: (entry: Entry<V>) => void) {
    this.#onLetGo = onLetGo;
  }
  /**
   * Keys whose cell points to an entry the memory tier no longer holds (evicted, or never stored), with its size,
   * oldest first: the bytes the cells alone keep alive, beyond the tier's `maxBytes` (`trimOutside` bounds them).
   */
  readonly #outside = new Map<string, number>();
  #outsideBytes = 0;

  /** Number of live cells (distinct keys referenced). */
  get size(): number {
    return this.#cells.size;
  }

  /** The entry of the live cell of `key`, if any. */
  entry(key: string): Entry<V> | undefined {
    return this.#cells.get(key)?.entry;
  }

  /**
   * Takes one reference to the live cell of `entry.key` (created if needed), which then points to `entry` unless it
   * points to a newer version that has not expired at `now`.
   */
  acquire(entry: Entry<V>, now: number): EntryCell<V> {
    let cell = this.#cells.get(entry.key);
    if (cell === undefined) {
      cell = { entry, refs: 0 };
      this.#cells.set(entry.key, cell);
    } else if (takes(cell, entry, now)) {
      cell.entry = entry;
    }
    cell.refs++;
    return cell;
  }

  /** Gives back one reference to `cell` (of `key`); the last one removes a live cell from the index. */
  release(key: string, cell: EntryCell<V>): void {
    cell.refs--;
    if (cell.refs <= 0 && this.#cells.get(key) === cell) {
      this.#cells.delete(key);
      const wasOutside = this.#outside.has(key);
      this.markHeld(key);
      if (wasOutside && cell.entry !== undefined) this.#onLetGo?.(cell.entry);
    }
  }

  /**
   * The cache stored `entry` at `now`: a live cell of its key points to it unless it holds a newer version that has
   * not expired. An expired one is dead data the cache itself replaced with the origin's record (a local `set`
   * above the origin's version, gone at its TTL); keeping it would leave every catalog naming the key on a copy
   * too old to serve, and each of their reads going to the origin.
   */
  supersede(entry: Entry<V>, now: number): void {
    const cell = this.#cells.get(entry.key);
    if (cell !== undefined && takes(cell, entry, now)) cell.entry = entry;
  }

  /** The key was deleted or invalidated: its cell dies and leaves the index. True when there was one. */
  drop(key: string): boolean {
    const cell = this.#cells.get(key);
    if (cell === undefined) return false;
    cell.entry = undefined;
    this.#cells.delete(key);
    this.markHeld(key);
    return true;
  }

  /** Bytes of the entries the cells point to that the memory tier does not hold (as marked). */
  get outsideBytes(): number {
    return this.#outsideBytes;
  }

  /**
   * The live cell of `key` points to an entry the memory tier does not hold: its bytes count as outside (the size of
   * the entry it points to now, when it was counted already for an earlier one; its place in the order stays).
   */
  markOutside(key: string): void {
    const entry = this.#cells.get(key)?.entry;
    if (entry === undefined) return;
    const counted = this.#outside.get(key);
    this.#outside.set(key, entry.sizeBytes);
    this.#outsideBytes += entry.sizeBytes - (counted ?? 0);
  }

  /** `key`'s entry is held by the memory tier again (or its cell is gone): its bytes no longer count as outside. */
  markHeld(key: string): void {
    const size = this.#outside.get(key);
    if (size === undefined) return;
    this.#outside.delete(key);
    this.#outsideBytes -= size;
  }

  /**
   * Kills the cells kept longest outside the memory tier until their bytes are at most `maxBytes` (their
   * references die lazily, as for a deleted key). Returns the number of cells killed.
   */
  trimOutside(maxBytes: number): number {
    let killed = 0;
    while (this.#outsideBytes > maxBytes) {
      if (this.#outside.size === 0) {
        this.#outsideBytes = 0; // sizes may be fractional: no drift left behind
        break;
      }
      const oldest = this.#outside.keys().next().value as string;
      const entry = this.#cells.get(oldest)?.entry;
      if (this.drop(oldest)) {
        killed++; // drop forgets its bytes
        if (entry !== undefined) this.#onLetGo?.(entry);
      } else this.markHeld(oldest);
    }
    return killed;
  }

  /** Keys of live cells that start with `prefix` or whose entry carries `tag`. O(size). */
  keysMatching(prefix: string | undefined, tag: string | undefined): string[] {
    const keys: string[] = [];
    for (const [key, { entry }] of this.#cells) {
      if (entry === undefined) continue;
      if ((prefix !== undefined && key.startsWith(prefix)) || (tag !== undefined && entry.tags.includes(tag))) keys.push(key);
    }
    return keys;
  }

  /**
   * Bytes (`sizeBytes`) of the entries referenced, and of those `isHeldElsewhere` says nobody else keeps (entries
   * the references alone keep alive). O(size).
   */
  bytes(isHeldElsewhere: (entry: Entry<V>) => boolean): { readonly total: number; readonly only: number } {
    let total = 0;
    let only = 0;
    for (const { entry } of this.#cells.values()) {
      if (entry === undefined) continue;
      total += entry.sizeBytes;
      if (!isHeldElsewhere(entry)) only += entry.sizeBytes;
    }
    return { total, only };
  }
}

/** Whether `cell` should point to `entry`: it is empty, holds an equal or older version, or one expired at `now`. */
function takes<V>(cell: EntryCell<V>, entry: Entry<V>, now: number): boolean {
  const held = cell.entry;
  return held === undefined || entry.version >= held.version || now >= held.expiresAt;
}
