#!/usr/bin/env node
// Builds dist/: the JavaScript and type declarations the package's exports point at, so that `import ... from
// 'prescient'` works in plain Node (no TypeScript loader) and in TypeScript projects. Then copies the files the code
// reads at run time beside the modules that read them (Lua scripts, SQL, the dashboard page), and stamps the build
// with the newest source time, so the `prescient` command runs dist/ only while it matches the sources.
//
// Usage: node scripts/build.mjs [--out-dir DIR] [--if-possible]
//   --out-dir      write somewhere other than dist/ (the package test builds into a temporary folder)
//   --if-possible  skip, with a message, when TypeScript is not installed (npm's `prepare` after `npm ci --omit=dev`:
//                  the `prescient` command then runs the sources through tsx); never under `npm pack` or `npm publish`,
//                  whose package would have no dist/ for its exports to point at
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const outAt = args.indexOf('--out-dir');
const outDir = resolve(outAt >= 0 ? args[outAt + 1] ?? '' : join(root, 'dist'));
if (outAt >= 0 && args[outAt + 1] === undefined) fail('--out-dir needs a folder');
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');

if (!existsSync(tsc)) {
  if (args.includes('--if-possible') && !['pack', 'publish'].includes(process.env.npm_command ?? '')) {
    console.error('build: TypeScript is not installed (dev dependencies omitted); dist/ not built');
    process.exit(0);
  }
  fail('TypeScript is not installed: run npm ci first (a package packed without dist/ would not load)');
}

rmSync(outDir, { recursive: true, force: true });
const built = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json'), '--outDir', outDir], { stdio: 'inherit' });
if (built.status !== 0) fail(`tsc exited with ${built.status ?? built.signal}`);

/** Files read at run time, next to the module that reads them. */
const assets = /\.(lua|sql|html)$/;
let copied = 0;
(function copyAssets(dir) {
  for (const item of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, item.name);
    if (item.isDirectory()) copyAssets(path);
    else if (assets.test(item.name)) {
      cpSync(path, join(outDir, relative(join(root, 'src'), path)));
      copied++;
    }
  }
})(join(root, 'src'));
// The stamp bin/prescient.js checks: dist/ is current while no source file is newer than the newest one built.
writeFileSync(join(outDir, 'build.json'), `${JSON.stringify({ newestSourceMs: newestMtimeMs(join(root, 'src')) })}\n`);
console.error(`build: ${relative(process.cwd(), outDir) || '.'} written (${copied} run-time files copied beside the modules)`);

/** Latest modification time (ms) of the files under `dir` (as bin/prescient.js computes it). */
function newestMtimeMs(dir) {
  let newest = 0;
  for (const item of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, item.name);
    newest = Math.max(newest, item.isDirectory() ? newestMtimeMs(path) : statSync(path).mtimeMs);
  }
  return newest;
}

function fail(message) {
  console.error(`build: ${message}`);
  process.exit(1);
}
