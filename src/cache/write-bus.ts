/**
 * WriteBus: how the nodes of a cluster tell each other about writes, so a node's memory tier and shadow catalogs
 * stop serving a copy another node replaced or deleted.
 *
 * Why: the shared tier is written by every node, but each node's in-process tiers hold their own copies; a change
 * feed reaches them only for writes that land in the origin. A `set` that only the cache sees (no origin behind it,
 * or a write-back not flushed yet), a `delete`, or an `invalidate` by prefix or tag would otherwise leave the other
 * nodes serving the old copy until its TTL. The writing node publishes a notice once the shared tier holds the
 * write; every other node drops its local copies older than the notice says (never the shared tier's: the writer
 * has already dealt with that).
 *
 * Delivery is at most once (Redis pub/sub): a node that was not listening for a while cannot know what it missed,
 * so the bus reports a gap and the node forgets everything it holds locally.
 */
import { PrescientError } from '../errors.ts';

/**
 * One key's change: `below` — a write at that version (copies older go); `upTo` — a delete of copies up to it;
 * `under` — a delete of copies below it, where a copy at it is the changed row (`delete(key, { below })`: copies older
 * go, and for 30 s none older is read or cached, as on the deleting node); none of them — a delete of every copy,
 * where the writer held versions up to `held` (0 or absent: it held none). Versions are safe integers >= 0.
 */
export type KeyChange = { readonly key: string; readonly below?: number; readonly upTo?: number; readonly under?: number; readonly held?: number };

/** What a node announces: keys changed, a prefix or a tag invalidated, or everything (`all`: the sender lost notices). */
export type WriteNotice = {
  /** The sending node's id: a node ignores its own notices. */
  readonly from: string;
  readonly keys?: readonly KeyChange[];
  readonly prefix?: string;
  readonly tag?: string;
  readonly all?: true;
};

/** Handlers a subscriber gives the bus. */
export type WriteBusListener = {
  /** A notice from any node as sent (`encodeNotice`), its own included: the receiver decodes and filters by `from`. */
  readonly notice: (message: string) => void;
  /** Notices may have been missed (the subscription was down and is back): whatever is held locally may be stale. */
  readonly gap: () => void;
  /**
   * The subscription dropped: notices are missed until `gap` says it is back. `isLost`: notices may have been missed
   * already before the drop was found (a connection found silent by its idle timeout, which RedisWriteBus reports for
   * every drop), so what is held locally may be stale now, not only once the subscription is back. Optional for a
   * transport.
   */
  readonly down?: (isLost?: boolean) => void;
};

/** The transport: Redis pub/sub in production (`RedisWriteBus`, `prescient/redis`), `MemoryWriteBus` within a process. */
export interface WriteBus {
  /** Announces `notice` to every subscriber. Rejects when it could not be sent (the caller retries). */
  publish(notice: WriteNotice): Promise<void>;
  /** Starts delivering notices to `listener`; resolves once subscribed. Returns the way to stop. */
  subscribe(listener: WriteBusListener): Promise<() => Promise<void>>;
}

/**
 * Runs a handler the application gave the bus (a subscriber's `notice`, `gap` or `down`, an `onError`) so that what it
 * throws stays its own: the error goes to `onError`, and a throw from `onError` itself stops here (no recursion).
 * Without it the throw unwinds the transport's event handler: in node-redis an uncaught exception, a reply buffer
 * dropped with the notices after it, or a connection torn down and made again.
 */
export function callHandler(handler: () => void, onError: (error: unknown) => void): void {
  try {
    handler();
  } catch (error) {
    try {
      onError(error);
    } catch {
      // The error handler's own fault has nowhere left to go.
    }
  }
}

/** Bytes of a notice's JSON above which it is refused (a received one is counted and dropped; a sender splits first). */
export const maxNoticeBytes = 1 << 20;

/** The notice as sent on the wire. */
export function encodeNotice(notice: WriteNotice): string {
  return JSON.stringify(notice);
}

/**
 * A notice read from the wire, checked field by field.
 * @throws PrescientError ERR_INVALID_NOTICE naming what is wrong (a receiver counts it and goes on).
 */
