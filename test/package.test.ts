/**
 * The package as an application installs it: built by scripts/build.mjs (what `npm ci` / `prepare` runs) into a
 * folder laid out as node_modules/prescient, then imported by name from plain Node — no TypeScript loader — and
 * type-checked from a TypeScript project. The sources run through tsx everywhere else in the suite, so only this
 * test sees what a consumer sees: the exports map, the compiled imports, the files read beside the modules (Lua,
 * SQL, the dashboard page) and the worker threads' modules.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'prescient-package-'));
/** A clean environment: no loader from the test runner's NODE_OPTIONS reaches the consumer. */
const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== 'NODE_OPTIONS'));

before(async () => {
  const pkg = join(dir, 'node_modules', 'prescient');
  mkdirSync(pkg, { recursive: true });
  await run(process.execPath, [join(root, 'scripts', 'build.mjs'), '--out-dir', join(pkg, 'dist')], { env });
  copyFileSync(join(root, 'package.json'), join(pkg, 'package.json'));
  symlinkSync(join(root, 'node_modules'), join(pkg, 'node_modules'), 'dir');
  symlinkSync(join(root, 'samples'), join(pkg, 'samples'), 'dir');
});

after(() => rmSync(dir, { recursive: true, force: true }));

test('every file read beside the modules (src/**/*.{lua,sql,html}) has an identical copy at the same path in dist/', () => {
  const dist = join(dir, 'node_modules', 'prescient', 'dist');
  const src = join(root, 'src');
  const assets: string[] = [];
  (function walk(folder: string): void {
    for (const item of readdirSync(folder, { withFileTypes: true })) {
      const path = join(folder, item.name);
      if (item.isDirectory()) walk(path);
      else if (/\.(lua|sql|html)$/.test(item.name)) assets.push(relative(src, path));
    }
  })(src);
  // Each kind is present in the sources, so the check below covers all three.
  for (const ext of ['.lua', '.sql', '.html']) assert.ok(assets.some((path) => path.endsWith(ext)), `no ${ext} file under src/`);
  const missing = assets.filter((path) => !existsSync(join(dist, path)));
  assert.deepEqual(missing, [], 'run-time files missing from dist/');
  for (const path of assets) assert.ok(readFileSync(join(dist, path)).equals(readFileSync(join(src, path))), `dist/${path} differs from src/${path}`);
});

test('imports by name from plain Node and runs: the cache, a worker thread, the Redis scripts, the server and its dashboard', async () => {
  const consumer = join(dir, 'consumer.mjs');
  writeFileSync(
    consumer,
    `
import { Cache, FunctionOrigin, WorkerPredictor } from 'prescient';
import { RedisTier } from 'prescient/redis';
import { PostgresOrigin } from 'prescient/postgres';
import { createServer, resolveConfig } from 'prescient/server';
import { MapOrigin } from 'prescient';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const cache = new Cache({ origin: new FunctionOrigin({ getMany: async (keys) => keys.map((key) => ({ key, value: key.toUpperCase(), version: 1 })) }) });
const first = await cache.get('a');
const second = await cache.get('a');
await cache.close();

const predictor = new WorkerPredictor();
for (let s = 0; s < 20; s++) for (const key of ['x', 'y']) predictor.observe({ key, at: s * 10, ctx: { session: 's' + s } });
predictor.observe({ key: 'x', at: 1_000, ctx: { session: 'new' } });
const predicted = await predictor.predictNow({ session: 'new' }, 1);
await predictor.close();

const config = resolveConfig({ logLevel: 'silent', journalDir: mkdtempSync(join(tmpdir(), 'prescient-package-journal-')) }, {});
const server = await createServer(config, { origin: new MapOrigin([['k', 'value']]) });
const item = await server.app.inject({ url: '/v1/items/k' });
const page = await server.app.inject({ url: '/' });
await server.close();

console.log(JSON.stringify({
  served: [first.servedFrom, second.status, second.value],
  predicted: predicted.map((p) => p.key),
  redis: typeof RedisTier.connect,
  postgres: typeof PostgresOrigin,
  item: [item.statusCode, item.json().value],
  page: [page.statusCode, page.body.includes('<html')],
}));
`,
  );
  const { stdout } = await run(process.execPath, [consumer], { cwd: dir, env });
  assert.deepEqual(JSON.parse(stdout), {
    served: ['origin', 'hit', 'A'],
    predicted: ['y'],
    redis: 'function',
    postgres: 'function',
    item: [200, 'value'],
    page: [200, true],
  });
});

