/**
 * The on-disk frame of a journal record, and the scan that reads a segment back.
 *
 * Why: after a crash the last write to a segment may be cut short (a torn tail), and that is normal: those
 * records were never fsynced, so never acknowledged, and the tail is cut off. Damage anywhere else means records
 * that were acknowledged are unreadable, which must stop the start rather than silently drop them. Each frame
 * carries its length and a CRC-32 so both cases are told apart without trusting the bytes after a bad frame.
 *
 * Frame layout (little-endian), 16 bytes of header then the payload:
 *   u32 payload length | u32 CRC-32 of (seq bytes + payload) | f64 sequence number | payload
 * The sequence number is an integer stored as a float64 (exact below 2^53) so it reads without BigInt.
 */
import { crc32 } from 'node:zlib';

/** Bytes of a frame header: length, CRC, sequence number. */
export const FRAME_HEADER_BYTES = 16;
/**
 * Largest payload a frame may carry (64 MiB). Appends above it are refused (Journal.append, and WriteBack's `put`
 * before anything is acknowledged), so a length field above it is damage, not a record, and the bound stops a
 * garbage length from being taken at face value. Such a length with that many bytes after it is read as corruption,
 * not a torn tail (see scanSegment), so a record written before the bound was enforced is never cut off silently.
 */
export const MAX_FRAME_PAYLOAD_BYTES = 64 * 1024 * 1024;

/** One record read back from a segment. */
export type JournalFrame = {
  readonly seq: number;
  readonly payload: Buffer;
};

/** Encodes one record as a frame. */
export function encodeFrame(seq: number, payload: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.length);
  frame.writeUInt32LE(payload.length, 0);
  frame.writeDoubleLE(seq, 8);
  frame.set(payload, FRAME_HEADER_BYTES);
  frame.writeUInt32LE(crc32(frame.subarray(8)), 4);
  return frame;
}

/** What a scan of one segment found. */
export type SegmentScan = {
  readonly frames: JournalFrame[];
  /** Byte offset where the valid frames end (the file length when nothing is damaged). */
  readonly validBytes: number;
  /**
   * Set when a bad frame starts at `validBytes`: `'torn'` when no valid frame follows it (a write cut short),
   * `'corrupt'` when a valid later frame does (acknowledged records lie beyond the damage).
   */
  readonly damage?: 'torn' | 'corrupt';
  /** What was wrong with the bad frame, when the scan can say more than that it is bad. */
  readonly detail?: string;
};

/**
 * Reads every frame of `bytes`. Sequence numbers must rise by one from frame to frame, starting at `firstSeq`.
 * At the first bad frame (short, over-long, CRC mismatch or out of sequence) it looks for any valid frame further
 * on, at any byte offset, with a plausible later sequence number, to tell a torn tail from corruption. A length
 * over MAX_FRAME_PAYLOAD_BYTES that the bytes after the header do cover is corruption outright: a torn write leaves
 * too few bytes behind its header, not too many, so this is a record too large to read (an older writer's), and
 * cutting it off would drop it silently.
 */
export function scanSegment(bytes: Buffer, firstSeq: number): SegmentScan {
  const frames: JournalFrame[] = [];
  let offset = 0;
  let expected = firstSeq;
  while (offset < bytes.length) {
    const frame = frameAt(bytes, offset, expected, expected);
    if (frame === undefined) {
      const length = offset + FRAME_HEADER_BYTES <= bytes.length ? bytes.readUInt32LE(offset) : 0;
      if (length > MAX_FRAME_PAYLOAD_BYTES && offset + FRAME_HEADER_BYTES + length <= bytes.length) {
        return { frames, validBytes: offset, damage: 'corrupt', detail: `a record of ${length} bytes, over the frame limit of ${MAX_FRAME_PAYLOAD_BYTES}` };
      }
      const damage = validFrameAfter(bytes, offset + 1, expected) ? 'corrupt' : 'torn';
      return { frames, validBytes: offset, damage };
    }
    frames.push(frame);
    offset += FRAME_HEADER_BYTES + frame.payload.length;
    expected++;
  }
  return { frames, validBytes: offset };
}

/**
 * Why the bad bytes from `validBytes` to the end of `bytes` cannot be a write cut short, or undefined when they can.
 * Only the last group write can be torn (each group waits for the previous one's fsync), and a group holds at most
 * `maxGroupBytes`, or one frame when that frame alone is larger: a longer tail holds acknowledged records. A journal
 * written with a larger `maxGroupBytes` must be opened with at least that much.
 */
export function tornTailProblem(bytes: Buffer, validBytes: number, maxGroupBytes: number): string | undefined {
  const tail = bytes.length - validBytes;
  if (tail <= maxGroupBytes || tail < FRAME_HEADER_BYTES) return undefined;
  const length = bytes.readUInt32LE(validBytes);
  if (length <= MAX_FRAME_PAYLOAD_BYTES && tail < FRAME_HEADER_BYTES + length) return undefined;
  return `${tail} bad bytes at the end, more than one group write (\`maxGroupBytes\` ${maxGroupBytes})`;
}

/** The valid frame at `offset` whose sequence number lies in [minSeq, maxSeq], or undefined. */
function frameAt(bytes: Buffer, offset: number, minSeq: number, maxSeq: number): JournalFrame | undefined {
  if (offset + FRAME_HEADER_BYTES > bytes.length) return undefined;
  const length = bytes.readUInt32LE(offset);
  if (length > MAX_FRAME_PAYLOAD_BYTES || offset + FRAME_HEADER_BYTES + length > bytes.length) return undefined;
  const seq = bytes.readDoubleLE(offset + 8);
  if (!(seq >= minSeq && seq <= maxSeq) || !Number.isSafeInteger(seq)) return undefined;
  const end = offset + FRAME_HEADER_BYTES + length;
  if (crc32(bytes.subarray(offset + 8, end)) !== bytes.readUInt32LE(offset + 4)) return undefined;
  return { seq, payload: bytes.subarray(offset + FRAME_HEADER_BYTES, end) };
}

/**
 * True when a valid frame with a sequence number after `badSeq` starts anywhere from `from` on. Sequence numbers
 * rise by one per frame of at least FRAME_HEADER_BYTES, which bounds the plausible range; with the CRC on top, a
 * false match in random bytes is out of reach in practice.
 */
function validFrameAfter(bytes: Buffer, from: number, badSeq: number): boolean {
  const maxSeq = badSeq + Math.ceil(bytes.length / FRAME_HEADER_BYTES);
  for (let offset = from; offset + FRAME_HEADER_BYTES <= bytes.length; offset++) {
    if (frameAt(bytes, offset, badSeq + 1, maxSeq) !== undefined) return true;
  }
  return false;
}
