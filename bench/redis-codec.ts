/**
 * Question: which codec should the Redis tier store entries with? Compares, on the same realistic entries in one
 * run: JSON (of the entry object, and of the tier's positional array), v8.serialize (of the entry object), MessagePack (of the entry
 * object), and the tier's own layout (redis-codec.ts: version header + standard MessagePack of a positional
 * array). Three entry shapes: a small catalog row (~150 B of JSON), a medium product document with nested arrays
 * (~1 KB), and a prefetched entry carrying tags and a prediction context. Reports bytes per entry and ns per encode
 * and per decode (median of 5 timed passes of 20,000 operations each, after a warm-up pass).
 *
 * Run: node --import tsx bench/redis-codec.ts
 */
import v8 from 'node:v8';
import { decode as msgpackDecode, encode as msgpackEncode } from '@msgpack/msgpack';
import type { Entry } from '../src/cache/entry.ts';
import { decodeRedisEntry, encodeRedisEntry } from '../src/cache/redis-codec.ts';
import { seededRandom } from '../src/sim/seeded-random.ts';

/** Operations per timed pass. */
const ops = 20_000;
/** Timed passes; the median is reported. */
const rounds = 5;

const rand = seededRandom(7);
const now = 1_763_700_000_000 + 0.123;

function base(key: string, value: unknown): Entry<unknown> {
  return { key, value, version: 1_763_700_000_123, sizeBytes: 512, createdAt: now, staleAt: now + 30_000, expiresAt: now + 300_000, source: 'demand', probability: 1, tags: [], hits: 0 };
}

const small = base('user:48213', { id: 48213, name: 'Ada Lovelace', email: 'ada@example.com', plan: 'pro', active: true, credits: 1234.5 });
const medium = base('product:9921', {
  id: 9921,
  title: 'Stainless steel kettle, 1.7 l, with temperature control',
  price: { amount: 4999, currency: 'EUR' },
  stock: 37,
  categories: ['kitchen', 'appliances', 'kettles'],
  attributes: Array.from({ length: 12 }, (_, i) => ({ name: `attr${i}`, value: Math.round(rand() * 1e6) / 100 })),
  reviews: Array.from({ length: 5 }, (_, i) => ({ user: 1000 + i, stars: 1 + Math.floor(rand() * 5), text: 'Boils quickly and quietly, lid could be sturdier.' })),
});
const prefetched: Entry<unknown> = {
  ...base('order:771:lines', [{ sku: 'A-1', qty: 2 }, { sku: 'B-7', qty: 1 }]),
  source: 'prefetch',
  probability: 0.62,
  tags: ['orders', 'user:771'],
  predictedFor: { session: 's-9f2c', user: '771' },
  predictedBy: 'markov',
};

/** The tier's layout with JSON instead of MessagePack: separates the layout's gain from the codec's. */
function jsonArrayEncode(e: Entry<unknown>): Uint8Array {
  const body = [e.value, e.sizeBytes, e.createdAt, e.staleAt, e.expiresAt, e.source === 'prefetch' ? 1 : 0, e.probability, e.tags, e.predictedFor ?? 0, e.predictedBy ?? 0];
  return Buffer.from(`j${e.version} ${JSON.stringify(body)}`);
}
function jsonArrayDecode(_key: string, b: Uint8Array): unknown {
  const s = Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString();
  return JSON.parse(s.slice(s.indexOf(' ') + 1));
}

type Codec = { readonly name: string; encode(e: Entry<unknown>): Uint8Array; decode(key: string, b: Uint8Array): unknown };
const codecs: Codec[] = [
  { name: 'JSON (entry object)', encode: (e) => Buffer.from(JSON.stringify(e)), decode: (_k, b) => JSON.parse(Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString()) },
  { name: 'JSON (header + positional array)', encode: jsonArrayEncode, decode: jsonArrayDecode },
  { name: 'v8.serialize (entry object)', encode: (e) => v8.serialize(e), decode: (_k, b) => v8.deserialize(b) },
  { name: 'MessagePack (entry object)', encode: (e) => msgpackEncode(e), decode: (_k, b) => msgpackDecode(b) },
  { name: 'redis-codec (header + MessagePack array)', encode: encodeRedisEntry, decode: decodeRedisEntry },
];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function time(fn: () => void): number {
  fn();
  const samples: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    fn();
    samples.push(((performance.now() - t0) * 1e6) / ops);
  }
  return median(samples);
}

let sink = 0;
console.log('| entry | codec | bytes | encode ns | decode ns |');
console.log('|---|---|---:|---:|---:|');
for (const [label, entry] of [['small row', small], ['medium document', medium], ['prefetched', prefetched]] as const) {
  for (const c of codecs) {
    const bytes = c.encode(entry);
    const enc = time(() => {
      for (let i = 0; i < ops; i++) sink += c.encode(entry).length;
    });
    const dec = time(() => {
      for (let i = 0; i < ops; i++) sink += c.decode(entry.key, bytes) === undefined ? 0 : 1;
    });
    console.log(`| ${label} | ${c.name} | ${bytes.length} | ${enc.toFixed(0)} | ${dec.toFixed(0)} |`);
  }
}
if (sink === 0) console.log('');
