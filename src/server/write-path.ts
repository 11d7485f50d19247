/**
 * WritePath: the write side of the service. `openWritePath` puts the write-back journal (WriteBack) in front of a
 * writable origin — a write is acknowledged once fsynced, flushed to the origin in batches, and replayed on the
 * next start if the process stops first — and answers ERR_ORIGIN_READ_ONLY for writes to an origin without
 * `putMany`. Tests and benchmarks may inject any WritePath.
 */
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Clock } from '../clock.ts';
import { PrescientError } from '../errors.ts';
import type { Origin } from '../origin/origin.ts';
import { Hlc } from '../sync/hlc.ts';
import { WriteBack } from '../sync/write-back.ts';
import type { ServerConfig } from './config.ts';

/** A pino-compatible logger subset. */
export type ServiceLogger = { warn(details: object, message: string): void };

/** The acknowledgement of a write: the journal holds it, under this version. */
export type WriteAck = { readonly key: string; readonly version: number; readonly deleted?: boolean };

/**
 * The write side the service writes through: a journal that acknowledges once a write is durable and flushes to
 * the origin later, and a `reader` origin that answers with the writes not yet flushed laid over the origin.
 */
export interface WritePath {
  readonly reader: Origin<unknown>;
  start(): Promise<void>;
  put(key: string, value: unknown): Promise<WriteAck>;
  delete(key: string): Promise<WriteAck>;
  /** Writes every acknowledged write to the origin. */
  flush(): Promise<void>;
  /** Flushes, then releases the journal. */
  close(): Promise<void>;
  stats?(): Readonly<Record<string, number>>;
  /** Calls `listener` for each write the origin refused or declined (another node wrote a newer version). */
  onDropped?(listener: (key: string, version: number) => void): void;
}

/**
 * Directory of the journal when the config names none: `<tmpdir>/prescient-journal-<port>` for a fixed port (a
 * restart on the same port replays what the last run could not flush), a fresh temporary directory for port 0
 * (several such servers, in tests and benchmarks, must not share one journal). Returns whether it is fresh.
 */
export function defaultJournalDir(port: number): { readonly dir: string; readonly isFresh: boolean } {
  if (port !== 0) return { dir: join(tmpdir(), `prescient-journal-${port}`), isFresh: false };
  return { dir: mkdtempSync(join(tmpdir(), 'prescient-journal-')), isFresh: true };
}

/**
 * The write-back journal of `config` (`journalDir`, `writeBack`) in front of `origin`, or a write path that
 * refuses writes when the origin takes none. Call `start()` before use. A fresh default journal directory is
 * removed on `close()` once everything in it reached the origin.
 * @throws InvalidOptionError (ERR_INVALID_OPTION) for a bad write-back option.
 */
export function openWritePath(config: ServerConfig, origin: Origin<unknown>, clock: Clock, logger: ServiceLogger | undefined): WritePath {
  if (origin.putMany === undefined) return new ReadOnlyWrites(origin);
  const { dir, isFresh } = config.journalDir !== undefined
    ? { dir: config.journalDir, isFresh: false }
    : config.dataDir !== undefined
      ? { dir: join(config.dataDir, 'journal'), isFresh: false }
      : defaultJournalDir(config.port);
  if (config.journalDir === undefined && config.dataDir === undefined) {
    // The temp folder may be a tmpfs (fsync is then a no-op and a reboot drops acknowledged writes): say so.
    logger?.warn({ dir }, 'write-back journal in the temporary folder: set journalDir or dataDir for writes that survive a reboot');
  }
  const wb = new WriteBack<unknown>({
    origin,
    dir,
    clock,
    flushIntervalMs: config.writeBack.flushIntervalMs,
    groupCommitMs: config.writeBack.groupCommitMs,
    hlc: config.writeBack.nodeId === undefined ? undefined : new Hlc({ clock, nodeId: config.writeBack.nodeId }),
    logger,
  });
  return {
    reader: wb.reader,
    start: async () => {
      await wb.start();
    },
    put: (key, value) => wb.put(key, value),
    delete: (key) => wb.delete(key),
    flush: () => wb.flush(),
    close: async () => {
      await wb.close();
      if (!isFresh) return;
      const { pending } = wb.stats();
      if (pending === 0) await rm(dir, { recursive: true, force: true });
      // A fresh folder (port 0, no journalDir) is one no later start reads: its acknowledged writes would be lost
      // in silence. They stay on disk; the log names the folder so they can be replayed (journalDir set to it).
      else logger?.warn({ dir, pending }, 'write-back journal closed with acknowledged writes not yet at the origin, in a folder no later start reads: start with journalDir set to it to replay them');
    },
    onDropped: (listener) => {
      wb.on('write:rejected', ({ key, version }) => listener(key, version));
      wb.on('write:superseded', ({ key, version }) => listener(key, version));
    },
    stats: () => {
      const s = wb.stats();
      return { writeBackPending: s.pending, journalBytes: s.journalBytes, writeBackFlushed: s.flushed, writeBackFailures: s.failures, writeBackRejected: s.rejected, writeBackSuperseded: s.superseded, writeBackLagMs: s.lastFlushLagMs };
    },
  };
}

/** The write path of an origin without `putMany`: reads pass through, writes answer ERR_ORIGIN_READ_ONLY. */
class ReadOnlyWrites implements WritePath {
  readonly reader: Origin<unknown>;

  constructor(origin: Origin<unknown>) {
    this.reader = origin;
  }

  async start(): Promise<void> {}

  put(): Promise<WriteAck> {
    return Promise.reject(new PrescientError('ERR_ORIGIN_READ_ONLY', 'The origin does not accept writes'));
  }

  delete(): Promise<WriteAck> {
    return this.put();
  }

  async flush(): Promise<void> {}

  async close(): Promise<void> {}
}
