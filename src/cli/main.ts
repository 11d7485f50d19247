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
  // Commander's own error line is left out: the catch below prints it in the coded form, after the help.
  const output = { writeOut: (s: string) => io.stdout.write(s), writeErr: (s: string) => io.stderr.write(s), outputError: () => {} };
  const program = new Command('prescient')
    .description('Predictive prefetching cache: replay traces, evaluate predictors, run the demo')
    .version('0.1.0')
    .exitOverride()
    .configureOutput(output)
    .showHelpAfterError();
  for (const command of [replayCommand(io, done), evaluateCommand(io, done), demoCommand(io, done), serveCommand(io, done)]) {
    program.addCommand(command.exitOverride().configureOutput(output));
  }
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return code;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.exitCode === 0) return 0;
      // A bad flag value is an invalid option; an unknown flag or command, a missing argument, a usage error.
      const coded = error.code === 'commander.invalidArgument' ? 'ERR_INVALID_OPTION' : 'ERR_USAGE';
      const message = error.code === 'commander.help' ? 'a command is needed (see above)' : error.message.replace(/^error: /, '');
      io.stderr.write(`prescient: ${coded}: ${message}\n`);
      return 2;
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
