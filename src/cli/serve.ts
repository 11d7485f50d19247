/**
 * `prescient serve [--config prescient.config.json] [--port N] [--host H]`: runs the HTTP service until SIGTERM or
 * SIGINT, then shuts down gracefully — stops accepting connections, lets requests in flight finish, flushes the
 * write-back journal to the origin, closes the stores — and exits 0. The config file is validated on start
 * (ERR_INVALID_CONFIG naming the field, exit 2); an address it cannot bind is ERR_LISTEN_FAILED naming host:port
 * (exit 1); environment variables override it, flags override both. With
 * nothing configured: memory tier, embedded PGlite origin, journal in the temp folder, bound to 127.0.0.1:8787.
 * Prints `listening on <url>` on stdout once bound (scripts and tests read the URL from that line).
 */
import { readFile } from 'node:fs/promises';
import { Command, InvalidArgumentError } from 'commander';
import { PrescientError } from '../errors.ts';
import { createServer, type PrescientServer } from '../server/app.ts';
import { parseConfigText, resolveConfig, type ConfigOverrides, type ServerEnv } from '../server/config.ts';
import type { CliIo } from './io.ts';

export type ServeFlags = { readonly config?: string; readonly port?: number; readonly host?: string };

/** Signals that start a graceful shutdown. */
const shutdownSignals = ['SIGTERM', 'SIGINT'] as const;

export function serveCommand(io: CliIo, done: (code: number) => void): Command {
  return new Command('serve')
    .description('run the HTTP service (API, metrics, live dashboard) until SIGTERM/SIGINT')
    .option('--config <file>', 'JSON config file (validated on start; environment variables override it)')
    .option('--port <n>', 'port to bind, 0 for any free one (default 8787)', parsePort)
    .option('--host <h>', 'address to bind (default 127.0.0.1; anything else needs tokens)')
    .action(async (flags: ServeFlags) => {
      // Listening for the signals from the start: one that arrives while the stores open (the embedded store takes
      // seconds) shuts the server down as soon as it is up, rather than killing the process half-started (exit 143,
      // the embedded store's private copy left in the temp folder).
      const signals = watchSignals(io);
      let server: PrescientServer;
      try {
        server = await startServe(flags, io, process.env);
      } catch (error) {
        signals.dispose();
        throw error;
      }
      signals.started();
      await untilSignal(io, server, signals);
      done(0);
    });
}

/**
 * Resolves the config (file, then `env`, then flags), starts the server and binds it, and prints the address.
 * @throws PrescientError ERR_INVALID_CONFIG for a bad or unreadable config file or a bad variable;
 *   ERR_LISTEN_FAILED naming host:port when the address cannot be bound; the stores' errors when they cannot start.
 */
export async function startServe(flags: ServeFlags, io: CliIo, env: ServerEnv): Promise<PrescientServer> {
  let fileJson: unknown;
  if (flags.config !== undefined) {
    let text: string;
    try {
      text = await readFile(flags.config, 'utf8');
    } catch (error) {
      throw new PrescientError('ERR_INVALID_CONFIG', `Invalid configuration: cannot read ${flags.config}: ${(error as Error).message}`, { cause: error });
    }
    fileJson = parseConfigText(text, flags.config);
  }
  const overrides: ConfigOverrides = { ...(flags.port === undefined ? {} : { port: flags.port }), ...(flags.host === undefined ? {} : { host: flags.host }) };
  const config = resolveConfig(fileJson, env, overrides);
  const server = await createServer(config);
  let url: string;
  try {
    url = await server.listen();
  } catch (error) {
    await server.close().catch(() => {});
    throw listenError(error, config.host, config.port);
  }
  io.stdout.write(`prescient: listening on ${url}\n`);
  io.stderr.write(`prescient: dashboard at ${url}/ ; metrics at ${url}/metrics${config.tokens.length === 0 ? ' (no tokens: loopback only)' : ''}\n`);
  return server;
}

/** The shutdown signals, listened for: the first received, how to say the server is up, and how to stop listening. */
type SignalWatch = { readonly received: Promise<string>; started(): void; dispose(): void };

/**
 * Listens for SIGTERM and SIGINT; a second signal exits at once (code 130). A first one before `started()` says on
 * stderr that the server stops once it is up (a start that hangs, on a store that does not answer, takes a second).
 */
function watchSignals(io: CliIo): SignalWatch {
  let signalled = 0;
  let isStarted = false;
  let handler: (signal: string) => void = () => {};
  const received = new Promise<string>((resolve) => {
    handler = (signal: string): void => {
      signalled++;
      if (signalled > 1) {
        io.stderr.write(`prescient: ${signal} again, exiting without finishing the shutdown\n`);
        process.exit(130);
      }
      if (!isStarted) io.stderr.write(`prescient: ${signal} while starting: stopping once started (send it again to exit at once)\n`);
      resolve(signal);
    };
  });
  for (const s of shutdownSignals) process.on(s, handler);
  return { received, started: () => (isStarted = true), dispose: () => shutdownSignals.forEach((s) => process.off(s, handler)) };
}

/**
 * Waits for SIGTERM or SIGINT (possibly received already, while starting), then closes `server` gracefully. While
 * serving, an unhandled rejection is logged instead of ending the process.
 */
async function untilSignal(io: CliIo, server: PrescientServer, signals: SignalWatch): Promise<void> {
  const onRejection = (reason: unknown): void => server.app.log.error({ err: reason }, 'unhandled rejection');
  process.on('unhandledRejection', onRejection);
  const signal = await signals.received;
  io.stderr.write(`prescient: ${signal}: finishing requests in flight, flushing the journal\n`);
  try {
    await server.close();
  } finally {
    process.off('unhandledRejection', onRejection);
    signals.dispose();
  }
  io.stderr.write('prescient: stopped\n');
}

/** Why a bind failed, in words, by the socket error's code. */
const listenFailures: Readonly<Record<string, string>> = Object.freeze({
  EADDRINUSE: 'the port is already in use',
  EADDRNOTAVAIL: 'the address is not one of this machine\'s',
  ENOTFOUND: 'the host name does not resolve',
  EAI_AGAIN: 'the host name could not be resolved (DNS did not answer)',
  EACCES: 'permission denied (ports below 1024 need privileges)',
});

/**
 * A failure to bind as ERR_LISTEN_FAILED naming `host:port`, with the socket error as `cause`. A code of its own
 * rather than ERR_INVALID_CONFIG: a port in use or a name DNS cannot resolve yet may be gone on the next try, and
 * exit 1 (not the usage exit 2) tells a supervisor a retry can help.
 */
function listenError(error: unknown, host: string, port: number): PrescientError {
  if (error instanceof PrescientError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  const known = typeof code === 'string' ? listenFailures[code] : undefined;
  const reason = known === undefined ? (error instanceof Error ? error.message : String(error)) : `${known} (${String(code)})`;
  const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  return new PrescientError('ERR_LISTEN_FAILED', `Cannot listen on ${address}: ${reason}`, { cause: error });
}

function parsePort(value: string): number {
  if (!/^\d{1,5}$/.test(value.trim()) || Number(value) > 65535) throw new InvalidArgumentError(`expected a port from 0 to 65535, got ${JSON.stringify(value)}`);
  return Number(value);
}
