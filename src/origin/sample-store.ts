/**
 * The sample store: an embedded PGlite origin holding one row per distinct key of the shipped trace sample
 * (samples/cache2k-orm-busy-100k.txt.gz: cache2k's orm-busy trace, CC BY 4.0, headissue GmbH / Jens Wilke).
 * It is what the demo and `prescient serve` read through when no database is configured.
 *
 * Why a saved data folder: initialising a fresh PGlite cluster and loading the 15,128 rows takes 5-9 s, while
 * opening an existing data folder takes 0.2-0.4 s (measured on the shared 2-core box). A `dumpDataDir()`
 * tarball to ship instead would be 8 MB gzipped (4.5 MB of it the empty cluster), over the 2 MB budget,
 * and loads in 0.8-1.7 s. So the first call builds the table into a cache folder (in a scratch folder renamed
 * into place when complete, so a crash or a concurrent build never leaves a half-built store behind), and later
 * calls, in this process or the next, open it. By default each open works on a private copy of the 61 MB
 * folder (1-1.9 s), deleted on close: writes never alter the saved store, and any number of processes can open
 * it at once (PGlite is single-user: two instances must never share a data folder). `isolation: 'in-place'`
 * skips the copy for a single user.
 *
 * Values are derived from the key alone (`sampleValue`), so every build holds the same data and a test can
 * check any row without the store.
 */
import { createReadStream } from 'node:fs';
import { access, cp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createGunzip } from 'node:zlib';
import { InvalidOptionError, PrescientError } from '../errors.ts';
import { makeDirectory } from '../make-directory.ts';
import { oneOf } from '../options.ts';
import type { OriginRecord } from './origin.ts';
import { PgliteOrigin } from './pglite-origin.ts';

/**
 * Format of the saved store. Bump it whenever `sampleValue`, the table shape or the PGlite major version
 * changes, so stale cache folders are ignored (a new folder name) rather than misread.
 */
export const SAMPLE_STORE_VERSION = '1-pglite0.5';

/** The trace sample shipped with the package. */
export const sampleTracePath = fileURLToPath(new URL('../../samples/cache2k-orm-busy-100k.txt.gz', import.meta.url));

/** Table the sample rows live in. */
export const SAMPLE_TABLE = 'prescient_items';

/** Written into the data folder once the build has completed; its presence marks a usable store. */
const MARKER_FILE = 'prescient-sample.json';

/** Rows per insert statement while building: one JSON parameter of ~300 KB. */
const BUILD_BATCH = 1000;

/** A document of the sample store. */
export type SampleItem = {
  readonly id: number;
  readonly name: string;
  readonly category: string;
  readonly priceCents: number;
  readonly stock: number;
  readonly tags: readonly string[];
  readonly description: string;
};

export type SampleOriginOptions = {
  /** Cache folder of the saved store. @default `<os.tmpdir()>/prescient-sample-pglite-<SAMPLE_STORE_VERSION>` */
  readonly dataDir?: string;
  /** Trace to take the keys from (one integer key per line, optionally gzipped). @default the shipped sample */
  readonly tracePath?: string;
  /**
   * `'copy'`: open a private copy of the saved folder, removed on `close()` (writes are discarded; safe with
   * concurrent opens; 1-1.9 s). `'in-place'`: open the saved folder itself (0.2-0.4 s; writes persist into the
   * saved store; the caller must ensure no other process or origin has it open). @default 'copy'
   */
  readonly isolation?: 'copy' | 'in-place';
};

const CATEGORIES = ['books', 'garden', 'kitchen', 'toys', 'audio', 'sports', 'office', 'tools'] as const;
const WORDS = ['amber', 'brisk', 'cobalt', 'dune', 'ember', 'fjord', 'granite', 'harbor', 'indigo', 'juniper', 'kestrel', 'lumen', 'marble', 'nimbus', 'onyx', 'prairie'] as const;

/**
 * The value stored for `key`: a product-like document of 250-400 bytes of JSON, a pure function of the key.
 * Fields come from a 32-bit integer hash (lowbias32, Chris Wellons) of the key's FNV-1a hash, re-mixed per field.
 */
