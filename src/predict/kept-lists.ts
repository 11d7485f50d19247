/**
 * KeptListPool: the per-session buffers in which the ensemble keeps the source lists and the mixed list of a
 * session's last predict until its next access scores them, reused round-robin.
 *
 * Why: scoring a prediction needs the lists it was made from when the next key arrives, but sessions end without
 * notice and most are short, so a buffer per session would allocate on every new session and hold memory for
 * sessions long gone. A fixed ring of buffers handed out in turn (a clock without reference bits, the simplest
 * of the FIFO-reuse schemes) bounds memory and allocates nothing once warm; a session keeps its buffer until
 * `size` other sessions have taken one. Sessions read in bursts, so a live one rarely loses it, and then only
 * its next scoring is skipped. Cost: O(1) per claim; buffers of about 2 KB (defaults), allocated `slabBuffers` to an ArrayBuffer as the ring fills.
 * Kept ids are of the moment they were kept: past the interner's `maxKeys` one may name another key by the time it is
 * scored, which `scoreAfterReuse` and `namesReusedId` account for.
 */
import type { KeyInterner } from './key-interner.ts';
import type { MixedList } from './list-mixer.ts';

/**
 * One session's kept lists: source j's top `hitDepth` ids at [j * hitDepth, ...) (-1 for a delta key not
 * interned, whose value is in `dvals` by rank) with `lens[j]` valid, and the mixed list of its last predict
 * (ids -1: delta keys not interned, values in `cvals`).
 */
export type KeptLists = {
  owner: KeptOwner | undefined;
  readonly ids: Int32Array;
  readonly probs: Float64Array;
  readonly lens: Uint8Array;
  readonly dvals: Float64Array;
  readonly mixed: MixedList;
  readonly cvals: Float64Array;
};

/** Buffers allocated together in one ArrayBuffer as the ring fills (about 64 KB at the ensemble's defaults). */
const slabBuffers = 32;

/** Holder of a buffer; the pool sets `kept` to undefined when it hands the buffer to another owner. */
export type KeptOwner = { kept: KeptLists | undefined };

/** Round-robin pool of `size` kept-list buffers for `sources` lists of `hitDepth` and mixed lists of `depth`. */
export class KeptListPool {
  readonly #sources: number;
  readonly #hitDepth: number;
  readonly #depth: number;
  readonly #size: number;
  readonly #pool: KeptLists[] = [];
  #next = 0;

  constructor(sources: number, hitDepth: number, depth: number, size: number) {
    this.#sources = sources;
    this.#hitDepth = hitDepth;
    this.#depth = depth;
    this.#size = size;
  }

  /** The owner's buffer, or the next one of the ring taken from its last owner (contents then stale). */
  claim(owner: KeptOwner): KeptLists {
    if (owner.kept !== undefined && owner.kept.owner === owner) return owner.kept;
    if (this.#next === this.#pool.length) this.#fill();
    const kept = this.#pool[this.#next];
    if (kept.owner !== undefined) kept.owner.kept = undefined;
    this.#next = (this.#next + 1) % this.#size;
    kept.owner = owner;
    owner.kept = kept;
    return kept;
  }

  /** A buffer outside the ring. */
  create(): KeptLists {
    return this.#carve(new ArrayBuffer(this.#bytes()), 0);
  }

  /** Adds the next slab of buffers to the ring (one ArrayBuffer for several: allocating many is costly). */
  #fill(): void {
    const count = Math.min(slabBuffers, this.#size - this.#pool.length);
    const bytes = this.#bytes();
    const buf = new ArrayBuffer(count * bytes);
    for (let i = 0; i < count; i++) this.#pool.push(this.#carve(buf, i * bytes));
  }

  /** Bytes of one buffer, a multiple of 8 so that buffers can follow each other in a slab. */
  #bytes(): number {
    const n = this.#sources;
    const h = this.#hitDepth;
    const d = this.#depth;
    return Math.ceil((n * h * 12 + h * 8 + d * 44 + n) / 8) * 8;
  }

  #carve(buf: ArrayBuffer, from: number): KeptLists {
    const n = this.#sources;
    const h = this.#hitDepth;
    const d = this.#depth;
    let at = from;
    const f64 = (len: number): Float64Array => {
      const a = new Float64Array(buf, at, len);
      at += len * 8;
      return a;
    };
    const i32 = (len: number): Int32Array => {
      const a = new Int32Array(buf, at, len);
      at += len * 4;
      return a;
    };
    const probs = f64(n * h);
    const dvals = f64(h);
    const raw = f64(d);
    const probability = f64(d);
    const eta = f64(d);
    const cvals = f64(d);
    const ids = i32(n * h);
    const mixed = { n: 0, ids: i32(d), raw, probability, eta, source: i32(d) };
    return { owner: undefined, ids, probs, lens: new Uint8Array(buf, at, n), dvals, mixed, cvals };
  }
}

/**
 * Scores kept source lists against the key that came next when that key took its id after the lists were kept
 * (`since`: the interner's `reused` count then). An id of the lists that still names its key (`reusedAt <= since`)
 * is not this key; one given to another key since may have named this one, which can no longer be told, except for
 * delta, whose values are kept (`dvals`). Sets `pj[j]` to the probability source j gave the key, 0 when it surely
 * missed it, and -1 when it offered no list or cannot be judged (MixtureWeights leaves it out of the update): crediting
 * the source for the new key that took an id it named, or blaming it for a key it named under an id given away, would
 * move the weights on evidence that is not there. `value` is the key's canonical integer (NaN if none).
 */
export function scoreAfterReuse(kept: KeptLists, hitDepth: number, keys: KeyInterner, since: number, value: number, deltaSource: number, pj: Float64Array): void {
  const { ids, probs, lens, dvals } = kept;
  for (let j = 0; j < lens.length; j++) {
    const len = lens[j];
    pj[j] = -1;
    if (len === 0) continue;
    let p = 0;
    let isUnknown = false;
    for (let r = 0; r < len; r++) {
      const k = ids[j * hitDepth + r];
      if (k >= 0 && keys.reusedAt(k) <= since) continue;
      if (k < 0 || j === deltaSource) {
        if (dvals[r] === value) {
          p = probs[j * hitDepth + r];
          isUnknown = false;
          break;
        }
      } else isUnknown = true;
    }
    pj[j] = isUnknown ? -1 : p;
  }
}

/** True when one of the `n` ids at `ids[from...]` (-1: no id) went to another key after `since` (KeyInterner.reused). */
export function namesReusedId(ids: Int32Array, from: number, n: number, keys: KeyInterner, since: number): boolean {
  for (let i = 0; i < n; i++) {
    const k = ids[from + i];
    if (k >= 0 && keys.reusedAt(k) > since) return true;
  }
  return false;
}
