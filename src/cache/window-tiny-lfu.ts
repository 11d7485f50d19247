/**
 * WindowTinyLfu: the demand side of the memory tier, W-TinyLFU as Caffeine's BoundedLocalCache builds it.
 *
 * Why: W-TinyLFU (Einziger, Friedman, Manes, "TinyLFU: A Highly Efficient Cache Admission Policy", ACM ToS 2017)
 * is near-optimal on a wide range of workloads at LRU's cost. A small LRU admission window takes every new entry
 * (recency); a segmented-LRU main region (probation, and protected at ~80% of main) holds the rest; a window
 * victim enters main only when its sketch frequency beats main's probation victim (frequency). Ties are refused;
 * a candidate with frequency >= 6 is admitted at random 1 time in 128, which defeats hash-flooding attacks on the
 * sketch. The window size adapts by hill climbing (hill-climber.ts), because a fixed 1% window collapses on
 * recency-heavy traces. Sizes are bytes; with unit sizes this is Caffeine's entry-count policy. Cost: O(1) per
 * access; a window resize moves at most one step's worth of entries, once per sample period.
 *
 * This class owns the three regions' byte counts and order (as lists in the shared node-table.ts), the sketch
 * and the climber; the tier owns the key map and the table, and forgets, through `onEvict`, a slot evicted here.
 */
import { FrequencySketch } from './frequency-sketch.ts';
import { HillClimber } from './hill-climber.ts';
import { FIRST_SLOT, type NodeTable, PROBATION, PROTECTED, WINDOW } from './node-table.ts';

/** Options of a {@link WindowTinyLfu}. */
export type WindowTinyLfuOptions<V> = {
  /** Where the nodes live (shared with the tier and the prefetch region). */
  readonly table: NodeTable<V>;
  /** Capacity in bytes the window/main split is computed from. */
  readonly maxBytes: number;
  /** Initial share of `maxBytes` for the window, 0 to 1. */
  readonly initialWindowFraction: number;
  /** Whether the window adapts by hill climbing. */
  readonly adaptive: boolean;
  /** Seed of the sketch hash and of the admission coin. */
  readonly seed: number;
  /** Called with a slot this policy evicted, already unlinked from its region. */
  readonly onEvict: (slot: number) => void;
};

/** Share of main kept for the protected segment (Caffeine: 0.8). */
const PROTECTED_FRACTION = 0.8;
/** A candidate this frequent is admitted over a more frequent victim 1 time in 128 (Caffeine's hash-flood guard). */
const ADMIT_RANDOM_THRESHOLD = 6;
/** Sketch size before the tier has seen how many entries fit; it grows when more entries are held. */
const INITIAL_SKETCH_CAPACITY = 1024;
/**
 * Fewest entries the sketch is sized for, whatever the capacity, so its sample period (10 x this, also the climber's
 * beat) is at least 1,800 accesses. Why: the climber and the admission both read statistics of one period, and at 10
 * x a tiny capacity those are noise. Two periods of n accesses differ by sampling alone by a standard deviation of up
 * to sqrt(0.5 / n); n = 1,800 keeps three of those under the climber's 5-point restart threshold (at 29 entries, 290
 * accesses, one was 3.7 points, so the window moved on noise). Counts halved every 290 accesses rarely reach 2, so
 * admission compared ties; a longer period also needs the bigger table, or its keys collide. Costs at most 2 KiB.
 * Yoochoose at 29 / 147 entries, mean of hash seeds 1..6 (bench/tune-prescient.ts): 27.07 / 55.71% hits -> 28.03 /
 * 56.06% at 1.22 / 1.12x LRU's fetches (at 29 entries the seeds now span 0.2 points, was 1.3); the longer period alone
 * 27.47 at 29 entries, the bigger table alone 27.39, floors of 128-300 entries 27.8-28.1. Seed 1, the other tiers
 * under 180 entries: LIRS multi2 at 57 41.04 -> 42.12, 2_pools at 99 46.76 -> 46.92, diginetica at 71 20.83 ->
 * 20.81, LIRS sprite at 71 76.17 -> 76.04 (the climber's slower beat: 76.44 with the old beat, but then multi2
 * 40.83). Tiers of 180 entries or more are unchanged.
 */
const MIN_SKETCH_CAPACITY = 180;

