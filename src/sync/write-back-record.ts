/**
 * The write-back journal record: how one acknowledged write (or tombstone) is encoded in a Journal frame, and the
 * last-writer-wins pick the flusher and the reader share.
 *
 * Why JSON: a record must come back exactly as acknowledged after a crash, and the origins store JSON anyway, so
 * a value that cannot round-trip through JSON is refused at `put` time (json-round-trip.ts) rather than discovered
 * at flush time, and the value served from then on is the one parsed back from the journaled text.
 */
import { PrescientError, ValueTooLargeError } from '../errors.ts';
import type { OriginRecord } from '../origin/origin.ts';
import { jsonRoundTripLoss } from './json-round-trip.ts';
import { MAX_FRAME_PAYLOAD_BYTES } from './journal-format.ts';
import type { JournalFrame } from './journal.ts';

type Journaled = { k: string; v?: unknown; ver: number; d?: true };

/** The record with the higher version (`a` on a tie, being the later write). */
export function newer<V>(a: OriginRecord<V>, b: OriginRecord<V> | undefined): OriginRecord<V> {
  return b !== undefined && b.version > a.version ? b : a;
}

/** A write encoded for the journal, and its value as read back from that encoding. */
export type EncodedWrite = {
  readonly payload: Buffer;
  /**
   * The value parsed back from `payload` (undefined for a tombstone): what a replay after a restart yields, so
   * serving it (reader, target) makes every path serve the same value, none of them an object the caller may
   * still mutate.
   */
  readonly value: unknown;
};

/**
 * The journal payload of a write: UTF-8 JSON `{k, v, ver}` (`{k, ver, d: true}` for a tombstone). Costs a walk of the
 * value (json-round-trip.ts) and one JSON.parse on top of the JSON.stringify.
 * @throws PrescientError ERR_INVALID_VALUE when the value would not come back from JSON as it is (undefined, NaN, a
 *   Date, a bigint, an array slot holding undefined, a cycle, ...; a property holding undefined is left out, as
 *   JSON does), naming what and where; ValueTooLargeError
 *   (ERR_VALUE_TOO_LARGE) when the record is over MAX_FRAME_PAYLOAD_BYTES, the most a journal frame holds
 */
export function encodeWriteRecord(key: string, value: unknown, version: number, deleted: boolean): EncodedWrite {
  const refuse = (what: string, cause?: unknown) =>
    new PrescientError('ERR_INVALID_VALUE', `Value for key ${JSON.stringify(key)} cannot be journaled as JSON: ${what}`, cause === undefined ? undefined : { cause });
  const record: Journaled = deleted ? { k: key, ver: version, d: true } : { k: key, v: value, ver: version };
  let text: string;
  try {
    const loss = deleted ? undefined : jsonRoundTripLoss(value);
    if (loss !== undefined) throw refuse(loss);
    text = JSON.stringify(record);
  } catch (error) {
    throw error instanceof PrescientError ? error : refuse('reading it threw', error);
  }
  const bytes = Buffer.byteLength(text);
  if (bytes > MAX_FRAME_PAYLOAD_BYTES) throw new ValueTooLargeError(key, bytes, MAX_FRAME_PAYLOAD_BYTES);
  return { payload: Buffer.from(text), value: deleted ? undefined : (JSON.parse(text) as Journaled).v };
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
