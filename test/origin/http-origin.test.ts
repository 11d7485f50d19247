/**
 * HttpOrigin against a small node:http server on a loopback port chosen by the OS: per-key GETs, batched
 * POSTs, versions from a field or an ETag, 404 as absent, error and timeout codes, keep-alive reuse.
 */
import assert from 'node:assert/strict';
import diagnostics from 'node:diagnostics_channel';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { VirtualClock } from '../../src/clock.ts';
import { isPrescientError } from '../../src/errors.ts';
import { Cache } from '../../src/cache/cache.ts';
import { MapOrigin } from '../../src/origin/function-origin.ts';
import { HttpOrigin } from '../../src/origin/http-origin.ts';
import { TieredOrigin } from '../../src/origin/tiered-origin.ts';
import { isOriginFailure } from '../../src/origin/origin.ts';

const items = new Map<string, { name: string; version: number }>([
  ['1', { name: 'lamp', version: 3 }],
  ['2', { name: 'desk', version: 4 }],
  ['a/b c', { name: 'odd key', version: 5 }],
]);
const requests: string[] = [];
/** Each test that talks to the server is bounded, so a request left hanging fails it instead of the run. */
const io = { timeout: 30_000 };

/**
 * Resolves once the client (undici, which HttpOrigin uses) has received the status line and headers of a response
 * with `status` to a request whose path ends with `pathEnd`: undici publishes each on `undici:request:headers`.
 * Fails after a generous bound (only a regression reaches it).
 */
function clientReceivedHeaders(pathEnd: string, status: number): Promise<void> {
  let onHeaders: (message: unknown) => void = () => {};
  let timer: NodeJS.Timeout | undefined;
  return new Promise<void>((resolve, reject) => {
    onHeaders = (message) => {
      const { request, response } = message as { request: { path: string }; response: { statusCode: number } };
      if (request.path.endsWith(pathEnd) && response.statusCode === status) resolve();
    };
    diagnostics.subscribe('undici:request:headers', onHeaders);
    timer = setTimeout(() => reject(new Error(`no ${status} response to ${pathEnd} reached the client within 10 s`)), 10_000);
  }).finally(() => {
    clearTimeout(timer);
    diagnostics.unsubscribe('undici:request:headers', onHeaders);
  });
}
const sockets = new Set<unknown>();
let baseUrl = '';
let slowArrived: () => void = () => {};

const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
  sockets.add(req.socket);
  requests.push(`${req.method} ${req.url} ${req.headers.authorization ?? ''}`);
  const send = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
  };
  const url = new URL(req.url ?? '/', 'http://x');
  const item = /^\/v1\/items\/(.+)$/.exec(url.pathname);
  if (req.method === 'GET' && item !== null) {
    const key = decodeURIComponent(item[1]);
    if (key === 'boom') return send(500, { error: 'boom' });
    if (key === 'slow') return slowArrived(); // never answers: the client's deadline must fire
    if (key === 'hang404') return void res.writeHead(404).write('x', () => slowArrived()); // a 404 whose body never ends
    if (key === 'notjson') return res.writeHead(200).end('<html>');
    const found = items.get(key);
    return found === undefined ? send(404, { error: 'not found' }) : send(200, { id: key, name: found.name, version: found.version });
  }
  if (req.method === 'GET' && url.pathname.startsWith('/v1/chunked/')) {
    res.writeHead(200, { 'content-type': 'application/json' }); // no content-length: the size shows only as it streams
    for (let i = 0; i < 64; i++) res.write(i === 0 ? '{"name":"' : 'x'.repeat(1024));
    return res.end('","version":1}');
  }
  const tomb = /^\/v1\/tomb\/(.+)$/.exec(url.pathname);
  if (req.method === 'GET' && tomb !== null) return send(200, tomb[1] === 'gone' ? { deleted: true, version: 7 } : { name: tomb[1], version: 2, deleted: false });
  const badVersion = /^\/v1\/badver\/(.+)$/.exec(url.pathname);
  if (req.method === 'GET' && badVersion !== null) return send(200, { name: 'x', version: -5 });
  if (req.method === 'POST' && url.pathname === '/v1/dupes') return send(200, [{ id: 'a', rev: '9', v: 'new' }, { id: 'a', rev: '2', v: 'old' }]);
  const etagged = /^\/v1\/etag\/(.+)$/.exec(url.pathname);
  if (req.method === 'GET' && etagged !== null) return send(200, { name: 'tagged' }, { etag: 'W/"42"' });
  if (req.method === 'POST' && url.pathname === '/v1/batch') {
    let raw = '';
    for await (const chunk of req) raw += chunk;
    const { ids } = JSON.parse(raw) as { ids: string[] };
    return send(200, { items: ids.filter((id) => items.has(id)).map((id) => ({ id, doc: { name: items.get(id)?.name }, rev: String(items.get(id)?.version) })) });
  }
  send(404, {});
});