/** Window, probation and protected regions with TinyLFU admission and an adaptive window. */
export class WindowTinyLfu<V> {
  readonly #table: NodeTable<V>;
  readonly #sketch: FrequencySketch;
  readonly #climber: HillClimber;
  readonly #maxBytes: number;
  readonly #adaptive: boolean;
  readonly #onEvict: (slot: number) => void;
  #windowBytes = 0;
  #probationBytes = 0;
  #protectedBytes = 0;
  #windowMax: number;
  #protectedMax: number;
  #sampleSize: number;
  #hitsInSample = 0;
  #missesInSample = 0;
  #random: number;

  constructor(options: WindowTinyLfuOptions<V>) {
    const maxBytes = options.maxBytes;
    this.#table = options.table;
    this.#maxBytes = maxBytes;
    this.#adaptive = options.adaptive;
    this.#onEvict = options.onEvict;
    // Caffeine's split: window = max - floor(mainShare x max); protected = floor(0.8 x main).
    this.#windowMax = maxBytes - Math.floor((1 - options.initialWindowFraction) * maxBytes);
    this.#protectedMax = Math.floor(PROTECTED_FRACTION * (maxBytes - this.#windowMax));
    this.#sketch = new FrequencySketch({ capacity: Math.max(MIN_SKETCH_CAPACITY, Math.min(maxBytes, INITIAL_SKETCH_CAPACITY)), seed: options.seed });
    this.#sampleSize = this.#sketch.sampleSize;
    this.#climber = new HillClimber({ maxBytes });
    this.#random = (Math.imul(options.seed | 0, 0x9e3779b9) ^ 0x2545f491) | 1;
  }

  /** Bytes held in window, probation and protected. */
  get bytes(): number {
    return this.#windowBytes + this.#probationBytes + this.#protectedBytes;
  }

  /** Region sizes and the window's current share of `maxBytes`. */
  regions(): { windowBytes: number; probationBytes: number; protectedBytes: number; windowFraction: number } {
    return {
      windowBytes: this.#windowBytes,
      probationBytes: this.#probationBytes,
      protectedBytes: this.#protectedBytes,
      windowFraction: this.#windowMax / this.#maxBytes,
    };
  }

  /** Sketch estimate for a key hash. */
  frequency(hash: number): number {
    return this.#sketch.frequency(hash);
  }

  /**
   * Records a hit on a slot of these regions (sketch count and recency). Returns true when a sample period ended
   * (the caller may adapt other things on the same beat).
   */
  recordHit(slot: number): boolean {
    const table = this.#table;
    const sketch = this.#sketch;
    // A key whose counters are all saturated in this sketch epoch would change nothing: skip the hashing and the
    // four read-modify-writes (hot keys under a skewed workload, most hits).
    if (!table.isSaturated(slot, sketch.epoch) && sketch.increment(table.hash(slot))) table.setSaturated(slot, sketch.epoch);
    if (table.queue(slot) === PROBATION) this.#promote(slot);
    else table.moveToLast(slot);
    return ++this.#hitsInSample + this.#missesInSample >= this.#sampleSize && this.#endSample();
  }

  /**
   * Refreshes a slot's recency in its region without counting an access (no sketch increment, no promotion, no
   * sample count): the signal that a model predicts the entry's reuse soon.
   */
  touch(slot: number): void {
    this.#table.moveToLast(slot);
  }

  /** Records a miss on a key hash. Returns true when a sample period ended. */
  recordMiss(hash: number): boolean {
    this.#sketch.increment(hash);
    return this.#hitsInSample + ++this.#missesInSample >= this.#sampleSize && this.#endSample();
  }

  /** Adds a slot (in no list) to the window, as the most recent. Call `evict` afterwards. */
  add(slot: number): void {
    this.#table.push(WINDOW, slot);
    this.#windowBytes += this.#table.size(slot);
  }

  /** Takes a slot out of its region. */
  remove(slot: number): void {
    const table = this.#table;
    const size = table.size(slot);
    const queue = table.queue(slot);
    table.remove(slot);
    if (queue === WINDOW) this.#windowBytes = this.#less(WINDOW, this.#windowBytes, size);
    else if (queue === PROBATION) this.#probationBytes = this.#less(PROBATION, this.#probationBytes, size);
    else this.#protectedBytes = this.#less(PROTECTED, this.#protectedBytes, size);
  }