test('its type declarations resolve from a TypeScript project', async () => {
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, noEmit: true, skipLibCheck: true, types: [] }, files: ['consumer.ts'] }));
  writeFileSync(
    join(dir, 'consumer.ts'),
    `
import { Cache, MapOrigin, type ReadResult } from 'prescient';
import { createServer } from 'prescient/server';
const cache = new Cache<number>({ origin: new MapOrigin<number>([['a', 1]]) });
export const read: Promise<ReadResult<number>> = cache.get('a');
export const start: typeof createServer = createServer;
// @ts-expect-error a Cache<number> does not store strings: the declarations carry the generics
void cache.set('a', 'one');
`,
  );
  await run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(dir, 'tsconfig.json')], { cwd: dir, env });
});

test('the prescient command runs dist/ while it matches the sources, and the sources once one is newer (in a checkout)', async () => {
  const pkg = join(dir, 'node_modules', 'prescient');
  cpSync(join(root, 'bin'), join(pkg, 'bin'), { recursive: true });
  cpSync(join(root, 'src'), join(pkg, 'src'), { recursive: true });
  cpSync(join(root, 'scripts'), join(pkg, 'scripts'), { recursive: true }); // a checkout: it can rebuild
  // A source main that says where it ran from. Every copied source gets a time well before the build (cpSync's
  // preserveTimestamps rounds sub-millisecond times up on Node 20, which made copies look newer than the build).
  const main = join(pkg, 'src', 'cli', 'main.ts');
  writeFileSync(main, "export async function main(argv: string[], io: { stdout: { write(text: string): unknown } }) { io.stdout.write('from source'); return 0; }\n");
  const before = new Date('2001-01-01T00:00:00Z');
  (function age(folder: string): void {
    for (const item of readdirSync(folder, { withFileTypes: true })) {
      const path = join(folder, item.name);
      if (item.isDirectory()) age(path);
      else utimesSync(path, before, before);
    }
  })(join(pkg, 'src'));
  const version = async () => (await run(process.execPath, [join(pkg, 'bin', 'prescient.js'), '--version'], { env })).stdout.trim();
  assert.equal(await version(), JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version, 'the build');
  utimesSync(main, before, new Date('2100-01-01T00:00:00Z')); // edited after the build
  assert.equal(await version(), 'from source');
  assert.equal((await run(process.execPath, [join(pkg, 'bin', 'prescient.js'), '--version'], { env: { ...env, PRESCIENT_FROM_SOURCE: '1' } })).stdout.trim(), 'from source');
  // An installed package has no scripts/ (package.json `files`), and npm gives every file the install's time, so
  // the sources look newer than the build: there dist/ is the build all the same.
  rmSync(join(pkg, 'scripts'), { recursive: true });
  assert.equal(await version(), JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version, 'an installed package runs dist/');
  assert.equal((await run(process.execPath, [join(pkg, 'bin', 'prescient.js'), '--version'], { env: { ...env, PRESCIENT_FROM_SOURCE: '1' } })).stdout.trim(), 'from source');
  assert.ok(!(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).files as string[]).includes('scripts'), 'scripts/ is not packed');
});

test('the build may be skipped without TypeScript for `prepare`, never when npm packs or publishes', async () => {
  const bare = join(dir, 'bare'); // a root with no node_modules: no TypeScript
  mkdirSync(join(bare, 'scripts'), { recursive: true });
  copyFileSync(join(root, 'scripts', 'build.mjs'), join(bare, 'scripts', 'build.mjs'));
  const build = (npmCommand: string) =>
    run(process.execPath, [join(bare, 'scripts', 'build.mjs'), '--if-possible'], { env: { ...env, npm_command: npmCommand } }).then(
      () => 0,
      (error: { code: number }) => error.code,
    );
  assert.equal(await build('ci'), 0, 'npm ci --omit=dev: skipped, the command runs the sources');
  assert.equal(await build('pack'), 1, 'npm pack: a package without dist/ is refused');
  assert.equal(await build('publish'), 1);
});

