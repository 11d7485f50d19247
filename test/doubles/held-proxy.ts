/**
 * HeldProxy: a TCP proxy in front of a server whose replies a test can hold back and release, as a slow path between
 * one node and Redis would delay them. Holding keeps the bytes in order; nothing is dropped. Listens on loopback.
 */
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

export class HeldProxy {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  /** Replies held back, per client socket, in the order they came. */
  readonly #held = new Map<Socket, Buffer[]>();
  #isHolding = false;

  private constructor(server: Server) {
    this.#server = server;
  }

  /** A proxy to `port` on 127.0.0.1, listening on a port the OS picks. */
  static async start(port: number): Promise<HeldProxy> {
    let proxy: HeldProxy | undefined;
    const server = createServer((client) => proxy!.#pipe(client, port));
    proxy = new HeldProxy(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get url(): string {
    return `redis://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  /** From now on, what the server sends waits in the proxy. */
  hold(): void {
    this.#isHolding = true;
  }

  /** Sends on what was held, in order, and stops holding. */
  release(): void {
    this.#isHolding = false;
    for (const [client, chunks] of this.#held) if (!client.destroyed) for (const chunk of chunks) client.write(chunk);
    this.#held.clear();
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #pipe(client: Socket, port: number): void {
    const upstream = connect(port, '127.0.0.1');
    this.#sockets.add(client).add(upstream);
    client.on('data', (chunk) => upstream.write(chunk));
    upstream.on('data', (chunk) => {
      if (!this.#isHolding) return void client.write(chunk);
      const chunks = this.#held.get(client) ?? [];
      chunks.push(chunk);
      this.#held.set(client, chunks);
    });
    const end = (): void => {
      client.destroy();
      upstream.destroy();
      this.#sockets.delete(client);
      this.#sockets.delete(upstream);
    };
    for (const socket of [client, upstream]) {
      socket.on('close', end);
      socket.on('error', end);
    }
  }
}
