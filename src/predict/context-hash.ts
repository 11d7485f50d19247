/**
 * Context hashing: turns a model state — a scope (user, segment or the whole population) plus the last k key ids
 * of a session — into one 52-bit number, so a state table is a Map<number, slot> with no string building per access.
 *
 * Why: building `${user}|${a},${b}` strings for three orders and three scopes costs more than the rest of an
 * observe. Two independent 32-bit murmur3-style finalisers give 52 bits; two distinct states collide with
 * probability about n²/2^53 (under 1e-4 at a million states), and a collision only merges two states' counts.
 * That bound holds only if every input is itself that wide: a scope id (a user or segment) enters through
 * `scopeSeed`, two independent 32-bit string hashes, not one — one 32-bit hash would merge two users' whole models
 * with probability about n²/2^33 (about 116 pairs at a million users; "user-129599" and "user-732382" collide under
 * FNV-1a).
 */

const twoTo32 = 4294967296;
/** The 20 high bits kept from the second 32-bit hash (52 = 32 + 20, inside the safe-integer range). */
const highMask = 0xfffff;

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** FNV-1a hash of a string to 32 bits (scopes such as user and segment ids, hashed once per access). */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * A second 32-bit string hash, independent of `hashString` (multiply-rotate per code unit, murmur3's constants,
 * finalised with `fmix`): `scopeSeed` needs both to collide before two ids share a seed.
 */
export function hashString2(s: string): number {
  let h = 0x3c6ef372 ^ s.length;
  for (let i = 0; i < s.length; i++) {
    let k = Math.imul(s.charCodeAt(i), 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, 0x1b873593);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  return fmix(h >>> 0);
}

/** The 52-bit seed of scope `scope` (a small integer) for id `id`: both string hashes mixed in. */
export function scopeSeed(scope: number, id: string): number {
  return mixKey(mixKey(scope, hashString(id)), hashString2(id));
}

/** Extends hash `h` (a value returned by `mixKey`, or any seed in [0, 2^52)) with one 32-bit value. */
export function mixKey(h: number, value: number): number {
  const lo = h >>> 0;
  const hi = Math.floor(h / twoTo32) >>> 0;
  const a = fmix((lo ^ Math.imul(value, 0x9e3779b1)) + Math.imul(hi, 0x27d4eb2f));
  const b = fmix((hi ^ Math.imul(value ^ 0x5bd1e995, 0xcc9e2d51)) + Math.imul(lo, 0x165667b1) + 0x6a09e667);
  return (b & highMask) * twoTo32 + a;
}