export function decodeNotice(text: string): WriteNotice {
  if (text.length > maxNoticeBytes) throw invalid(`${text.length} characters, above ${maxNoticeBytes}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw invalid('not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw invalid('not an object');
  const { from, keys, prefix, tag, all, ...rest } = parsed as Record<string, unknown>;
  const unknownField = Object.keys(rest)[0];
  if (unknownField !== undefined) throw invalid(`unknown field "${unknownField}"`);
  if (typeof from !== 'string' || from.length === 0) throw invalid('"from" must be a non-empty string');
  if (prefix !== undefined && typeof prefix !== 'string') throw invalid('"prefix" must be a string');
  if (tag !== undefined && typeof tag !== 'string') throw invalid('"tag" must be a string');
  if (all !== undefined && all !== true) throw invalid('"all" must be true when present');
  if (keys !== undefined) {
    if (!Array.isArray(keys)) throw invalid('"keys" must be an array');
    for (const change of keys as unknown[]) {
      if (typeof change !== 'object' || change === null) throw invalid('a key change must be an object');
      const { key, below, upTo, under, held, ...extra } = change as Record<string, unknown>;
      if (Object.keys(extra).length > 0) throw invalid(`unknown key-change field "${Object.keys(extra)[0]}"`);
      if (typeof key !== 'string' || key.length === 0) throw invalid('a key change needs a non-empty "key"');
      const versions = { below, upTo, under, held };
      for (const [field, value] of Object.entries(versions)) {
        if (value !== undefined && !isVersion(value)) throw invalid(`"${field}" of "${key}" must be a safe integer >= 0`);
      }
      if (Object.values(versions).filter((v) => v !== undefined).length > 1) throw invalid(`"${key}" has more than one of "below", "upTo", "under" and "held"`);
    }
  }
  return parsed as WriteNotice;
}

/** A version as the cache makes them: a safe integer >= 0 (1.5, 2^53 or 1e300 would make `set` fail for 30 s). */
function isVersion(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function invalid(message: string): PrescientError {
  return new PrescientError('ERR_INVALID_NOTICE', `Bad write notice: ${message}`);
}

/**
 * A bus within one process: every Cache given the same instance hears the others (tests, several caches in one
 * service). Notices go through the same encoding as Redis's and arrive asynchronously, in publish order.
 * `interrupt()` reports a gap to every subscriber, as a dropped Redis subscription does.
 */
export class MemoryWriteBus implements WriteBus {
  readonly #listeners = new Set<WriteBusListener>();
  #tail: Promise<void> = Promise.resolve();
  #isDown = false;

  async publish(notice: WriteNotice): Promise<void> {
    if (this.#isDown) throw new PrescientError('ERR_TIER_FAILED', 'The write bus is down');
    const text = encodeNotice(notice);
    // One delivery chain keeps publish order, and the text goes as over the network.
    this.#tail = this.#tail.then(() => this.deliver(text));
    await this.#tail;
  }

  async subscribe(listener: WriteBusListener): Promise<() => Promise<void>> {
    this.#listeners.add(listener);
    return async () => {
      this.#listeners.delete(listener);
    };
  }

  /** Makes `publish` reject (true) or work again (false): a broker that is down. */
  setDown(isDown: boolean): void {
    this.#isDown = isDown;
  }

  /**
   * Delivers a raw message, as a broker would from any publisher (tests of malformed notices). A listener that throws
   * loses its own notice, not the others' (nor later ones: the chain stays resolved); so for `disconnect` and `interrupt`.
   */
  deliver(message: string): void {
    for (const listener of [...this.#listeners]) callHandler(() => listener.notice(message), ignore);
  }

  /** Tells every subscriber its subscription dropped (`down`); `interrupt` brings it back. */
  disconnect(): void {
    for (const listener of [...this.#listeners]) callHandler(() => listener.down?.(), ignore);
  }

  /** Tells every subscriber it may have missed notices (its subscription is back). */
  interrupt(): void {
    for (const listener of [...this.#listeners]) callHandler(() => listener.gap(), ignore);
  }
}

/** MemoryWriteBus has no error handler: a subscriber's throw is its own. */
function ignore(): void {}
