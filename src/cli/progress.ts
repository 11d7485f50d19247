/**
 * Progress: a bar on stderr for long work (cli-progress), drawn only on a terminal so piped output stays clean.
 *
 * While a bar is drawn the cursor is hidden and line wrap is off, so an interrupt must not end the process without
 * undoing that: on SIGINT or SIGTERM the bar is stopped (cursor and wrap restored) and the process exits 130 or 143
 * (128 + the signal's number, as a shell reports a process killed by it). cli-progress's own `gracefulExit` is not
 * used: it only stops the bar and leaves its listener in place, so Node no longer exits on the signal at all.
 */
import cliProgress from 'cli-progress';
import type { CliIo } from './io.ts';

/** A bar (or count line) for one task at a time; every method is a no-op when stderr is not a terminal. */
export type Progress = {
  /** Starts (or restarts) the bar for a task of `total` steps. */
  start(label: string, total: number): void;
  /**
   * Starts (or restarts) a status line for a task of unknown size: `label`, the count so far and `unit`
   * ("reading trace  65536 requests read, 1s"), for work whose total is not known until it ends.
   */
  count(label: string, unit: string): void;
  update(done: number): void;
  /**
   * While a bar is drawn, a promise that resolves on the next turn of the event loop (undefined otherwise): work
   * that only turns microtasks awaits it now and then, or a Ctrl-C would wait for the whole of that work.
   */
  turn(): Promise<void> | undefined;
  stop(): void;
};

/** The signals a drawn bar answers, and the exit code each ends the process with (128 + the signal number). */
export const signalExitCodes: Readonly<Record<'SIGINT' | 'SIGTERM', number>> = { SIGINT: 130, SIGTERM: 143 };

/** The part of `process` the bar listens to and exits through; a test passes an EventEmitter with an `exit` spy. */
export type SignalTarget = {
  on(event: 'SIGINT' | 'SIGTERM', listener: () => void): unknown;
  off(event: 'SIGINT' | 'SIGTERM', listener: () => void): unknown;
  exit(code: number): void;
};

/**
 * Calls `onInterrupt` for every SIGINT or SIGTERM heard on `signals` until the returned function is called. Why `on`
 * and not `once`: with no listener left Node restores the default action, and a second Ctrl-C while the first one's
 * handler is exiting would kill the process by signal instead of with the exit code.
 */
export function onInterrupts(signals: SignalTarget, onInterrupt: (signal: 'SIGINT' | 'SIGTERM') => void): () => void {
  const listeners = { SIGINT: (): void => onInterrupt('SIGINT'), SIGTERM: (): void => onInterrupt('SIGTERM') };
  signals.on('SIGINT', listeners.SIGINT);
  signals.on('SIGTERM', listeners.SIGTERM);
  return () => {
    signals.off('SIGINT', listeners.SIGINT);
    signals.off('SIGTERM', listeners.SIGTERM);
  };
}

/** Options of `createProgress`. */
export type ProgressOptions = {
  /** Where SIGINT/SIGTERM are heard while a bar is drawn, and how the process exits on one. @default process */
  readonly signals?: SignalTarget;
};

/** Bar format; a count line (`count`, which passes a `unit`) is formatted in the bar's `format` function instead. */
const barFormat = '{label} [{bar}] {percentage}% | {value}/{total} | {eta_formatted} left';

/**
 * A progress bar on `io.stderr`, or a silent one when stderr is not a terminal. While one is drawn, SIGINT and
 * SIGTERM stop it and exit the process (130, 143); the listeners are removed when it stops.
 */
export function createProgress(io: CliIo, options: ProgressOptions = {}): Progress {
  if (io.isTTY !== true) return { start() {}, count() {}, update() {}, turn: () => undefined, stop() {} };
  const signals = options.signals ?? process;
  const bar = new cliProgress.SingleBar(
    {
      format: (opts, params, payload: { label: string; unit?: string }) =>
        payload.unit === undefined
          ? cliProgress.Format.Formatter({ ...opts, format: barFormat }, params, payload)
          : `${payload.label} ${params.value} ${payload.unit} read, ${Math.round((Date.now() - params.startTime) / 1000)}s`,
      stream: io.stderr as NodeJS.WritableStream,
      hideCursor: true,
      clearOnComplete: true,
      etaBuffer: 50,
      fps: 10,
    },
    cliProgress.Presets.shades_classic,
  );
  let isActive = false;
  /** Ends the signal listeners; undefined while none are on. */
  let unlisten: (() => void) | undefined;
  const begin = (total: number, payload: { label: string; unit?: string }): void => {
    unlisten ??= onInterrupts(signals, interrupt);
    if (isActive) bar.stop();
    bar.start(total, 0, { ...payload, label: payload.label.padEnd(22) });
    isActive = true;
  };
  const stop = (): void => {
    if (isActive) bar.stop();
    isActive = false;
    // Removed on the next turn, not now: a signal that came during synchronous work is delivered on that turn, and
    // with the listener gone it would be dropped (the listener had already replaced the default action).
    setImmediate(() => {
      if (isActive) return; // a bar started again meanwhile keeps them
      unlisten?.();
      unlisten = undefined;
    });
  };
  function interrupt(signal: 'SIGINT' | 'SIGTERM'): void {
    // The listeners stay until the process is gone (see onInterrupts).
    if (isActive) bar.stop();
    isActive = false;
    signals.exit(signalExitCodes[signal]);
  }
  return {
    start: (label, total) => begin(total, { label }),
    count: (label, unit) => begin(0, { label, unit }),
    update(done) {
      if (isActive) bar.update(done);
    },
    turn: () => (isActive ? new Promise<void>((resolve) => setImmediate(resolve)) : undefined),
    stop,
  };
}
