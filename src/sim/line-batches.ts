/**
 * Streams the lines of a text file, gunzipping a file that starts with the gzip magic bytes or whose name ends in
 * `.gz`, in batches of one chunk's lines.
 *
 * Why: traces run to tens of millions of lines; `readline` yields one line per promise turn and costs about twice
 * as much as splitting each decoded chunk by hand. Only one chunk (plus a partial line) is ever held, so memory
 * stays flat whatever the file size. Lines end at `\n`; a trailing `\r` is dropped; a final line without `\n` is
 * still yielded; a file ending in `\n` yields no empty last line. A line longer than {@link maxLineChars} is not
 * kept: {@link overlongLine} stands in its place (the readers count it as malformed, with its number), so a file
 * without newlines neither exhausts memory nor costs time quadratic in its length (each chunk is searched once).
 * A file that cannot be read or gunzipped (truncated, corrupt), or whose head is not UTF-8 text (another
 * compression, UTF-16, binary: see non-text-reason.ts), fails with ERR_TRACE_READ naming the path.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';
import { PrescientError } from '../errors.ts';
import { hasGzipMagic, nonTextReason } from './non-text-reason.ts';

/** Read size: 1 MiB chunks keep the per-chunk overhead negligible next to the parsing cost. */
const chunkBytes = 1 << 20;
/** Longest line kept, in UTF-16 units (a trace line is a key and a few fields: a megabyte is not a line). */
export const maxLineChars = 1 << 20;
/** The longest line kept as read: {@link maxLineChars} and the `\r` of a `\r\n` ending, dropped later. */
const maxRawLineChars = maxLineChars + 1;
/** Yielded in place of a line longer than {@link maxLineChars}. */
export const overlongLine = '\u0000<line longer than 1 MiB>';

/**
 * Opens `path` as a byte stream, through gunzip when `isGzip` (by default: when the name ends in `.gz`,
 * case-insensitive). Destroying the returned stream closes the file too.
 */
export function openTextStream(path: string, isGzip = /\.gz$/i.test(path)): Readable {
  const file = createReadStream(path, { highWaterMark: chunkBytes });
  if (!isGzip) return file;
  const gunzip = createGunzip({ chunkSize: chunkBytes });
  file.on('error', (error) => gunzip.destroy(error));
  gunzip.on('close', () => file.destroy());
  return file.pipe(gunzip);
}

/**
 * Yields the file's lines in batches (one batch per decoded chunk; never an empty batch). Stopping the iteration
 * early destroys the underlying streams.
 */
export async function* lineBatches(path: string): AsyncGenerator<string[], void, undefined> {
  let isGzip = /\.gz$/i.test(path);
  let stream: Readable | undefined;
  const decoder = new StringDecoder('utf8');
  const partial = new PartialLine();
  try {
    // Gzip is recognised by its content too: a gzipped trace renamed `.tsv` used to be split as binary text.
    isGzip ||= hasGzipMagic(await readHead(path, 2));
    stream = openTextStream(path, isGzip);
    let isFirst = true;
    for await (const chunk of stream) {
      if (isFirst) {
        isFirst = false;
        const reason = nonTextReason(chunk as Buffer);
        if (reason !== undefined) throw new PrescientError('ERR_TRACE_READ', `${path}: ${reason}`);
      }
      const text = decoder.write(chunk as Buffer);
      if (text.indexOf('\n') < 0) {
        partial.append(text);
        continue;
      }
      const lines = text.split('\n');
      const tail = lines.pop() ?? '';
      lines[0] = partial.complete(lines[0]);
      partial.append(tail);
      yield cleanLines(lines);
    }
    const last = partial.complete(decoder.end());
    if (last.length > 0) yield cleanLines([last]);
  } catch (error) {
    if (error instanceof PrescientError) throw error;
    const what = isGzip ? 'gzip data is truncated or corrupt' : 'could not be read';
    throw new PrescientError('ERR_TRACE_READ', `${path}: ${what} (${error instanceof Error ? error.message : String(error)})`, { cause: error });
  } finally {
    stream?.destroy();
  }
}

/** The first `bytes` bytes of the file (fewer when it is shorter). */
async function readHead(path: string, bytes: number): Promise<Uint8Array> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(bytes);
    const { bytesRead } = await handle.read(buffer, 0, bytes, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** The start of a line whose end has not been read yet: pieces, joined once, or nothing once it is too long. */
class PartialLine {
  #pieces: string[] = [];
  #chars = 0;
  #overlong = false;

  append(text: string): void {
    if (text.length === 0 || this.#overlong) return;
    this.#chars += text.length;
    if (this.#chars > maxRawLineChars) {
      this.#overlong = true;
      this.#pieces = [];
    } else {
      this.#pieces.push(text);
    }
  }

  /** The whole line, given its last piece (or {@link overlongLine}); starts the next line empty. */
  complete(end: string): string {
    const line = this.#overlong || this.#chars + end.length > maxRawLineChars ? overlongLine : this.#pieces.length === 0 ? end : this.#pieces.join('') + end;
    this.#pieces = [];
    this.#chars = 0;
    this.#overlong = false;
    return line;
  }
}

/** Drops each line's trailing `\r`; puts {@link overlongLine} in place of a line too long to keep. */
function cleanLines(lines: string[]): string[] {
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const hasCr = line.length > 0 && line.charCodeAt(line.length - 1) === 13;
    if (line.length - (hasCr ? 1 : 0) > maxLineChars) lines[i] = overlongLine;
    else if (hasCr) lines[i] = line.slice(0, -1);
  }
  return lines;
}

/** The first `count` lines of the file that are neither blank nor too long, without reading the rest. */
export async function peekLines(path: string, count: number): Promise<string[]> {
  const found: string[] = [];
  for await (const batch of lineBatches(path)) {
    for (const line of batch) {
      if (line.trim().length === 0 || line === overlongLine) continue;
      found.push(line);
      if (found.length >= count) return found;
    }
  }
  return found;
}
