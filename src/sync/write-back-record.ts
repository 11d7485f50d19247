/**
 * The write-back journal record: how one acknowledged write (or tombstone) is encoded in a Journal frame, and the
 * last-writer-wins pick the flusher and the reader share.
 *
 * Why JSON: a record must come back exactly as acknowledged after a crash, and the origins store JSON anyway, so
 * a value that cannot round-trip through JSON is refused at `put` time rather than discovered at flush time.
 */
import { PrescientError } from '../errors.ts';
import type { OriginRecord } from '../origin/origin.ts';
import type { JournalFrame } from './journal.ts';

type Journaled = { k: string; v?: unknown; ver: number; d?: true };

/** The record with the higher version (`a` on a tie, being the later write). */
export function newer<V>(a: OriginRecord<V>, b: OriginRecord<V> | undefined): OriginRecord<V> {
  return b !== undefined && b.version > a.version ? b : a;
}

/**
 * The journal payload of a write: UTF-8 JSON `{k, v, ver}` (`{k, ver, d: true}` for a tombstone).
 * @throws PrescientError ERR_INVALID_VALUE when the value is undefined, a function, a symbol or not JSON-encodable
 */
export function encodeWriteRecord(key: string, value: unknown, version: number, deleted: boolean): Buffer {
  const record: Journaled = deleted ? { k: key, ver: version, d: true } : { k: key, v: value, ver: version };
  let text: string | undefined;
  try {
    text = JSON.stringify(record);
  } catch (error) {
    throw new PrescientError('ERR_INVALID_VALUE', `Value for key ${JSON.stringify(key)} cannot be journaled as JSON`, { cause: error });
  }
  if (!deleted && (value === undefined || typeof value === 'function' || typeof value === 'symbol')) {
    throw new PrescientError('ERR_INVALID_VALUE', `Value for key ${JSON.stringify(key)} is undefined or not JSON`);
  }
  return Buffer.from(text);
}

/**
 * The write a journal frame holds.
 * @throws PrescientError ERR_JOURNAL_CORRUPT when the frame is not a write-back record
 */
export function decodeWriteRecord<V>(frame: JournalFrame): OriginRecord<V> {
  let r: Journaled;
  try {
    r = JSON.parse(frame.payload.toString('utf8')) as Journaled;
  } catch (error) {
    throw new PrescientError('ERR_JOURNAL_CORRUPT', `Journal record ${frame.seq} is not a write-back record`, { cause: error });
  }
  if (typeof r?.k !== 'string' || !Number.isSafeInteger(r.ver)) {
    throw new PrescientError('ERR_JOURNAL_CORRUPT', `Journal record ${frame.seq} is not a write-back record`);
  }
  return r.d === true ? { key: r.k, value: undefined as V, version: r.ver, deleted: true } : { key: r.k, value: r.v as V, version: r.ver };
}
