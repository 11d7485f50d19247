/**
 * Own Redis servers for tests that must stop, kill or cluster one: each runs from /usr/bin/redis-server on a spare
 * loopback port, in its own temporary directory, without persistence, and is killed by the test that started it.
 * Never touches the shared server on 6379.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { sparePort, waitFor } from './net-wait.ts';

export { sparePort, waitFor } from './net-wait.ts';

const run = promisify(execFile);
const REDIS_SERVER = '/usr/bin/redis-server';
const REDIS_CLI = '/usr/bin/redis-cli';
/** Longest wait for a server to accept connections or a cluster to turn ok. */
const READY_TIMEOUT_MS = 15_000;

/** One redis-server process started by a test. */
export class RedisServer {
  readonly port: number;
  readonly dir: string;
  readonly #extraArgs: readonly string[];
  #child: ChildProcess | undefined;

  private constructor(port: number, dir: string, extraArgs: readonly string[]) {
    this.port = port;
    this.dir = dir;
    this.#extraArgs = extraArgs;
  }

  /** Starts a server on a spare port (or `port`), in a new temp dir; resolves when it accepts commands. */
  static async start(options: { port?: number; args?: readonly string[] } = {}): Promise<RedisServer> {
    const dir = await mkdtemp(join(tmpdir(), 'prescient-redis-'));
    const server = new RedisServer(options.port ?? (await sparePort()), dir, options.args ?? []);
    await server.restart();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get isRunning(): boolean {
    return this.#child !== undefined && this.#child.exitCode === null && this.#child.signalCode === null;
  }

  /** (Re)starts the process on the same port and dir; resolves when it answers PING. */
  async restart(): Promise<void> {
    if (this.isRunning) return;
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--save', '', '--appendonly', 'no', '--daemonize', 'no', ...this.#extraArgs];
    const child = spawn(REDIS_SERVER, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    child.stdout?.resume();
    child.stderr?.resume();
    await waitFor(async () => (await cli(this.port, ['PING'])).trim() === 'PONG', `redis-server on ${this.port} to answer PING`);
  }

  /** Kills the process with SIGKILL (no shutdown, no save) and waits for it to exit. */
  async kill(): Promise<void> {
    const child = this.#child;
    if (child === undefined || !this.isRunning) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  /** Freezes the process (SIGSTOP): connections stay open, commands get no answer, as with a hung server. */
  pause(): void {
    this.#child?.kill('SIGSTOP');
  }

  /** Thaws a paused process (SIGCONT). */
  resume(): void {
    this.#child?.kill('SIGCONT');
  }

  /** Kills the process and removes its directory. */
  async stop(): Promise<void> {
    await this.kill();
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** A Redis Cluster of `masters` masters (no replicas) on spare loopback ports, made with `redis-cli --cluster create`. */
export class RedisClusterServers {
  readonly servers: readonly RedisServer[];

  private constructor(servers: readonly RedisServer[]) {
    this.servers = servers;
  }

  static async start(masters = 3): Promise<RedisClusterServers> {
    const servers: RedisServer[] = [];
    try {
      for (let i = 0; i < masters; i++) {
        const busPort = await sparePort();
        servers.push(
          await RedisServer.start({
            args: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-port', String(busPort), '--cluster-node-timeout', '2000'],
          }),
        );
      }
      const nodes = servers.map((s) => `127.0.0.1:${s.port}`);
      await run(REDIS_CLI, ['--cluster', 'create', ...nodes, '--cluster-replicas', '0', '--cluster-yes'], { timeout: READY_TIMEOUT_MS });
      for (const s of servers) {
        await waitFor(async () => (await cli(s.port, ['CLUSTER', 'INFO'])).includes('cluster_state:ok'), `cluster node ${s.port} to be ok`);
      }
      return new RedisClusterServers(servers);
    } catch (error) {
      await Promise.all(servers.map((s) => s.stop()));
      throw error;
    }
  }

  get rootNodes(): string[] {
    return this.servers.map((s) => s.url);
  }

  async stop(): Promise<void> {
    await Promise.all(this.servers.map((s) => s.stop()));
  }
}

async function cli(port: number, args: readonly string[]): Promise<string> {
  try {
    const { stdout } = await run(REDIS_CLI, ['-h', '127.0.0.1', '-p', String(port), ...args], { timeout: 2_000 });
    return stdout;
  } catch {
    return '';
  }
}
