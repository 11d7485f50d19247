/**
 * applyNotice: what a Cache does with another node's write notice (write-bus.ts) — drop the local copies the write
 * made stale, in the memory tier and the shadow catalogs, and leave the shared tier to the writer.
 *
 * Why the floors differ from a local delete's: the writer has already removed or replaced the shared tier's copies,
 * so a receiver must not refuse the shared copies that come next. A local delete of every version refuses shared
 * copies up to the version it held for 30 s (VersionFloors.noteDeleted); a receiver doing that refused the writer's
 * next write whenever its own old copy had a version as high (or held none, which refuses every version), loaded
 * the origin's older row instead and cached it for its TTL. So a receiver takes the writer's floors: a write at v
 * (copies below v are stale, and its own delete window on the key ends), a delete up to m, a delete of every
 * version the writer held up to `held` (none when it held nothing; an earlier floor ends, since versions may start
 * over after it); a delete below v (`under`) leaves the floor v the deleting node keeps; a prefix ends the floors
 * under it; `all` (a gap) only drops local copies; a tag drops them as a local delete would. The shared tier's copies
 * are the writer's: it lists a tag's keys through the tier's tag index (or, when the listing fails, distrusts and
 * clears the tier, then announces `all`). A receiver removing shared copies itself raced the writer's next write of
 * the key, which may take a lower version after the delete, and removed that acknowledged write; so a receiver does
 * so only for a tier that cannot list tags (where the writer could not find them), best effort. Replies the shared
 * tier cached in this process (Redis's client-side cache) go for the keys named, all of them for a prefix, a tag or `all`.
 */
import type { Loader } from './loader.ts';
import type { LocalStores } from './tier-writer.ts';
import type { WriteNotice } from './write-bus.ts';

/** What a notice reaches: the local stores, the loads in flight, the longest key the cache holds. */
export type NoticeStores<V> = LocalStores<V> & {
  readonly loader: Loader<V>;
  readonly options: { readonly maxKeyLength: number };
  /** Where a shared-tier delete that failed goes (it runs after the notice was applied). */
  readonly onBusFault: (error: unknown) => void;
};

/** The highest version of `key` held here (memory tier or a shadow catalog), 0 when none. */
export function heldVersion<V>(w: LocalStores<V>, key: string): number {
  return Math.max(w.memory.versionOf(key) ?? 0, w.shadow?.held(key)?.version ?? 0);
}

/** Applies `notice` to the local copies; keys this cache refuses (too long) are not held here and are skipped. Returns how many copies went. */
export function applyNotice<V>(w: NoticeStores<V>, notice: WriteNotice): number {
  // The writer changed the shared tier before sending, but the tier's invalidation of the replies it cached here may
  // come later, on another connection: without this, the next shared read answers the old copy, kept here for its TTL.
  // The tier is the application's: a throw there is reported, and the local copies still go.
  const isWide = notice.prefix !== undefined || notice.tag !== undefined || notice.all === true;
  try {
    if (isWide) w.shared?.dropCachedReplies();
    else if (notice.keys !== undefined && notice.keys.length > 0) w.shared?.dropCachedReplies(notice.keys.map((change) => change.key));
  } catch (error) {
    w.onBusFault(error);
  }
  let removed = 0;
  for (const change of notice.keys ?? []) {
    const { key } = change;
    if (key.length > w.options.maxKeyLength) continue;
    const bound = change.below ?? change.under ?? change.upTo;
    if (bound === undefined) {
      w.floors.noteDeletedElsewhere(key, change.held ?? 0);
      if (forget(w, key)) removed++;
      continue;
    }
    // A write at `below`, or a delete below `under` (older copies are stale), or a delete up to `upTo`: a newer copy
    // held here stays. A delete takes the floor the deleting node keeps (noteChange: `under` itself, `upTo` for a delete up to it).
    const isStale = (version: number): boolean => (change.upTo === undefined ? version < bound : version <= bound);
    if (change.below !== undefined) w.floors.noteWrite(key, bound);
    else w.floors.noteChange(key, bound);
    w.loader.discard(key);
    w.absent?.delete(key);
    const inMemory = w.memory.versionOf(key);
    const cataloged = w.shadow?.held(key)?.version;
    const wasHeld = inMemory !== undefined && isStale(inMemory) && w.memory.delete(key);
    if ((cataloged !== undefined && isStale(cataloged) && w.shadow!.drop(key, cataloged)) || wasHeld) removed++;
  }
  const isAll = notice.all === true;
  const prefix = isAll ? '' : notice.prefix;
  const tag = isAll ? undefined : notice.tag;
  if (prefix === undefined && tag === undefined) return removed;
  const keys = new Set<string>(w.loader.keysStartingWith(prefix));
  // key → version held here, for the keys only the tag matched.
  const tagged = new Map<string, number>();
  for (const { key, version, byPrefix } of w.memory.matching(prefix, tag)) {
    if (byPrefix) keys.add(key);
    else tagged.set(key, version);
  }
  for (const key of w.shadow?.keysMatching(prefix, undefined) ?? []) keys.add(key);
  for (const key of w.shadow?.keysMatching(undefined, tag) ?? []) if (!keys.has(key)) tagged.set(key, heldVersion(w, key));
  if (prefix !== undefined) w.absent?.deleteStartingWith(prefix);
  // The writer deleted every version under the prefix: floors from earlier writes end (versions may start over).
  // Not on `all`: a gap says nothing about versions, and the floors only refuse copies older than writes heard.
  if (notice.prefix !== undefined && !isAll) w.floors.clearStartingWith(notice.prefix);
  for (const key of keys) if (forget(w, key)) removed++;
  const shared = w.shared;
  for (const [key, version] of tagged) {
    // Deleted here as by a local delete: for 30 s no shared copy up to `version` is read (a late store of an old
    // load), and this node's next write of the key goes above it. Another node's write heard later ends that window.
    w.floors.noteDeleted(key, version, false);
    if (forget(w, key)) removed++;
    // A tier that cannot list tags left the writer blind to this node's shared copies: they go up to the version held
    // here, best effort (a write of the key made meanwhile at a version as low goes too). A tier that lists them is
    // the writer's alone (see above); a prefix's copies the writer found by a scan; `all` is this node's copies only.
    if (shared !== undefined && !shared.listsTags) void Promise.resolve().then(() => shared.delete(key, version)).catch(w.onBusFault);
  }
  return removed;
}

/** Drops every local copy of `key`, discards its load in flight and its known absence; no floor. True when a copy went. */
function forget<V>(w: NoticeStores<V>, key: string): boolean {
  w.loader.discard(key);
  w.absent?.delete(key);
  const wasHeld = w.memory.delete(key);
  return w.shadow?.drop(key) === true || wasHeld;
}
