import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, test } from 'node:test';
import { seededRandom, type Random } from '../../src/sim/seeded-random.ts';
import { rig, type InjectRequest, type Rig } from './server-rig.ts';

/** Body limit of the server under test, in bytes (small, so "huge" bodies stay cheap to build). */
const bodyLimitBytes = 4096;

const pick = <T>(random: Random, xs: readonly T[]): T => xs[Math.floor(random() * xs.length)];
const int = (random: Random, n: number): number => Math.floor(random() * n);

function randomBytes(random: Random, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = int(random, 256);
  return b;
}

/** A percent-encoded path segment that always holds at least one character keys may not hold. */
function oddKey(random: Random): string {
  const kinds = [
    () => [...randomBytes(random, 1 + int(random, 20))].map((x) => `%${x.toString(16).padStart(2, '0')}`).join('') + '%20',
    () => encodeURIComponent('k'.repeat(513 + int(random, 200))),
    () => encodeURIComponent(`${pick(random, ['é', '日本', '\u0000', '\n', ' ', '"', '\\', '<', '>', '{', '|', '^', '`'])}${int(random, 99)}`),
    () => encodeURIComponent(`action:${int(random, 99)}`),
    () => '%',
    () => '%zz',
    () => '%E0%A4%A',
  ];
  return pick(random, kinds)();
}

function deepJson(random: Random): string {
  const depth = 65 + int(random, 5000);
  return pick(random, [`{"value":${'['.repeat(depth)}${']'.repeat(depth)}}`, `${'['.repeat(depth)}${']'.repeat(depth)}`, `{"value":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`]);
}

const badNumbers = ['NaN', 'Infinity', '-Infinity', '1e2', '-1', '0', '-0', '0x10', '%205', '5.5', '101', '99999999999999999999999', '', 'abc', '1,2', '[]'];

/** One malformed request: each generator breaks at least one rule by construction. */
function malformed(random: Random): InjectRequest {
  const json = { 'content-type': 'application/json' };
  const generators: Array<() => InjectRequest> = [
    () => ({ url: `/v1/items/${oddKey(random)}` }),
    () => ({ method: 'PUT', url: `/v1/items/${oddKey(random)}`, payload: { value: 1 } }),
    () => ({ method: 'DELETE', url: `/v1/items/${oddKey(random)}` }),
    () => ({ method: 'PUT', url: '/v1/items/k', payload: randomBytes(random, 1 + int(random, 300)), headers: json }),
    () => ({ method: 'POST', url: '/v1/items:batchGet', payload: randomBytes(random, 1 + int(random, 300)), headers: json }),
    () => ({ method: 'PUT', url: '/v1/items/k', payload: randomBytes(random, bodyLimitBytes + 1 + int(random, 20_000)), headers: json }),
    () => ({ method: 'POST', url: '/v1/sessions/s/actions', payload: `{"action":"${'a'.repeat(bodyLimitBytes + int(random, 5000))}"}`, headers: json }),
    () => ({ method: 'PUT', url: '/v1/items/k', payload: deepJson(random), headers: json }),
    () => ({ method: 'PUT', url: '/v1/items/k', payload: randomBytes(random, 1 + int(random, 100)), headers: { 'content-type': pick(random, ['text/xml', 'application/x-www-form-urlencoded', 'image/png', 'multipart/form-data; boundary=x', 'nonsense']) } }),
    () => ({ url: `/v1/sessions/s/predictions?limit=${pick(random, badNumbers)}` }),
    () => ({ url: `/v1/users/u/shadow?limit=${pick(random, badNumbers)}` }),
    () => ({ url: `/v1/items/a?${pick(random, ['session', 'user', 'segment', 'other'])}=${oddKey(random)}%20` }),
    () => ({ url: `/v1/items/a?${encodeURIComponent(randomBytes(random, 4).toString('latin1'))}=1&session=s` }),
    () => ({ method: 'POST', url: '/v1/items:batchGet', payload: { keys: pick(random, [[1, 2], [null], [{}], 'a', 5, [], [['a']], Array.from({ length: 101 }, (_, i) => `k${i}`)]) } }),
    () => ({ method: 'POST', url: '/v1/items:batchGet', payload: { keys: ['a'], [pick(random, ['extra', 'Keys', 'limit'])]: int(random, 9) } }),
    () => ({ method: 'PUT', url: '/v1/items/k', payload: pick(random, [{}, { val: 1 }, { value: 1, version: 3 }, [1], 'str', 7, null]) }),
    () => ({ method: 'POST', url: `/v1/sessions/${oddKey(random)}%20/actions`, payload: { action: 'a' } }),
    () => ({ method: 'POST', url: '/v1/sessions/s/actions', payload: pick(random, [{}, { action: '' }, { action: 5 }, { action: 'a b' }, { action: 'a', key: 'b c' }, { action: 'a', when: 1 }, { action: 'x'.repeat(129) }]) }),
    () => ({ method: 'POST', url: '/v1/sessions/s/prefetch', payload: pick(random, [{}, { keys: [] }, { keys: 'a' }, { action: 7 }, { keys: ['a'], extra: 1 }]) }),
    () => ({ method: pick(random, ['PATCH', 'OPTIONS'] as const), url: '/v1/items/a' }),
    () => ({ url: `/${randomBytes(random, 1 + int(random, 30)).toString('hex')}` }),
    () => ({ method: 'POST', url: '/v1/items:batchGet', payload: '', headers: json }),
  ];
  return pick(random, generators)();
}

let r: Rig;
before(async () => {
  r = await rig({ config: { port: 0, limits: { bodyLimitBytes, rateLimit: { perSecond: 1e9, burst: 1e9 } } } });
});
after(() => r.close());

test('thousands of malformed requests each get a coded 4xx, and the server keeps answering', async () => {
  const random = seededRandom(20261121);
  const statuses = new Map<number, number>();
  for (let i = 0; i < 3000; i++) {
    const request = malformed(random);
    const res = await r.inject(request);
    statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    assert.ok(res.status >= 400 && res.status < 500, `#${i} ${request.method ?? 'GET'} ${request.url.slice(0, 120)} -> ${res.status} ${res.text.slice(0, 200)}`);
    assert.match(res.body?.error?.code ?? '', /^ERR_[A-Z_]+$/, `#${i} ${request.url.slice(0, 120)}: ${res.text.slice(0, 200)}`);
  }
  for (const status of [400, 404, 413, 415]) assert.ok((statuses.get(status) ?? 0) > 0, `no ${status} among ${[...statuses]}`);
  assert.equal((await r.inject({ url: '/healthz' })).status, 200);
  assert.equal((await r.inject({ url: '/v1/items/a' })).status, 200);
});

test('garbage on the socket gets 400 or a closed connection, never a crash', async () => {
  const base = await listening();
  const random = seededRandom(7);
  for (let i = 0; i < 50; i++) {
    const payload = i % 2 === 0 ? randomBytes(random, 1 + int(random, 2000)) : Buffer.from(`GET /v1/items/a HTTP/1.1\r\nHost: x\r\nContent-Length: -${i}\r\n${randomBytes(random, 40).toString('latin1')}\r\n\r\n`, 'latin1');
    const answer = await new Promise<string>((resolve) => {
      const socket = connect(Number(base.port), base.hostname);
      let text = '';
      socket.on('data', (chunk) => (text += chunk.toString('latin1')));
      socket.on('error', () => resolve(text));
      socket.on('close', () => resolve(text));
      socket.end(payload);
    });
    assert.ok(answer === '' || /^HTTP\/1\.1 4\d\d/.test(answer), `#${i}: ${answer.slice(0, 80)}`);
  }
  const health = await fetch(new URL('/healthz', base));
  assert.equal(health.status, 200);
});

let bound: URL | undefined;
/** The rig's server, listening (it binds once; later calls reuse the address). */
async function listening(): Promise<URL> {
  bound ??= new URL(await r.server.listen());
  return bound;
}

/** Sends `payload` on a raw socket to `base` and resolves with everything the server answered. */
function rawExchange(base: URL, payload: string): Promise<string> {
  return new Promise<string>((resolve) => {
    const socket = connect(Number(base.port), base.hostname);
    let text = '';
    socket.on('data', (chunk) => (text += chunk.toString('latin1')));
    socket.on('error', () => resolve(text));
    socket.on('close', () => resolve(text));
    socket.end(payload, 'latin1');
  });
}

test('what the HTTP parser refuses is answered in the error shape: ERR_BAD_REQUEST, 431 for oversized headers', async () => {
  const base = await listening();
  for (const payload of ['GARBAGE\r\n\r\n', 'GET /v1/items/a HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n']) {
    const answer = await rawExchange(base, payload);
    assert.match(answer, /^HTTP\/1\.1 400 /);
    assert.match(answer, /"code":"ERR_BAD_REQUEST"/);
  }
  const huge = await rawExchange(base, `GET /v1/items/a HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
  assert.match(huge, /^HTTP\/1\.1 431 /);
  assert.match(huge, /"code":"ERR_PAYLOAD_TOO_LARGE"/);
});

test('a key far over maxKeyLength is ERR_INVALID_KEY naming the limit; a text/plain body is 415; HEAD of the event stream ends', async () => {
  const long = await r.inject({ url: `/v1/items/${'a'.repeat(2000)}` });
  assert.equal(long.status, 400);
  assert.equal(long.body.error.code, 'ERR_INVALID_KEY');
  assert.match(long.body.error.message, /at most 512/);
  const text = await r.inject({ method: 'PUT', url: '/v1/items/t', payload: '{"value":1}', headers: { 'content-type': 'text/plain' } });
  assert.equal(text.status, 415);
  assert.equal(text.body.error.code, 'ERR_UNSUPPORTED_MEDIA_TYPE');
  const base = await listening();
  const head = await fetch(new URL('/v1/dashboard/events', base), { method: 'HEAD', signal: AbortSignal.timeout(5000) });
  assert.equal(head.status, 200);
  assert.match(head.headers.get('content-type') ?? '', /text\/event-stream/);
});

test('a JSON body that is not UTF-8 is 400; an empty one is no body; prototype poisoning is still refused', async () => {
  const json = { 'content-type': 'application/json' };
  const bad = await r.inject({ method: 'PUT', url: '/v1/items/u8', payload: Buffer.from([0x7b, 0x22, 0x76, 0x61, 0x6c, 0x75, 0x65, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]), headers: json });
  assert.equal(bad.status, 400);
  assert.match(bad.body.error.message, /not valid UTF-8/);
  assert.equal((await r.inject({ url: '/v1/items/u8' })).status, 404, 'nothing was stored');
  const good = await r.inject({ method: 'PUT', url: '/v1/items/u8', payload: Buffer.from('{"value":"é✓"}', 'utf8'), headers: json });
  assert.equal(good.status, 200);
  const deleted = await r.inject({ method: 'DELETE', url: '/v1/items/u8', payload: '', headers: json });
  assert.ok(deleted.status < 300, `${deleted.status} ${deleted.text}`);
  const poisoned = await r.inject({ method: 'PUT', url: '/v1/items/p', payload: '{"value":1,"__proto__":{"x":1}}', headers: json });
  assert.equal(poisoned.status, 400);
  const encoded = await r.inject({ method: 'PUT', url: '/v1/items/e', payload: '{"value":1}', headers: { ...json, 'content-encoding': 'gzip' } });
  assert.equal(encoded.status, 415);
  assert.equal(encoded.body.error.code, 'ERR_UNSUPPORTED_MEDIA_TYPE');
});
