/**
 * Journal: an append-only, fsync'd log of records on local disk, with group commit and trimming.
 *
 * Why: a write-back cache acknowledges a write before the origin has it, so the write must first be durable
 * somewhere local. fsync costs a disk flush (0.1-10 ms); doing one per record caps a writer at a few hundred
 * writes a second. Group commit (as in PostgreSQL's WAL and every database since System R) lets every record
 * appended while one fsync runs (and, if set, within `groupCommitMs` of the first) share the next write + fsync, so
 * throughput grows with concurrency while each caller still waits for its own record to be on disk.
 *
 * Layout: segment files `<first seq, 20 digits>.seg` in `dir`, each a run of frames (journal-format.ts) with
 * consecutive sequence numbers, and a `checkpoint` file naming the highest sequence number the origin confirmed
 * (and the highest record version the caller reported, which outlives the records trimmed).
 * Trimming: `confirm(seq)` rewrites the checkpoint (write, fdatasync, rename: atomic, so a crash leaves the old or
 * the new one) and deletes closed segments whose records are all confirmed; the active segment is rolled once it
 * is fully confirmed and holds ROLL_CONFIRMED_BYTES or more, or once it reaches `segmentBytes`. The checkpoint is
 * what keeps a restart from re-sending confirmed records of a segment that could not be deleted yet; deleting
 * whole segments is what bounds the disk. Losing a checkpoint update only means re-sending records, which the
 * origin's idempotent upsert absorbs.
 *
 * Ownership: one process per directory. Two writers on one journal would replay each other's records, take
 * overlapping sequence numbers and checkpoint past records the other has not flushed, losing acknowledged writes;
 * so `open()` takes an exclusive lock first (journal-lock.ts): a `LOCK` file naming the holder's pid, taken over
 * only when that process is gone (a crash), removed by `close()`.
 *
 * Failure: an error writing or syncing a segment leaves its state on disk unknown (after a failed fsync the page
 * cache may have dropped the data), so the journal fails for good: every pending and later append rejects with
 * ERR_JOURNAL_FAILED, and the process must restart and replay.
 */
