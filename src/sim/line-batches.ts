/**
 * Streams the lines of a text file, gunzipping paths that end in `.gz`, in batches of one chunk's lines.
 *
 * Why: traces run to tens of millions of lines; `readline` yields one line per promise turn and costs about twice
 * as much as splitting each decoded chunk by hand. Only one chunk (plus a partial line) is ever held, so memory
 * stays flat whatever the file size. Lines end at `\n`; a trailing `\r` is dropped; a final line without `\n` is
 * still yielded; a file ending in `\n` yields no empty last line.
 */
import { createReadStream } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';

/** Read size: 1 MiB chunks keep the per-chunk overhead negligible next to the parsing cost. */
const chunkBytes = 1 << 20;

/**
 * Opens `path` as a byte stream, through gunzip when the name ends in `.gz` (case-insensitive). Destroying the
 * returned stream closes the file too.
 */
export function openTextStream(path: string): Readable {
  const file = createReadStream(path, { highWaterMark: chunkBytes });
  if (!/\.gz$/i.test(path)) return file;
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
  const stream = openTextStream(path);
  const decoder = new StringDecoder('utf8');
  let rest = '';
  try {
    for await (const chunk of stream) {
      const text = rest + decoder.write(chunk as Buffer);
      const lines = text.split('\n');
      rest = lines.pop() ?? '';
      if (lines.length > 0) yield stripCarriageReturns(lines);
    }
    const last = rest + decoder.end();
    if (last.length > 0) yield stripCarriageReturns([last]);
  } finally {
    stream.destroy();
  }
}

function stripCarriageReturns(lines: string[]): string[] {
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.length > 0 && line.charCodeAt(line.length - 1) === 13) lines[i] = line.slice(0, -1);
  }
  return lines;
}

/** The first `count` lines of the file that are not blank, without reading the rest. */
export async function peekLines(path: string, count: number): Promise<string[]> {
  const found: string[] = [];
  for await (const batch of lineBatches(path)) {
    for (const line of batch) {
      if (line.trim().length === 0) continue;
      found.push(line);
      if (found.length >= count) return found;
    }
  }
  return found;
}
