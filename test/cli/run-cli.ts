/**
 * Runs the command line in-process with its output captured in memory (CLI tests call `main(argv, io)`).
 */
import { main, type CliIo } from '../../src/cli/main.ts';

export type Captured = { code: number; stdout: string; stderr: string };

export async function run(argv: readonly string[]): Promise<Captured> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    isTTY: false,
  };
  const code = await main(argv, io);
  return { code, stdout, stderr };
}