export function sampleValue(key: string): SampleItem {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  const next = (): number => {
    h = Math.imul((h ^ (h >>> 16)) >>> 0, 0x7feb352d);
    h = Math.imul((h ^ (h >>> 15)) >>> 0, 0x846ca68b);
    h = (h ^ (h >>> 16)) >>> 0;
    h = (h + 0x9e3779b9) >>> 0;
    return h;
  };
  const word = (): string => WORDS[next() % WORDS.length];
  const id = Number.parseInt(key, 10);
  const name = `${word()} ${word()} ${word()}`;
  const category = CATEGORIES[next() % CATEGORIES.length];
  const tags = [word(), word(), category];
  const sentences = 2 + (next() % 3);
  const description = Array.from({ length: sentences }, () => `The ${word()} ${word()} line, made in ${word()} ${word()}.`).join(' ');
  return { id: Number.isSafeInteger(id) ? id : 0, name, category, priceCents: 100 + (next() % 100_000), stock: next() % 500, tags, description };
}

/** Distinct keys of a trace, in order of first appearance. Blank lines are skipped. */
export async function readSampleKeys(tracePath: string = sampleTracePath): Promise<string[]> {
  const seen = new Set<string>();
  const input = createReadStream(tracePath);
  const lines = createInterface({ input: tracePath.endsWith('.gz') ? input.pipe(createGunzip()) : input, crlfDelay: Infinity });
  for await (const line of lines) {
    const key = line.trim();
    if (key !== '') seen.add(key);
  }
  return [...seen];
}

/**
 * Opens the sample store as a PgliteOrigin over table `prescient_items` (one row per distinct trace key,
 * value `sampleValue(key)`, version 1), building it into `dataDir` on first use (5-9 s) and opening the
 * saved folder afterwards (see `isolation`). The origin owns its database: `close()` it when done. Rejects with ERR_ORIGIN_FAILED (cause attached) when the folder cannot be built or
 * opened; throws InvalidOptionError for a bad option.
 */
export async function openSampleOrigin(options: SampleOriginOptions = {}): Promise<PgliteOrigin<SampleItem>> {
  const dataDir = options.dataDir ?? join(tmpdir(), `prescient-sample-pglite-${SAMPLE_STORE_VERSION}`);
  if (typeof dataDir !== 'string' || dataDir === '') throw new InvalidOptionError('dataDir', 'a folder path', options.dataDir);
  const tracePath = options.tracePath ?? sampleTracePath;
  if (typeof tracePath !== 'string' || tracePath === '') throw new InvalidOptionError('tracePath', 'a file path', options.tracePath);
  const isolation = oneOf('isolation', options.isolation, ['copy', 'in-place'], 'copy');
  let copy: string | undefined;
  try {
    if (!(await exists(join(dataDir, MARKER_FILE)))) await build(dataDir, tracePath);
    if (isolation === 'copy') {
      copy = `${dataDir}.open-${process.pid}-${Math.floor(Math.random() * 1e9)}`;
      await cp(dataDir, copy, { recursive: true });
    }
    const privateDir = copy;
    const origin = new PgliteOrigin<SampleItem>({
      db: { dataDir: privateDir ?? dataDir },
      table: SAMPLE_TABLE,
      name: 'sample',
      onClose: privateDir === undefined ? undefined : () => rm(privateDir, { recursive: true, force: true }),
    });
    await origin.db.waitReady;
    return origin;
  } catch (error) {
    if (copy !== undefined) await rm(copy, { recursive: true, force: true });
    if (error instanceof PrescientError) throw error;
    throw new PrescientError('ERR_ORIGIN_FAILED', `Could not open the sample store in ${dataDir}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

/** Builds the store in a scratch folder beside `dataDir`, then renames it into place. */
async function build(dataDir: string, tracePath: string): Promise<void> {
  const keys = await readSampleKeys(tracePath);
  await makeDirectory(dirname(dataDir)); // (not mkdir's recursive option: it spins for ever under /proc)
  const scratch = `${dataDir}.building-${process.pid}-${Math.floor(Math.random() * 1e9)}`;
  const origin = new PgliteOrigin<SampleItem>({ db: { dataDir: scratch }, table: SAMPLE_TABLE, name: 'sample' });
  try {
    await origin.ensureTable();
    for (let i = 0; i < keys.length; i += BUILD_BATCH) {
      const batch: OriginRecord<SampleItem>[] = keys.slice(i, i + BUILD_BATCH).map((key) => ({ key, value: sampleValue(key), version: 1 }));
      await origin.putMany(batch);
    }
    await origin.db.query('checkpoint');
  } finally {
    await origin.close();
  }
  await writeFile(join(scratch, MARKER_FILE), JSON.stringify({ version: SAMPLE_STORE_VERSION, rows: keys.length, tracePath }));
  try {
    await rename(scratch, dataDir);
  } catch (error) {
    // Another process finished first (the folder exists): use its store, drop ours.
    await rm(scratch, { recursive: true, force: true });
    if (!(await exists(join(dataDir, MARKER_FILE)))) throw error;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
