/**
 * SegmentList and CacheNode: the intrusive access-order lists the memory tier's regions (window, probation,
 * protected, prefetch) are made of.
 *
 * Why: the hit path must not allocate, and moving an entry to the most-recent end must be O(1). Each cached entry
 * has one node that carries its own `prev`/`next` links, its region and its 32-bit key hash (so the frequency
 * sketch never rehashes a cached key); a list is a circular chain through a sentinel node, so no link is ever
 * null and no branch checks for the ends. This is the layout of Caffeine's `AccessOrderDeque`.
 */
import type { Entry } from './entry.ts';

/** Region of the admission window (LRU). */
export const WINDOW = 0;
/** Region of main entries seen once since admission (segmented LRU, probation segment). */
export const PROBATION = 1;
/** Region of main entries hit again after admission (segmented LRU, protected segment). */
export const PROTECTED = 2;
/** Region of prefetched entries not used yet. */
export const PREFETCH = 3;

/** One cached entry and its place in a region. Package-internal: never handed to callers. */
export class CacheNode<V> {
  entry: Entry<V>;
  /** {@link hashKey} of the entry's key, computed once. */
  readonly hash: number;
  prev: CacheNode<V>;
  next: CacheNode<V>;
  /** Region ({@link WINDOW} .. {@link PREFETCH}). */
  queue: number;
  /** Prefetch region only: skipped once already by victim selection (second chance spent). */
  marked: boolean;

  constructor(entry: Entry<V>, hash: number, queue: number) {
    this.entry = entry;
    this.hash = hash;
    this.prev = this;
    this.next = this;
    this.queue = queue;
    this.marked = false;
  }
}

/** A doubly linked list of nodes in access order: first = least recent, last = most recent. */
export class SegmentList<V> {
  readonly #head: CacheNode<V>;
  #length = 0;

  constructor() {
    this.#head = new CacheNode<V>(undefined as unknown as Entry<V>, 0, -1);
  }

  /** Number of nodes. */
  get length(): number {
    return this.#length;
  }

  /** Least recently used node, or undefined when empty. */
  first(): CacheNode<V> | undefined {
    const node = this.#head.next;
    return node === this.#head ? undefined : node;
  }

  /** Most recently used node, or undefined when empty. */
  last(): CacheNode<V> | undefined {
    const node = this.#head.prev;
    return node === this.#head ? undefined : node;
  }

  /** The node after `node` (more recent), or undefined at the end. */
  after(node: CacheNode<V>): CacheNode<V> | undefined {
    const next = node.next;
    return next === this.#head ? undefined : next;
  }

  /** Appends `node` as most recent. The node must not be in any list. */
  push(node: CacheNode<V>): void {
    const head = this.#head;
    const tail = head.prev;
    node.prev = tail;
    node.next = head;
    tail.next = node;
    head.prev = node;
    this.#length++;
  }

  /** Unlinks `node`, which must be in this list. */
  remove(node: CacheNode<V>): void {
    node.prev.next = node.next;
    node.next.prev = node.prev;
    node.prev = node;
    node.next = node;
    this.#length--;
  }

  /** Makes `node` (in this list) the most recent. */
  moveToLast(node: CacheNode<V>): void {
    const head = this.#head;
    if (head.prev === node) return;
    node.prev.next = node.next;
    node.next.prev = node.prev;
    const tail = head.prev;
    node.prev = tail;
    node.next = head;
    tail.next = node;
    head.prev = node;
  }

  /** Forgets every node (their links are left dangling; callers drop them). */
  clear(): void {
    this.#head.prev = this.#head;
    this.#head.next = this.#head;
    this.#length = 0;
  }

  /** Nodes from least to most recent. Removing the current node while iterating is allowed. */
  *[Symbol.iterator](): IterableIterator<CacheNode<V>> {
    let node = this.#head.next;
    while (node !== this.#head) {
      const next = node.next;
      yield node;
      node = next;
    }
  }
}
