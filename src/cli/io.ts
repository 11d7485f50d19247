/**
 * CliIo: where a command writes. `main(argv, io)` takes it so tests can capture output in memory.
 */
export type CliIo = {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
  /** True when stderr is a terminal (progress bars are drawn only then). @default false */
  readonly isTTY?: boolean;
};
