/**
 * The `prescient` command line: `main(argv, io)` parses, runs one command and resolves with the exit code.
 * Errors become one line on stderr (coded errors show their code) and exit code 1; usage errors exit 2.
 */
import { Command, CommanderError } from 'commander';
import { PrescientError } from '../errors.ts';
import { demoCommand } from './demo.ts';
import { evaluateCommand } from './evaluate.ts';
import type { CliIo } from './io.ts';
import { replayCommand } from './replay.ts';
import { serveCommand } from './serve.ts';

export type { CliIo } from './io.ts';

/** Runs the command line `argv` (without the node and script paths). Never throws; resolves with the exit code. */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  let code = 0;
  const done = (c: number): void => {
    code = c;
  };
  const program = new Command('prescient')
    .description('Predictive prefetching cache: replay traces, evaluate predictors, run the demo')
    .version('0.1.0')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .showHelpAfterError();
  for (const command of [replayCommand(io, done), evaluateCommand(io, done), demoCommand(io, done), serveCommand(io, done)]) {
    program.addCommand(command.exitOverride().configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) }));
  }
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return code;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? 0 : 2;
    }
    if (error instanceof PrescientError) {
      io.stderr.write(`prescient: ${error.code}: ${error.message}\n`);
      return error.code === 'ERR_INVALID_OPTION' || error.code === 'ERR_USAGE' || error.code === 'ERR_INVALID_CONFIG' ? 2 : 1;
    }
    // Not a coded error: a fault of ours. The message and a code; the stack when asked for (PRESCIENT_DEBUG=1).
    const message = error instanceof Error ? error.message : String(error);
    const stack = process.env.PRESCIENT_DEBUG === '1' && error instanceof Error ? `\n${error.stack}` : ' (PRESCIENT_DEBUG=1 prints the stack)';
    io.stderr.write(`prescient: ERR_INTERNAL: ${message}${stack}\n`);
    return 1;
  }
}
