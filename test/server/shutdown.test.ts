import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MapOrigin } from '../../src/origin/function-origin.ts';
import type { FetchOptions, OriginRecord } from '../../src/origin/origin.ts';
import { rig } from './server-rig.ts';

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
  while (!origin.reached) await new Promise((resolve) => setImmediate(resolve));
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
