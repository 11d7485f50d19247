/**
 * The byte layout of one entry in Redis: one string value per key, `<format><version> <payload>`.
 *
 * Why one string and not a hash: a string is read with a single GET, which RESP3 client-side caching keeps locally
 * and Redis invalidates as one key; a hash would need HGETALL (more reply framing, a field name per field) for no
 * gain, since every read wants the whole entry. The version leads the value in ASCII so the Lua scripts compare
 * versions with a GETRANGE of the first 32 bytes, without copying or decoding the payload. The one-letter format
 * tag (`m` = MessagePack) lets a later codec be read beside this one during a rolling upgrade.
 *
 * The payload is standard MessagePack (@msgpack/msgpack, so any MessagePack reader, cmsgpack in Lua included, can
 * read it) of a positional array, so no field name is stored per entry. bench/redis-codec.ts measures it against
 * JSON, v8.serialize and MessagePack of the whole entry object on realistic entries. v8.serialize is larger,
 * slower, and not portable across Node majors, which a shared tier read by nodes on different versions cannot
 * afford. (msgpackr measured a little faster, but its optional native addon has platform packages this registry
 * lacks, so `npm ci` could not verify a lockfile that named it.)
 *
 * `hits` is not stored: it counts reads served by this process (see RedisTier), so a read never writes to Redis.
 */
import { Decoder, Encoder } from '@msgpack/msgpack';
import { noTags, restoreEntry, type Entry } from './entry.ts';
import { PrescientError } from '../errors.ts';

/** Format tag of MessagePack payloads (the first byte of every value). */
const MSGPACK = 0x6d; // 'm'
const SPACE = 0x20;
/** Longest header: tag + the longest `String(number)` (23 chars >= 0, e.g. 1.2345678901234567e-300) + space, rounded up. */
export const MAX_HEADER_BYTES = 32;

/**
 * Plain MessagePack (no extensions beyond the standard timestamp); BigInt travels as int64. A property set to
 * undefined is left out (as JSON does), so `{ u: undefined }` reads back as `{}`, not as `{ u: null }`: the value
 * the memory tier serves and the one Redis serves then agree on `value.u === undefined`.
 */
const encoder = new Encoder({ useBigInt64: true, ignoreUndefined: true });
const decoder = new Decoder({ useBigInt64: true });
const SOURCES = ['demand', 'prefetch'] as const;

/**
 * Encodes `entry` (without its key and hit count) into the Redis value layout. The value must be MessagePack
 * serialisable: plain data, Date, BigInt and binary round-trip; a class instance comes back as a plain object, and
 * a Map or a Set as an empty object (convert them to plain objects or arrays before caching).
 * @throws PrescientError ERR_INVALID_VALUE when the version is not a finite number >= 0 (what the decoder and the
 * Lua scripts read back) or the value cannot be encoded.
 */
export function encodeRedisEntry<V>(entry: Entry<V>): Buffer {
  if (typeof entry.version !== 'number' || !Number.isFinite(entry.version) || !(entry.version >= 0)) {
    throw new PrescientError('ERR_INVALID_VALUE', `Entry version must be a finite number >= 0, got ${String(entry.version)}`);
  }
  let payload: Uint8Array;
  try {
    payload = encoder.encode([
      entry.value,
      entry.sizeBytes,
      entry.createdAt,
      entry.staleAt,
      entry.expiresAt,
      entry.source === 'prefetch' ? 1 : 0,
      entry.probability,
      entry.tags.length === 0 ? 0 : entry.tags,
      entry.predictedFor ?? 0,
      entry.predictedBy ?? 0,
    ]);
  } catch (error) {
    throw new PrescientError('ERR_INVALID_VALUE', `Value of ${JSON.stringify(entry.key)} cannot be encoded: ${String(error)}`, { cause: error });
  }
  const head = `m${entry.version} `;
  const out = Buffer.allocUnsafe(head.length + payload.length);
  out.write(head, 0, 'latin1');
  out.set(payload, head.length);
  return out;
}

/**
 * Decodes a value written by {@link encodeRedisEntry} back into an entry for `key`, with `hits` set to `hits`.
 * @throws PrescientError ERR_TIER_FAILED when the bytes are not in a format this codec reads, a header version
 * included: only a version as `String` spells a finite number >= 0 is read (not `Infinity`, `0x10`, `1e400`, `-5`,
 * which `Number()` would take from a value someone else wrote under the namespace).
 */
export function decodeRedisEntry<V>(key: string, bytes: Uint8Array, hits = 0): Entry<V> {
  const space = bytes.indexOf(SPACE);
  if (bytes[0] !== MSGPACK || space < 2 || space >= MAX_HEADER_BYTES) throw corrupt(key);
  const version = parseVersion(Buffer.from(bytes.buffer, bytes.byteOffset + 1, space - 1).toString('latin1'));
  let f: unknown[];
  try {
    f = decoder.decode(bytes.subarray(space + 1)) as unknown[];
  } catch (error) {
    throw corrupt(key, error);
  }
  if (!Array.isArray(f) || f.length !== 10 || Number.isNaN(version) || !hasFieldTypes(f)) throw corrupt(key);
  const source = SOURCES[f[5] as 0 | 1] ?? 'demand';
  const prediction = source === 'demand' ? undefined : { probability: f[6] as number, source: f[9] === 0 ? undefined : (f[9] as string), ctx: f[8] === 0 ? undefined : (f[8] as Entry['predictedFor']) };
  const times = { createdAt: f[2] as number, staleAt: f[3] as number, expiresAt: f[4] as number };
  return restoreEntry({ key, value: f[0] as V, version, sizeBytes: f[1] as number, ...times, tags: f[7] === 0 ? noTags : (f[7] as string[]), prediction, hits });
}

/**
 * True when the fields have the types the encoder writes: a value under the namespace that someone else wrote as
 * well-formed MessagePack (`tags: 5`, a string size) must not reach the memory tier's accounting or tag index.
 */
function hasFieldTypes(f: unknown[]): boolean {
  const isTime = (t: unknown): boolean => typeof t === 'number' && !Number.isNaN(t);
  return (
    typeof f[1] === 'number' && Number.isFinite(f[1]) && f[1] >= 0 &&
    isTime(f[2]) && isTime(f[3]) && isTime(f[4]) &&
    (f[5] === 0 || f[5] === 1) &&
    typeof f[6] === 'number' && Number.isFinite(f[6]) &&
    (f[7] === 0 || (Array.isArray(f[7]) && f[7].every((t) => typeof t === 'string'))) &&
    (f[8] === 0 || (typeof f[8] === 'object' && f[8] !== null && !Array.isArray(f[8]))) &&
    (f[9] === 0 || typeof f[9] === 'string')
  );
}

/** The version `text` spells, or NaN unless it is exactly how `String` spells a finite number >= 0 (as the encoder wrote it). */
function parseVersion(text: string): number {
  const version = Number(text);
  return version >= 0 && Number.isFinite(version) && String(version) === text ? version : Number.NaN;
}

function corrupt(key: string, cause?: unknown): PrescientError {
  return new PrescientError('ERR_TIER_FAILED', `Redis value of ${JSON.stringify(key)} is not in a format this version reads`, { cause });
}
