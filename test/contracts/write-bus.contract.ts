/**
 * The WriteBus contract: what every transport of write notices must do (MemoryWriteBus here, RedisWriteBus against
 * a real Redis). `interrupt` breaks the bus's delivery to its subscribers the way the transport can break (a killed
 * connection), after which a subscriber must hear of a gap.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeNotice, encodeNotice, type WriteBus, type WriteNotice } from '../../src/cache/write-bus.ts';

export type WriteBusHarness = {
  readonly bus: WriteBus;
  /** Breaks delivery to the subscribers; resolves once it is back. */
  interrupt(): Promise<void>;
  close(): Promise<void>;
};

/** Waits until `check()` holds, a few ms at a time (real I/O), failing after `ms`. */
async function until(check: () => boolean, ms = 5_000): Promise<void> {
  for (let waited = 0; !check(); waited += 5) {
    if (waited > ms) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export function writeBusContract(name: string, make: () => Promise<WriteBusHarness>): void {
  describe(`WriteBus contract: ${name}`, () => {
    test('subscribers hear every notice published after they subscribed, in order, as the encoded text', async () => {
      const h = await make();
      try {
        const heardA: string[] = [];
        const heardB: string[] = [];
        await h.bus.subscribe({ notice: (m) => heardA.push(m), gap: () => {} });
        await h.bus.subscribe({ notice: (m) => heardB.push(m), gap: () => {} });
        const notices: WriteNotice[] = [
          { from: 'n1', keys: [{ key: 'a', below: 3 }, { key: 'b', upTo: 7 }, { key: 'c' }] },
          { from: 'n2', prefix: 'user:' },
          { from: 'n1', tag: 'catalog' },
          { from: 'n2', all: true },
        ];
        for (const n of notices) await h.bus.publish(n);
        await until(() => heardA.length === notices.length && heardB.length === notices.length);
        assert.deepEqual(heardA.map(decodeNotice), notices);
        assert.deepEqual(heardB, notices.map(encodeNotice));
      } finally {
        await h.close();
      }
    });

    test('an unsubscribed listener hears nothing more; the others still do', async () => {
      const h = await make();
      try {
        const gone: string[] = [];
        const kept: string[] = [];
        const stop = await h.bus.subscribe({ notice: (m) => gone.push(m), gap: () => {} });
        await h.bus.subscribe({ notice: (m) => kept.push(m), gap: () => {} });
        await h.bus.publish({ from: 'n', keys: [{ key: 'one' }] });
        await until(() => gone.length === 1 && kept.length === 1);
        await stop();
        await h.bus.publish({ from: 'n', keys: [{ key: 'two' }] });
        await until(() => kept.length === 2);
        assert.equal(gone.length, 1);
        assert.equal(decodeNotice(kept[1]).keys?.[0].key, 'two');
      } finally {
        await h.close();
      }
    });

    test('a subscriber whose delivery broke hears of a gap, then hears notices again', async () => {
      const h = await make();
      try {
        const heard: string[] = [];
        let gaps = 0;
        await h.bus.subscribe({ notice: (m) => heard.push(m), gap: () => gaps++ });
        await h.interrupt();
        await until(() => gaps >= 1);
        // Delivery comes back once the transport has subscribed again: publish until a notice arrives.
        const isBack = () => heard.some((m) => decodeNotice(m).keys?.[0].key === 'after');
        for (let tries = 0; !isBack(); tries++) {
          assert.ok(tries < 100, 'no notice heard after the gap');
          await h.bus.publish({ from: 'n', keys: [{ key: 'after' }] }).catch(() => {});
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      } finally {
        await h.close();
      }
    });

    test("a subscriber whose handlers throw keeps hearing notices and gaps, and the others hear every one", { timeout: 30_000 }, async () => {
      const h = await make();
      try {
        const thrown: string[] = [];
        let gaps = 0;
        const heard: string[] = [];
        await h.bus.subscribe({
          notice: (m) => {
            thrown.push(m);
            throw new Error('a notice handler fails');
          },
          gap: () => {
            gaps++;
            throw new Error('a gap handler fails');
          },
          down: () => {
            throw new Error('a down handler fails');
          },
        });
        await h.bus.subscribe({ notice: (m) => heard.push(m), gap: () => {} });
        await h.bus.publish({ from: 'n', keys: [{ key: 'one' }] });
        await h.bus.publish({ from: 'n', keys: [{ key: 'two' }] });
        await until(() => thrown.length === 2 && heard.length === 2);
        await h.interrupt();
        await until(() => gaps >= 1);
        const isBack = () => [thrown, heard].every((list) => list.some((m) => decodeNotice(m).keys?.[0].key === 'after'));
        for (let tries = 0; !isBack(); tries++) {
          assert.ok(tries < 100, 'a subscriber heard no notice after the gap');
          await h.bus.publish({ from: 'n', keys: [{ key: 'after' }] }).catch(() => {});
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      } finally {
        await h.close();
      }
    });
  });
}
