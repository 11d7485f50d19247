/**
 * Builds a server in-process for HTTP tests: a MapOrigin (or the given origin), a VirtualClock, a journal in a
 * fresh temp directory, logs silenced; `inject` sends a request and parses the JSON answer.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WriteBus } from '../../src/cache/write-bus.ts';
import { VirtualClock } from '../../src/clock.ts';
import assert from 'node:assert/strict';
import { FunctionOrigin, MapOrigin } from '../../src/origin/function-origin.ts';
import type { Origin, OriginRecord } from '../../src/origin/origin.ts';
import type { Predictor } from '../../src/predict/predictor.ts';
import { createServer, type PrescientServer } from '../../src/server/app.ts';
import { resolveConfig } from '../../src/server/config.ts';

export type Rig = {
  readonly server: PrescientServer;
  readonly clock: VirtualClock;
  readonly origin: Origin<unknown>;
  inject(request: InjectRequest): Promise<Answer>;
  close(): Promise<void>;
};

export type InjectRequest = {
  readonly method?: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH' | 'HEAD' | 'OPTIONS';
  readonly url: string;
  readonly payload?: unknown;
  readonly headers?: Record<string, string>;
  readonly token?: string;
};

export type Answer = { readonly status: number; readonly body: any; readonly text: string; readonly headers: Record<string, unknown> };

/** Items the default origin holds. */
export const items: ReadonlyArray<readonly [string, unknown]> = [
  ['a', 1],
  ['b', { name: 'bee' }],
  ['c', [1, 2, 3]],
  ['user:1/orders', { n: 4 }],
  ['receipt', 'paid'],
];

export async function rig(options: { config?: Record<string, unknown>; origin?: Origin<unknown>; predictor?: Predictor; bus?: WriteBus } = {}): Promise<Rig> {
  const dir = mkdtempSync(join(tmpdir(), 'prescient-server-test-'));
  const clock = new VirtualClock(1_700_000_000_000);
  const origin = options.origin ?? new MapOrigin<unknown>(items);
  const config = resolveConfig({ logLevel: 'silent', journalDir: dir, writeBack: { groupCommitMs: 0 }, ...options.config }, {});
  const server = await createServer(config, { origin, clock, ...(options.predictor === undefined ? {} : { predictor: options.predictor }), ...(options.bus === undefined ? {} : { bus: options.bus }) });
  return {
    server,
    clock,
    origin,
    async inject(request) {
      const headers: Record<string, string> = { ...request.headers };
      if (request.token !== undefined) headers.authorization = `Bearer ${request.token}`;
      const payload = request.payload;
      const response = await server.app.inject({
        method: request.method ?? 'GET',
        url: request.url,
        headers,
        ...(payload === undefined ? {} : { payload: typeof payload === 'string' || Buffer.isBuffer(payload) ? payload : JSON.stringify(payload) }),
        ...(payload !== undefined && typeof payload !== 'string' && !Buffer.isBuffer(payload) && headers['content-type'] === undefined
          ? { headers: { ...headers, 'content-type': 'application/json' } }
          : {}),
      });
      let body: unknown;
      try {
        body = JSON.parse(response.body);
      } catch {
        body = undefined;
      }
      return { status: response.statusCode, body, text: response.body, headers: response.headers };
    },
    async close() {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** An origin that counts its calls and keys, and whose answers wait until the test releases them. */
export function gatedOrigin(): { origin: FunctionOrigin<unknown>; release(): void; calls: number; keys: number } {
  const waiting: Array<() => void> = [];
  let isOpen = false;
  const state = {
    calls: 0,
    keys: 0,
    origin: new FunctionOrigin<unknown>({
      getMany: (keys) => {
        state.calls++;
        state.keys += keys.length;
        const answer = (): Array<OriginRecord<unknown> | undefined> => keys.map((key) => ({ key, value: key, version: 1 }));
        if (isOpen) return Promise.resolve(answer());
        return new Promise((resolve) => waiting.push(() => resolve(answer())));
      },
      putMany: async () => {},
    }),
    release() {
      isOpen = true;
      for (const w of waiting.splice(0)) w();
    },
  };
  return state;
}

/** The message of the ERR_INVALID_CONFIG that `fn` throws (fails the test when it throws nothing or another code). */
export function configMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    assert.equal((error as { code?: string }).code, 'ERR_INVALID_CONFIG');
    return (error as Error).message;
  }
  assert.fail('expected ERR_INVALID_CONFIG');
}
