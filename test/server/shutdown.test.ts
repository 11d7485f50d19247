import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MapOrigin } from '../../src/origin/function-origin.ts';
import type { FetchOptions, OriginRecord } from '../../src/origin/origin.ts';
import { rig } from './server-rig.ts';
import { waitFor } from '../doubles/net-wait.ts';

/** A MapOrigin whose reads of `slow` wait until released. */
class GatedMapOrigin extends MapOrigin<unknown> {
  #release: (() => void) | undefined;
  readonly #gate = new Promise<void>((resolve) => (this.#release = resolve));
  reached = false;

  override async getMany(keys: readonly string[], options?: FetchOptions): Promise<Array<OriginRecord<unknown> | undefined>> {
    if (keys.includes('slow')) {
      this.reached = true;
      await this.#gate;
    }
    return super.getMany(keys, options);
  }

  release(): void {
    this.#release?.();
  }
}

test('close: refuses new requests, finishes the one in flight, then flushes every acknowledged write to the origin', async () => {
  const origin = new GatedMapOrigin([['slow', 'finally']]);
  const r = await rig({ origin, config: { port: 0, writeBack: { flushIntervalMs: 3_600_000, groupCommitMs: 0 } } });
  const url = await r.server.listen();
  const acks: Array<{ key: string; version: number }> = [];
  for (let i = 0; i < 20; i++) {
    const res = await fetch(`${url}/v1/items/w${i}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ value: i }) });
    assert.equal(res.status, 200);
    acks.push((await res.json()) as { key: string; version: number });
  }
  assert.equal(origin.records.has('w0'), false, 'nothing is flushed before close (the interval is an hour)');
  const inFlight = fetch(`${url}/v1/items/slow`);
  await waitFor(() => origin.reached, 'the slow read to reach the origin');
  const closed = r.server.close();
  await new Promise((resolve) => setImmediate(resolve));
  const refused = await fetch(`${url}/healthz`).then(
    (res) => res.status,
    () => 'refused',
  );
  assert.ok(refused === 'refused' || refused === 503, `a new request during shutdown: ${refused}`);
  origin.release();
  const answer = await inFlight;
  assert.equal(answer.status, 200);
  assert.equal(((await answer.json()) as { value: unknown }).value, 'finally');
  await closed;
  for (const ack of acks) assert.equal(origin.records.get(ack.key)?.version, ack.version, ack.key);
  await r.close();
});

test('close: a request read while shutting down gets 503 in the error shape of every other error, and its connection closes', async () => {
  const origin = new GatedMapOrigin([['slow', 'finally']]);
  const r = await rig({ origin, config: { port: 0 } });
  const url = await r.server.listen();
  // A second listener that hands its requests to the same Fastify router: a request that arrives on a connection
  // the shutdown has not closed yet (pipelined or keep-alive), which the server must still answer.
  const side = createHttpServer((req, res) => r.server.app.routing(req, res));
  await new Promise<void>((resolve) => side.listen(0, '127.0.0.1', resolve));
  const sideUrl = `http://127.0.0.1:${(side.address() as AddressInfo).port}`;
  try {
    assert.equal((await fetch(`${sideUrl}/readyz`)).status, 200, 'the side door reaches the routes');
    const inFlight = fetch(`${url}/v1/items/slow`);
    await waitFor(() => origin.reached, 'the slow read to reach the origin');
    const closed = r.server.close();
    for (const [path, code] of [['/readyz', 'ERR_NOT_READY'], ['/v1/items/a', 'ERR_CLOSED'], ['/healthz', 'ERR_CLOSED']] as const) {
      const res = await fetch(`${sideUrl}${path}`);
      assert.equal(res.status, 503, path);
      assert.equal(res.headers.get('connection'), 'close', path);
      assert.deepEqual(await res.json(), { error: { code, message: 'The server is shutting down' } }, path);
    }
    origin.release();
    assert.equal((await inFlight).status, 200, 'the request in flight when close began is answered');
    await closed;
  } finally {
    await new Promise((resolve) => side.close(resolve));
    await r.close();
  }
});