  /**
   * A region's byte count after a slot of `size` left `list`: exactly 0 once the list is empty. Why: fractional sizes
   * leave float residue in a running sum (0.1 + 0.2 - 0.1 - 0.2 is not 0), so an empty region could count bytes.
   */
  #less(list: number, bytes: number, size: number): number {
    return this.#table.length(list) === 0 ? 0 : bytes - size;
  }

  /** Accounts for a slot whose entry was replaced by one `deltaBytes` bigger (or smaller). Call `evict` afterwards. */
  resized(slot: number, deltaBytes: number): void {
    const queue = this.#table.queue(slot);
    if (queue === WINDOW) this.#windowBytes += deltaBytes;
    else if (queue === PROBATION) this.#probationBytes += deltaBytes;
    else {
      this.#protectedBytes += deltaBytes;
      this.#demoteFromProtected();
    }
  }

  /** Grows the sketch when `entries` exceed what it was sized for; restarts the sample when it did. */
  ensureCapacity(entries: number): void {
    if (entries <= this.#sketch.capacity) return;
    const before = this.#sketch.capacity;
    this.#sketch.ensureCapacity(Math.min(this.#maxBytes, entries * 2));
    if (this.#sketch.capacity === before) return;
    this.#sampleSize = this.#sketch.sampleSize;
    this.#hitsInSample = 0;
    this.#missesInSample = 0;
    this.#climber.reset();
  }

  /** Moves the window's overflow to probation. Returns the first slot moved (main's first candidate), or -1. */
  overflowWindow(): number {
    let candidate = -1;
    while (this.#windowBytes > this.#windowMax) {
      const slot = this.#table.first(WINDOW);
      if (slot < FIRST_SLOT) break;
      this.#moveToProbation(slot);
      if (candidate < 0) candidate = slot;
    }
    return candidate;
  }

  /**
   * Restores the bounds: window overflow moves to probation (or the caller moved it: `candidate` is what
   * `overflowWindow` returned), then entries are evicted until these regions hold at most `limitBytes`.
   */
  evict(limitBytes: number, candidate = this.overflowWindow()): void {
    if (this.bytes > limitBytes) this.#evictFromMain(candidate, limitBytes, -1);
  }

  /**
   * Whether `evict(limitBytes, candidate)` would evict `slot`, without evicting (the admission coin is put back). Why:
   * the tier evicts prefetches to make room for a big demand entry only if TinyLFU then keeps that entry.
   */
  wouldEvict(slot: number, candidate: number, limitBytes: number): boolean {
    const random = this.#random;
    const isEvicted = this.bytes > limitBytes && this.#evictFromMain(candidate, limitBytes, slot);
    this.#random = random;
    return isEvicted;
  }

  /** Forgets the byte counts (the tier clears the table). The sketch keeps its counts. */
  clear(): void {
    this.#windowBytes = this.#probationBytes = this.#protectedBytes = 0;
  }

  /**
   * Caffeine's `evictFromMain`: candidates are the entries that just left the window (then the window's oldest),
   * victims are probation's oldest (then protected's, then the window's); of each pair the one the sketch deems
   * less frequent goes. Slots below FIRST_SLOT (a list's end) stand for "none". With a `trial` slot nothing is
   * evicted: evictions are only marked (the walks skip marked slots as they would skip removed ones, byte counts are
   * kept aside), and the answer is whether `trial` would go.
   */
  #evictFromMain(first: number, limitBytes: number, trial: number): boolean {
    const table = this.#table;
    const plan = trial < FIRST_SLOT ? undefined : {
      marked: new Set<number>(),
      bytes: [this.#windowBytes, this.#probationBytes, this.#protectedBytes],
      lengths: [table.length(WINDOW), table.length(PROBATION), table.length(PROTECTED)],
    };
    const marked = plan?.marked;
    let candidate = first;
    let candidateQueue = PROBATION;
    let victimQueue = PROBATION;
    let victim = table.afterUnmarked(PROBATION, marked);
    while ((plan === undefined ? this.bytes : plan.bytes[0] + plan.bytes[1] + plan.bytes[2]) > limitBytes) {
      if (candidate < FIRST_SLOT && candidateQueue === PROBATION) {
        candidate = table.afterUnmarked(WINDOW, marked);
        candidateQueue = WINDOW;
      }
      if (candidate < FIRST_SLOT && victim < FIRST_SLOT) {
        if (victimQueue === PROBATION) {
          victim = table.afterUnmarked(PROTECTED, marked);
          victimQueue = PROTECTED;
          continue;
        } else if (victimQueue === PROTECTED) {
          victim = table.afterUnmarked(WINDOW, marked);
          victimQueue = WINDOW;
          continue;
        }
        break;
      }
      let evict: number;
      if (victim < FIRST_SLOT) {
        evict = candidate;
        candidate = table.afterUnmarked(evict, marked);
      } else if (candidate < FIRST_SLOT) {
        evict = victim;
        victim = table.afterUnmarked(evict, marked);
      } else if (candidate === victim) {
        evict = victim;
        victim = table.afterUnmarked(victim, marked);
        candidate = -1;
      } else if (this.#admit(table.hash(candidate), table.hash(victim))) {
        evict = victim;
        victim = table.afterUnmarked(evict, marked);
        candidate = table.afterUnmarked(candidate, marked);
      } else {
        evict = candidate;
        candidate = table.afterUnmarked(evict, marked);
      }
      if (plan === undefined) {
        this.remove(evict);
        this.#onEvict(evict);
      } else {
        if (evict === trial) return true;
        plan.marked.add(evict);
        // Counted as `remove` counts: a list left empty holds exactly 0 bytes.
        const queue = table.queue(evict);
        plan.bytes[queue] = --plan.lengths[queue] === 0 ? 0 : plan.bytes[queue] - table.size(evict);
      }
    }
    return false;
  }

  #admit(candidateHash: number, victimHash: number): boolean {
    const victimFreq = this.#sketch.frequency(victimHash);
    const candidateFreq = this.#sketch.frequency(candidateHash);
    if (candidateFreq > victimFreq) return true;
    if (candidateFreq < ADMIT_RANDOM_THRESHOLD) return false;
    let x = this.#random;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.#random = x;
    return (x & 127) === 0;
  }

  /** A probation entry hit again moves to protected; protected overflow is demoted back to probation. */
  #promote(slot: number): void {
    const table = this.#table;
    const size = table.size(slot);
    if (size > this.#protectedMax) {
      table.moveToLast(slot);
      return;
    }
    table.remove(slot);
    this.#probationBytes = this.#less(PROBATION, this.#probationBytes, size);
    table.push(PROTECTED, slot);
    this.#protectedBytes += size;
    this.#demoteFromProtected();
  }

  #demoteFromProtected(): void {
    const table = this.#table;
    while (this.#protectedBytes > this.#protectedMax) {
      const slot = table.first(PROTECTED);
      if (slot < FIRST_SLOT) break;
      const size = table.size(slot);
      table.remove(slot);
      this.#protectedBytes = this.#less(PROTECTED, this.#protectedBytes, size);
      table.push(PROBATION, slot);
      this.#probationBytes += size;
    }
  }

  #moveToProbation(slot: number): void {
    const table = this.#table;
    const size = table.size(slot);
    table.remove(slot);
    this.#windowBytes = this.#less(WINDOW, this.#windowBytes, size);
    table.push(PROBATION, slot);
    this.#probationBytes += size;
  }

  /** End of a sample period (the sketch's sample size in accesses): hill-climb the window. Returns true. */
  #endSample(): boolean {
    const hitRate = this.#hitsInSample / (this.#hitsInSample + this.#missesInSample);
    this.#hitsInSample = 0;
    this.#missesInSample = 0;
    if (!this.#adaptive) return true;
    const adjustment = this.#climber.adjust(hitRate);
    this.#demoteFromProtected();
    if (adjustment > 0) this.#increaseWindow(adjustment);
    else if (adjustment < 0) this.#decreaseWindow(-adjustment);
    return true;
  }

  /** Caffeine's `increaseWindow`: moves capacity, and main's oldest entries, from protected to the window. */
  #increaseWindow(amount: number): void {
    if (this.#protectedMax === 0) return;
    const table = this.#table;
    let quota = Math.min(amount, this.#protectedMax);
    this.#protectedMax -= quota;
    this.#windowMax += quota;
    this.#demoteFromProtected();
    for (;;) {
      let slot = table.first(PROBATION);
      if (slot < FIRST_SLOT || quota < table.size(slot)) slot = table.first(PROTECTED);
      if (slot < FIRST_SLOT || quota < table.size(slot)) break;
      quota -= table.size(slot);
      this.remove(slot);
      this.add(slot);
    }
    this.#protectedMax += quota;
    this.#windowMax -= quota;
  }

  /** Caffeine's `decreaseWindow`: moves capacity, and the window's oldest entries, from the window to main. */
  #decreaseWindow(amount: number): void {
    if (this.#windowMax <= 1) return;
    const table = this.#table;
    let quota = Math.min(amount, this.#windowMax - 1);
    this.#protectedMax += quota;
    this.#windowMax -= quota;
    for (;;) {
      const slot = table.first(WINDOW);
      if (slot < FIRST_SLOT || quota < table.size(slot)) break;
      quota -= table.size(slot);
      this.#moveToProbation(slot);
    }
    this.#protectedMax -= quota;
    this.#windowMax += quota;
  }
}
