/**
 * nonTextReason: why the first bytes of a trace show it is not UTF-8 text, if they do.
 *
 * Why: the readers split whatever they are given on newlines, so an executable, a bzip2 archive or a UTF-16 export
 * used to replay as thousands of nonsense "sessions" and exit 0. Checking the head once costs one small decode per
 * pass and turns that into an error that says what the file is. Only the head is looked at (a text file with a
 * stray bad byte deep inside still reads, with U+FFFD in its place), so a valid trace is never rejected for
 * something it does not start with.
 */

/** Bytes of the head looked at: enough for any header and the first hundreds of lines, cheap to decode. */
export const sniffedHeadBytes = 64 * 1024;

/** Compressed formats recognised by their magic bytes (only gzip is read). */
const compressedMagic: ReadonlyArray<readonly [string, readonly number[]]> = [
  ['bzip2', [0x42, 0x5a, 0x68]], // 'BZh', then the block size digit, checked below
  ['zstd', [0x28, 0xb5, 0x2f, 0xfd]],
  ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
  ['zip', [0x50, 0x4b, 0x03, 0x04]],
];

/** True when `head` starts with the gzip magic bytes 1f 8b. */
export function hasGzipMagic(head: Uint8Array): boolean {
  return head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
}

function startsWith(head: Uint8Array, magic: readonly number[]): boolean {
  return head.length >= magic.length && magic.every((byte, i) => head[i] === byte);
}

/**
 * Why `head` (the first bytes of a file, after gunzip if it was gzipped) is not UTF-8 text, or undefined when it
 * may be: a known compression header, a UTF-16 byte-order mark, a NUL byte, or bytes that are not valid UTF-8 (a
 * character cut off at the end of the head is not counted against it). A UTF-8 byte-order mark is fine.
 */
export function nonTextReason(head: Uint8Array): string | undefined {
  const sample = head.subarray(0, sniffedHeadBytes);
  for (const [name, magic] of compressedMagic) {
    // 'BZh' is also the start of a word: bzip2 needs its block-size digit 1-9 after it.
    if (startsWith(sample, magic) && (name !== 'bzip2' || (sample[3] >= 0x31 && sample[3] <= 0x39))) {
      return `${name}-compressed data (only gzip is read: decompress it first)`;
    }
  }
  if (startsWith(sample, [0xff, 0xfe]) || startsWith(sample, [0xfe, 0xff])) return 'UTF-16 text (convert it to UTF-8)';
  const nul = sample.indexOf(0);
  if (nul >= 0) return `binary data, not a text trace (a NUL byte at offset ${nul})`;
  try {
    // `stream: true`: an incomplete character at the end of the sample is kept back, not reported.
    new TextDecoder('utf-8', { fatal: true }).decode(sample, { stream: true });
  } catch {
    return 'not UTF-8 text (invalid byte sequences near the start)';
  }
  return undefined;
}