before(async () => {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});
after(() => {
  server.closeAllConnections();
  server.close();
});

describe('HttpOrigin', () => {
  test('GETs each key once, answers aligned, 404 as undefined, version from the body field', io, async () => {
    const origin = new HttpOrigin({ baseUrl, headers: { authorization: 'Bearer t' } });
    requests.length = 0;
    const got = await origin.getMany(['1', 'missing', '2', '1', 'a/b c']);
    assert.deepEqual(got.map((r) => [r?.key, (r?.value as { name?: string } | undefined)?.name, r?.version]), [
      ['1', 'lamp', 3], [undefined, undefined, undefined], ['2', 'desk', 4], ['1', 'lamp', 3], ['a/b c', 'odd key', 5],
    ]);
    assert.equal(requests.length, 4, 'duplicate keys are fetched once');
    assert.ok(requests.includes('GET /v1/items/a%2Fb%20c Bearer t'), 'keys are URL-encoded into the path');
    assert.deepEqual(await origin.getMany([]), []);
    await origin.close();
  });

  test('takes the version from a numeric ETag when the body has none', io, async () => {
    const origin = new HttpOrigin({ baseUrl, itemPath: '/etag/{key}' });
    assert.deepEqual(await origin.getMany(['x']), [{ key: 'x', value: { name: 'tagged' }, version: 42 }]);
    await origin.close();
  });

  test('batches keys by maxBatch through batchPath with a custom body and field names', io, async () => {
    const origin = new HttpOrigin({
      baseUrl, batchPath: '/batch', maxBatch: 2, batchBody: (keys) => ({ ids: keys }),
      keyField: 'id', valueField: 'doc', versionField: 'rev',
    });
    requests.length = 0;
    const got = await origin.getMany(['1', 'nope', '2', '1', 'a/b c']);
    assert.deepEqual(got, [
      { key: '1', value: { name: 'lamp' }, version: 3 }, undefined, { key: '2', value: { name: 'desk' }, version: 4 },
      { key: '1', value: { name: 'lamp' }, version: 3 }, { key: 'a/b c', value: { name: 'odd key' }, version: 5 },
    ]);
    assert.deepEqual(requests.map((r) => r.trim()), ['POST /v1/batch', 'POST /v1/batch'], '4 distinct keys in batches of 2');
    await origin.close();
  });

  test('sends the keys . and .. with their dots encoded, so no server resolves them as path steps', io, async () => {
    const origin = new HttpOrigin({ baseUrl });
    requests.length = 0;
    await origin.getMany(['.', '..']);
    assert.deepEqual(requests.map((r) => r.split(' ')[1]).sort(), ['/v1/items/%2E', '/v1/items/%2E%2E']);
    await origin.close();
  });

  test('a version field that is not a safe integer >= 0 reads as absent (0), failing no key of the call', io, async () => {
    const origin = new HttpOrigin({ baseUrl, itemPath: '/badver/{key}' });
    assert.deepEqual((await origin.getMany(['k', 'j'])).map((r) => r?.version), [0, 0]);
    await origin.close();
  });

  test('a batch answering a key twice keeps its higher version, whatever the order', io, async () => {
    const origin = new HttpOrigin({ baseUrl, batchPath: '/dupes', keyField: 'id', versionField: 'rev' });
    const [a] = await origin.getMany(['a']);
    assert.equal(a?.version, 9);
    await origin.close();
  });

  test('a body over maxBodyBytes fails its keys with ERR_ORIGIN_FAILED, by content-length or while it streams', io, async () => {
    const declared = new HttpOrigin({ baseUrl, maxBodyBytes: 10 });
    await assert.rejects(declared.getMany(['1']), (e) => isPrescientError(e, 'ERR_ORIGIN_FAILED') && /maxBodyBytes/.test(String((e as Error).message)));
    await declared.close();
    const streamed = new HttpOrigin({ baseUrl, itemPath: '/chunked/{key}', maxBodyBytes: 16 * 1024 });
    await assert.rejects(streamed.getMany(['k']), (e) => isPrescientError(e, 'ERR_ORIGIN_FAILED') && /maxBodyBytes/.test(String((e as Error).message)));
    await streamed.close();
    const roomy = new HttpOrigin({ baseUrl, itemPath: '/chunked/{key}' });
    assert.equal((await roomy.getMany(['k']))[0]?.version, 1, 'under the default limit the same body reads');
    await roomy.close();
  });

  test('getManySettled fails only the key whose request failed; the cache then fails only that read', io, async () => {
    const origin = new HttpOrigin({ baseUrl });
    const answers = await origin.getManySettled(['1', 'boom', '2']);
    assert.equal((answers[0] as { version: number }).version, 3);
    assert.ok(isOriginFailure(answers[1]) && answers[1].error.code === 'ERR_ORIGIN_FAILED');
    assert.equal((answers[2] as { version: number }).version, 4);
    await assert.rejects(origin.getManySettled(['boom']), (e) => isPrescientError(e, 'ERR_ORIGIN_FAILED'), 'no key read: the call fails');
    const cache = new Cache<unknown>({ origin, clock: new VirtualClock(0) });
    const [good, bad] = await Promise.allSettled([cache.get('1'), cache.get('boom')]);
    assert.equal(good.status, 'fulfilled');
    assert.equal(bad.status, 'rejected');
    await cache.close();
    await origin.close();
  });

  test('reuses keep-alive connections across calls', io, async () => {
    const origin = new HttpOrigin({ baseUrl, connections: 1 });
    sockets.clear();
    for (let i = 0; i < 5; i++) await origin.getMany(['1']);
    assert.equal(sockets.size, 1);
    await origin.close();
  });

  test('a 500, a body that is not JSON and an unreachable host reject with ERR_ORIGIN_FAILED', io, async () => {
    const origin = new HttpOrigin({ baseUrl });
    await assert.rejects(origin.getMany(['1', 'boom']), (e) => isPrescientError(e, 'ERR_ORIGIN_FAILED') && /500/.test((e as Error).message));
    await assert.rejects(origin.getMany(['notjson']), (e) => isPrescientError(e, 'ERR_ORIGIN_FAILED'));
    await origin.close();
    const down = new HttpOrigin({ baseUrl: 'http://127.0.0.1:1' });
    await assert.rejects(down.getMany(['1']), (e) => isPrescientError(e, 'ERR_ORIGIN_FAILED') && (e as Error).cause !== undefined);
    await down.close();
    await assert.rejects(down.getMany(['1']), (e) => isPrescientError(e, 'ERR_CLOSED'));
  });

  test('a server that does not answer within timeoutMs rejects with ERR_ORIGIN_TIMEOUT', io, async () => {
    const clock = new VirtualClock(0);
    const origin = new HttpOrigin({ baseUrl, timeoutMs: 100, clock });
    const arrived = new Promise<void>((resolve) => { slowArrived = resolve; });
    const pending = origin.getMany(['slow', '1']);
    await arrived;
    clock.advance(99);
    clock.advance(1);
    await assert.rejects(pending, (e) => isPrescientError(e, 'ERR_ORIGIN_TIMEOUT'));
    await origin.close();
  });

  test('a 404 whose body never ends rejects with ERR_ORIGIN_TIMEOUT, not absent', io, async () => {
    const clock = new VirtualClock(0);
    const origin = new HttpOrigin({ baseUrl, timeoutMs: 100, clock });
    const headers = clientReceivedHeaders('/hang404', 404);
    const pending = origin.getMany(['hang404']);
    pending.catch(() => {});
    // The status line has reached the client, and its continuation has started draining the body: the deadline
    // fires while it drains the body (not before the answer).
    await headers;
    await new Promise((resolve) => setImmediate(resolve));
    clock.advance(99);
    clock.advance(1);
    await assert.rejects(pending, (e) => isPrescientError(e, 'ERR_ORIGIN_TIMEOUT'));
    await origin.close();
  });

  test('a baseUrl with credentials or a query is refused naming baseUrl, without echoing the secrets', () => {
    const port = new globalThis.URL(baseUrl).port;
    for (const bad of [`http://svc:s3cret@127.0.0.1:${port}/v1`, `http://127.0.0.1:${port}/v1?api_key=abc`, `http://127.0.0.1:${port}/v1#frag`]) {
      assert.throws(() => new HttpOrigin({ baseUrl: bad }), (e) => isPrescientError(e, 'ERR_INVALID_OPTION') && (e as { option?: string }).option === 'baseUrl'
        && !(e as Error).message.includes('s3cret') && !(e as Error).message.includes('abc'));
    }
  });

  test('deletedField: a deleted item is absent to getMany and a tombstone to getRecords, so a TieredOrigin does not ask its archive', io, async () => {
    const origin = new HttpOrigin({ baseUrl, itemPath: '/tomb/{key}', deletedField: 'deleted' });
    const live = { key: 'here', value: { name: 'here', version: 2, deleted: false }, version: 2 };
    assert.deepEqual(await origin.getMany(['gone', 'here']), [undefined, live]);
    assert.deepEqual(await origin.getManySettled(['gone', 'here']), [undefined, live]);
    const tombstone = { key: 'gone', value: undefined, version: 7, deleted: true };
    assert.deepEqual(await origin.getRecords(['gone', 'here']), [tombstone, live]);
    assert.deepEqual(await origin.getRecordsSettled(['gone']), [tombstone]);
    const archive = new MapOrigin<unknown>([['gone', 'archived before the delete']]);
    const tiered = new TieredOrigin({ live: origin, archive });
    assert.deepEqual(await tiered.getMany(['gone']), [undefined]);
    assert.equal(archive.calls, 0);
    const plain = new HttpOrigin({ baseUrl, itemPath: '/tomb/{key}' }); // without the field, the marker is data
    assert.equal((await plain.getRecords(['gone']))[0]?.deleted, undefined);
    await Promise.all([origin.close(), plain.close()]);
  });

  test('rejects bad options by name', () => {
    for (const [options, option] of [
      [{ baseUrl: 'ftp://x' }, 'baseUrl'], [{ baseUrl: 'nope' }, 'baseUrl'], [{ baseUrl, itemPath: '/items' }, 'itemPath'],
      [{ baseUrl, maxBatch: 0 }, 'maxBatch'], [{ baseUrl, timeoutMs: -1 }, 'timeoutMs'], [{ baseUrl, headers: { a: 1 } }, 'headers'],
      [{ baseUrl, deletedField: '' }, 'deletedField'],
    ] as const) {
      assert.throws(() => new HttpOrigin(options as never), (e) => isPrescientError(e, 'ERR_INVALID_OPTION') && (e as { option?: string }).option === option);
    }
  });
});
