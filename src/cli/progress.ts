/**
 * Progress: a bar on stderr for long work (cli-progress), drawn only on a terminal so piped output stays clean.
 */
import cliProgress from 'cli-progress';
import type { CliIo } from './io.ts';

export type Progress = {
  /** Starts (or restarts) the bar for a task of `total` steps. */
  start(label: string, total: number): void;
  update(done: number): void;
  stop(): void;
};

/** A progress bar on `io.stderr`, or a silent one when stderr is not a terminal. */
export function createProgress(io: CliIo): Progress {
  if (io.isTTY !== true) return { start() {}, update() {}, stop() {} };
  const bar = new cliProgress.SingleBar(
    {
      format: '{label} [{bar}] {percentage}% | {value}/{total} | {eta_formatted} left',
      stream: io.stderr as NodeJS.WritableStream,
      hideCursor: true,
      clearOnComplete: true,
      etaBuffer: 50,
      fps: 10,
    },
    cliProgress.Presets.shades_classic,
  );
  let isActive = false;
  return {
    start(label, total) {
      if (isActive) bar.stop();
      bar.start(total, 0, { label: label.padEnd(22) });
      isActive = true;
    },
    update(done) {
      if (isActive) bar.update(done);
    },
    stop() {
      if (isActive) bar.stop();
      isActive = false;
    },
  };
}
