/**
 * RedisWriteBus on the machine's Redis (127.0.0.1:6379) with user handlers that throw: a subscriber's `notice`,
 * `gap` or `down`, and the bus's own `onError`. Each throw must stay the handler's own: reported to `onError` (whose
 * own throw goes nowhere), never an uncaught exception from node-redis's event handlers, never a dropped reply or a
 * torn-down connection. Each test uses its own channel and client name and breaks only its own connections.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import { createClient } from 'redis';
import { RedisWriteBus } from '../../src/cache/redis-write-bus.ts';
import { waitFor } from '../doubles/net-wait.ts';

const url = 'redis://127.0.0.1:6379';

/** An admin connection for the test's own commands; `close` when done. */
async function admin() {
  const client = createClient({ url });
  await client.connect();
  return client;
}

/** Kills the subscribed connections named `name` (the bus's listening side); returns how many. */
async function killSubscribers(client: Awaited<ReturnType<typeof admin>>, name: string): Promise<number> {
  const list = String(await client.sendCommand(['CLIENT', 'LIST']));
  const ids = list.split('\n').filter((line) => line.includes(` name=${name} `) && / sub=[1-9]/.test(line)).map((line) => /\bid=(\d+)/.exec(line)![1]);
  for (const id of ids) await client.sendCommand(['CLIENT', 'KILL', 'ID', id]);
  return ids.length;
}

describe('RedisWriteBus with handlers that throw', () => {
  test('a notice handler that throws loses no other notice, even one that came in the same reply; the error goes to onError', { timeout: 30_000 }, async () => {
    const name = `bus-throw-notice-${randomUUID().slice(0, 8)}`;
    const errors: unknown[] = [];
    const bus = new RedisWriteBus({ url, channel: name, clientName: name, onError: (error) => errors.push(error) });
    const redis = await admin();
    try {
      const heard: string[] = [];
      const failure = new Error('the first notice fails its handler');
      await bus.subscribe({
        notice: (message) => {
          heard.push(message);
          if (heard.length === 1) throw failure;
        },
        gap: () => {},
      });
      // One transaction: both messages reach the subscriber in one read, decoded in one pass.
      await redis.multi().publish(name, 'first').publish(name, 'second').exec();
      await redis.publish(name, 'third');
      await waitFor(() => heard.includes('third'), 'the third notice', 5_000);
      assert.deepEqual(heard, ['first', 'second', 'third']);
      assert.ok(errors.includes(failure), "the handler's error went to onError");
      assert.equal(bus.isListening, true);
    } finally {
      await redis.close();
      await bus.close();
    }
  });

  test('an onError that throws, down and gap handlers that throw: no uncaught exception, and the subscription comes back', { timeout: 30_000 }, async () => {
    const name = `bus-throw-all-${randomUUID().slice(0, 8)}`;
    let onErrorCalls = 0;
    const bus = new RedisWriteBus({
      url,
      channel: name,
      clientName: name,
      reconnect: { minDelayMs: 10, maxDelayMs: 50 },
      onError: () => {
        onErrorCalls++;
        throw new Error('onError itself fails');
      },
    });
    const redis = await admin();
    try {
      const heard: string[] = [];
      let downs = 0;
      let gaps = 0;
      await bus.subscribe({
        notice: (message) => {
          heard.push(message);
          throw new Error('every notice fails its handler');
        },
        gap: () => {
          gaps++;
          throw new Error('the gap handler fails');
        },
        down: () => {
          downs++;
          throw new Error('the down handler fails');
        },
      });
      await redis.publish(name, 'before');
      await waitFor(() => heard.includes('before'), 'the first notice', 5_000);
      assert.ok((await killSubscribers(redis, name)) >= 1, 'a subscriber connection was there to kill');
      await waitFor(() => downs >= 1 && gaps >= 1 && bus.isListening, 'the drop and the gap', 10_000);
      await redis.publish(name, 'after');
      await waitFor(() => heard.includes('after'), 'a notice after the gap', 5_000);
      assert.equal(gaps, 1, 'one gap: the throwing handler did not make the connection drop again');
      assert.equal(bus.isListening, true);
      assert.ok(onErrorCalls >= 3, 'the notice, down and gap errors each went to onError');
    } finally {
      await redis.close();
      await bus.close();
    }
  });

  test('close() tells each live subscription it dropped (down, lost), once: its node forgets copies it will hear nothing about', { timeout: 30_000 }, async () => {
    const name = `bus-close-down-${randomUUID().slice(0, 8)}`;
    const bus = new RedisWriteBus({ url, channel: name, clientName: name });
    const downs: Array<boolean | undefined> = [];
    await bus.subscribe({ notice: () => {}, gap: () => {}, down: (isLost) => void downs.push(isLost) });
    const stop = await bus.subscribe({ notice: () => {}, gap: () => {}, down: () => void downs.push(undefined) });
    await stop(); // a stopped subscription hears nothing at close
    await bus.close();
    assert.deepEqual(downs, [true]);
  });
});