import { open, readdir, readFile, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { TimerHandle } from '../clock.ts';
import { PrescientError } from '../errors.ts';
import { encodeFrame, type JournalFrame, MAX_FRAME_PAYLOAD_BYTES, scanSegment, tornTailProblem } from './journal-format.ts';
import { makeDirectory } from '../make-directory.ts';
import { CHECKPOINT_FILE, corrupt, readCheckpoint, syncDir, truncateTail, writeCheckpoint } from './journal-files.ts';
import { acquireJournalLock, type JournalLock } from './journal-lock.ts';
import { resolveJournalOptions, type JournalOptions, type ResolvedJournalOptions } from './journal-options.ts';

export type { JournalOptions } from './journal-options.ts';

export type { JournalFrame } from './journal-format.ts';

/**
 * A fully confirmed active segment is rolled (and so deleted) once it holds this many bytes (64 KiB): below it,
 * keeping a few confirmed records costs less than creating a file and syncing the directory on every flush,
 * and the checkpoint keeps them from being re-sent.
 */
export const ROLL_CONFIRMED_BYTES = 64 * 1024;


type Segment = { firstSeq: number; lastSeq: number; bytes: number; path: string };
type Waiter = { frame: Buffer; seq: number; resolve: (seq: number) => void; reject: (error: unknown) => void };

/** The error every append rejects with once the journal failed. */
function journalFailed(message: string, cause: unknown): PrescientError {
  return new PrescientError('ERR_JOURNAL_FAILED', `${message}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
}

/** An append-only record log with group commit. Call `open()` first; `append` resolves once the record is fsynced. */
export class Journal {
  readonly #o: ResolvedJournalOptions;
  readonly #segments: Segment[] = [];
  #active: FileHandle | undefined;
  #nextSeq = 1;
  #confirmedSeq = 0;
  #confirmedVersion = 0;
  #queue: Waiter[] = [];
  #queuedBytes = 0;
  #timer: TimerHandle | undefined;
  #writing: Promise<void> | undefined;
  #rollRequested = false;
  #checkpointing: Promise<void> = Promise.resolve();
  #failure: PrescientError | undefined;
  #state: 'new' | 'open' | 'closed' = 'new';
  #isClosing = false;
  #syncs = 0;
  #lock: JournalLock | undefined;

  /** @throws InvalidOptionError for a missing `dir` or an out-of-range number */
  constructor(options: JournalOptions) {
    this.#o = resolveJournalOptions(options);
  }

  /** Highest sequence number the origin confirmed (from the checkpoint). */
  get confirmedSeq(): number {
    return this.#confirmedSeq;
  }

  /**
   * Highest version passed to `confirm` so far, kept in the checkpoint across restarts (0 when none): it outlives the
   * records trimmed away, so a writer can give later records higher versions than any it wrote before.
   */
  get confirmedVersion(): number {
    return this.#confirmedVersion;
  }

  /** Sequence number of the last record appended (durable or not); 0 when none. */
  get lastSeq(): number {
    return this.#nextSeq - 1;
  }

  /** Bytes in segment files on disk, confirmed records not yet trimmed included. */
  get bytes(): number {
    let total = 0;
    for (const s of this.#segments) total += s.bytes;
    return total;
  }

  /** Number of write + fsync rounds so far (each acknowledges a group of appends). */
  get syncs(): number {
    return this.#syncs;
  }

  /**
   * Opens the journal and returns the records not yet confirmed, in sequence order. A torn tail of the last
   * segment (at most one group write) is truncated.
   * @throws PrescientError ERR_JOURNAL_FAILED naming the holder when another live process (or another open
   *   Journal in this one) holds the directory's lock, or when the directory cannot be made (at once, even under
   *   /proc; the errno in `cause`) or the files cannot be read; ERR_JOURNAL_CORRUPT when
   *   an acknowledged record is unreadable (bad frame before valid ones, bad bytes longer than one group write,
   *   records the checkpoint confirms missing, a gap in sequence numbers, a damaged checkpoint), leaving the
   *   files as they were. A failed open releases the lock.
   */
  async open(): Promise<JournalFrame[]> {
    if (this.#state !== 'new') throw new PrescientError('ERR_JOURNAL_FAILED', 'Journal.open() called twice');
    this.#state = 'open';
    const dir = this.#o.dir;
    try {
      await makeDirectory(dir); // (not mkdir's recursive option: it spins for ever under /proc, see makeDirectory)
    } catch (error) {
      this.#state = 'closed';
      throw journalFailed(`Cannot open the journal in ${dir}`, error);
    }
    this.#lock = await acquireJournalLock(dir).catch((error: unknown) => {
      this.#state = 'closed';
      throw error;
    });
    try {
      return await this.#load();
    } catch (error) {
      this.#state = 'closed';
      await this.#active?.close().catch(() => undefined);
      this.#active = undefined;
      await this.#lock.release().catch(() => undefined);
      throw error;
    }
  }

  async #load(): Promise<JournalFrame[]> {
    const dir = this.#o.dir;
    let names: string[];
    try {
      ({ seq: this.#confirmedSeq, version: this.#confirmedVersion } = await readCheckpoint(join(dir, CHECKPOINT_FILE)));
      names = (await readdir(dir)).filter((n) => /^\d{20}\.seg$/.test(n)).sort();
    } catch (error) {
      if (error instanceof PrescientError) throw error;
      throw journalFailed(`Cannot open the journal in ${dir}`, error);
    }
    const unconfirmed: JournalFrame[] = [];
    let expected = 0;
    for (let i = 0; i < names.length; i++) {
      const path = join(dir, names[i]);
      const firstSeq = Number(names[i].slice(0, 20));
      if (expected !== 0 && firstSeq !== expected) throw corrupt(`segment ${names[i]} starts at ${firstSeq}, expected ${expected}`);
      if (expected === 0 && firstSeq > this.#confirmedSeq + 1) throw corrupt(`records ${this.#confirmedSeq + 1} to ${firstSeq - 1} are missing`);
      const bytes = await readFile(path).catch((error: unknown) => {
        throw journalFailed(`Cannot read journal segment ${path}`, error);
      });
      const scan = scanSegment(bytes, firstSeq);
      const isLast = i === names.length - 1;
      if (scan.damage === 'corrupt' || (scan.damage === 'torn' && !isLast)) {
        throw corrupt(`bad record at byte ${scan.validBytes} of ${names[i]}${scan.detail === undefined ? '' : ` (${scan.detail})`}`);
      }
      const lastSeq = firstSeq + scan.frames.length - 1;
      // The checkpoint proves every record up to it was written, and the last segment always reaches it (confirm
      // never passes what is on disk): falling short is lost records, never a torn write or a trim.
      if (isLast && lastSeq < this.#confirmedSeq) {
        throw corrupt(`${names[i]} ends at record ${lastSeq}, but the checkpoint confirms records up to ${this.#confirmedSeq}`);
      }
      if (scan.damage === 'torn') {
        const problem = tornTailProblem(bytes, scan.validBytes, this.#o.maxGroupBytes);
        if (problem !== undefined) throw corrupt(`bad record at byte ${scan.validBytes} of ${names[i]}: ${problem}`);
        await truncateTail(path, scan.validBytes);
      }
      for (const frame of scan.frames) if (frame.seq > this.#confirmedSeq) unconfirmed.push(frame);
      this.#segments.push({ firstSeq, lastSeq, bytes: scan.validBytes, path });
      expected = lastSeq + 1;
    }
    this.#nextSeq = Math.max(expected, this.#confirmedSeq + 1, 1);
    try {
      await this.#deleteConfirmedSegments();
      const last = this.#segments.at(-1);
      if (last !== undefined && last.bytes < this.#o.segmentBytes && last.lastSeq === this.#nextSeq - 1) {
        this.#active = await open(last.path, 'a');
      } else {
        await this.#roll();
      }
    } catch (error) {
      throw journalFailed(`Cannot open a journal segment in ${dir}`, error);
    }
    return unconfirmed;
  }

  /**
   * Appends a record. The sequence number is taken at the call, so records are durable in call order; the
   * promise resolves with it once the record is written and fsynced.
   * @throws PrescientError ERR_CLOSED after `close()`; ERR_JOURNAL_FAILED when the journal failed (cause attached);
   *   ERR_VALUE_TOO_LARGE for a payload over MAX_FRAME_PAYLOAD_BYTES (nothing is written: a restart would read
   *   such a frame as damage)
   */
  append(payload: Uint8Array): Promise<number> {
    if (this.#state !== 'open') return Promise.reject(new PrescientError('ERR_CLOSED', 'The journal is not open'));
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    if (payload.length > MAX_FRAME_PAYLOAD_BYTES) {
      return Promise.reject(new PrescientError('ERR_VALUE_TOO_LARGE', `Journal record of ${payload.length} bytes is over the frame limit of ${MAX_FRAME_PAYLOAD_BYTES}`));
    }
    const seq = this.#nextSeq++;
    const frame = encodeFrame(seq, payload);
    return new Promise<number>((resolve, reject) => {
      this.#queue.push({ frame, seq, resolve, reject });
      this.#queuedBytes += frame.length;
      this.#schedule();
    });
  }

  /**
   * Records that the origin holds every record up to `seq`: rewrites the checkpoint and deletes what is no longer
   * needed. Confirmations are applied in call order; a lower `seq` than the current one is ignored. `version` (the
   * highest version among the records so far, for the caller) is kept in the checkpoint (`confirmedVersion`).
   * @throws PrescientError ERR_JOURNAL_FAILED when the checkpoint cannot be written
   */
  confirm(seq: number, version = 0): Promise<void> {
    const run = this.#checkpointing.then(async () => {
      if (seq <= this.#confirmedSeq || this.#state === 'closed') return;
      // Never past what is on disk: open() takes a last segment short of the checkpoint for lost records.
      const upTo = Math.min(seq, this.#segments.at(-1)?.lastSeq ?? this.lastSeq);
      if (upTo <= this.#confirmedSeq) return;
      const highest = Math.max(this.#confirmedVersion, version);
      try {
        await writeCheckpoint(this.#o.dir, upTo, highest);
        this.#confirmedSeq = upTo;
        this.#confirmedVersion = highest;
        await this.#deleteConfirmedSegments();
      } catch (error) {
        throw journalFailed('Cannot write the journal checkpoint', error);
      }
      const active = this.#segments.at(-1);
      if (!this.#isClosing && active !== undefined && active.lastSeq <= upTo && active.bytes >= ROLL_CONFIRMED_BYTES) {
        this.#rollRequested = true;
        this.#schedule(true);
      }
    });
    this.#checkpointing = run.catch(() => undefined);
    return run;
  }

  /** Resolves once every append made so far is written and fsynced (or has failed), skipping the group window. */
  async settle(): Promise<void> {
    while (this.#queue.length > 0 || this.#writing !== undefined) {
      if (this.#writing === undefined) this.#commit();
      await this.#writing;
    }
  }

  /**
   * Writes what is queued, waits for it, closes the files and releases the directory's lock. Appends after this
   * reject with ERR_CLOSED.
   */
  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    if (this.#state === 'open') {
      if (this.#timer !== undefined) this.#o.clock.clearTimer(this.#timer);
      this.#timer = undefined;
      this.#isClosing = true;
      do {
        await this.settle();
        await this.#checkpointing;
      } while (this.#writing !== undefined || this.#queue.length > 0);
    }
    this.#state = 'closed';
    const active = this.#active;
    this.#active = undefined;
    await active?.close().catch(() => undefined);
    await this.#lock?.release().catch(() => undefined);
    this.#lock = undefined;
  }

  #schedule(now = false): void {
    if (this.#writing !== undefined) return;
    if (now || this.#o.groupCommitMs === 0 || this.#queuedBytes >= this.#o.maxGroupBytes) {
      this.#commit();
    } else if (this.#timer === undefined) {
      this.#timer = this.#o.clock.setTimer(this.#o.groupCommitMs, () => {
        this.#timer = undefined;
        this.#commit();
      });
    }
  }

  #commit(): void {
    if (this.#writing !== undefined) return;
    if (this.#timer !== undefined) this.#o.clock.clearTimer(this.#timer);
    this.#timer = undefined;
    this.#writing = this.#drain().finally(() => {
      this.#writing = undefined;
      if (this.#queue.length > 0 || this.#rollRequested) this.#schedule(this.#rollRequested);
    });
  }

  /** Writes groups until the queue is empty; records queued during one write + fsync form the next group. */
  async #drain(): Promise<void> {
    while ((this.#queue.length > 0 || this.#rollRequested) && this.#failure === undefined) {
      let group: Waiter[] = [];
      try {
        await this.#maybeRoll();
        group = this.#takeGroup();
        if (group.length > 0) await this.#writeGroup(group);
      } catch (error) {
        this.#failure = journalFailed('Journal write failed', error);
        for (const w of group) w.reject(this.#failure);
        break;
      }
      for (const w of group) w.resolve(w.seq);
    }
    if (this.#failure !== undefined) {
      for (const w of this.#queue) w.reject(this.#failure);
      this.#queue = [];
      this.#queuedBytes = 0;
    }
  }

  #takeGroup(): Waiter[] {
    let bytes = 0;
    let n = 0;
    while (n < this.#queue.length && (n === 0 || bytes + this.#queue[n].frame.length <= this.#o.maxGroupBytes)) {
      bytes += this.#queue[n].frame.length;
      n++;
    }
    const group = this.#queue.splice(0, n);
    this.#queuedBytes -= bytes;
    return group;
  }

  async #writeGroup(group: Waiter[]): Promise<void> {
    const active = this.#active;
    const segment = this.#segments.at(-1);
    if (active === undefined || segment === undefined) throw new Error('no active segment');
    const data = group.length === 1 ? group[0].frame : Buffer.concat(group.map((w) => w.frame));
    let written = 0;
    while (written < data.length) {
      const { bytesWritten } = await active.write(data, written, data.length - written);
      written += bytesWritten;
    }
    await active.datasync();
    this.#syncs++;
    segment.bytes += data.length;
    segment.lastSeq = group[group.length - 1].seq;
  }

  async #maybeRoll(): Promise<void> {
    const active = this.#segments.at(-1);
    if (active === undefined) return;
    const isFull = active.bytes >= this.#o.segmentBytes;
    const isConfirmed = this.#rollRequested && active.lastSeq <= this.#confirmedSeq && active.bytes > 0;
    this.#rollRequested = false;
    if (isFull || isConfirmed) {
      await this.#roll();
      await this.#deleteConfirmedSegments();
    }
  }

  /**
   * Starts a new segment at the next sequence number not yet written and syncs the directory so the file
   * survives a crash. Runs only between group writes, so every record before that number is in older segments.
   */
  async #roll(): Promise<void> {
    const firstSeq = this.#queue.length > 0 ? this.#queue[0].seq : this.#nextSeq;
    const path = join(this.#o.dir, `${String(firstSeq).padStart(20, '0')}.seg`);
    const previous = this.#active;
    this.#active = undefined;
    await previous?.close();
    this.#active = await open(path, 'a');
    this.#segments.push({ firstSeq, lastSeq: firstSeq - 1, bytes: 0, path });
    await syncDir(this.#o.dir);
  }

  async #deleteConfirmedSegments(): Promise<void> {
    const done: Segment[] = [];
    while (this.#segments.length > 1 && this.#segments[0].lastSeq <= this.#confirmedSeq) done.push(this.#segments.shift()!);
    for (const s of done) await unlink(s.path);
    if (done.length > 0) await syncDir(this.#o.dir);
  }
}
