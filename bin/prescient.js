#!/usr/bin/env node
// The `prescient` command. Runs the compiled dist/ when it was built from the sources as they are now (plain Node,
// no transpiling at start-up); otherwise (no build, or a source file changed since) loads the TypeScript sources
// through tsx. In an installed package dist/ always runs. `PRESCIENT_FROM_SOURCE=1` always takes the sources.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Latest modification time (ms) of the files under `dir`. */
function newestMtimeMs(dir) {
  let newest = 0;
  for (const item of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, item.name);
    newest = Math.max(newest, item.isDirectory() ? newestMtimeMs(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * True when dist/ holds a build of the sources as they are (scripts/build.mjs stamps the newest source time it saw).
 * In an installed package (npm leaves scripts/ out: package.json `files`) dist/ is the build whatever the times say:
 * nothing there rebuilds it, and npm gives every unpacked file the time of the install, so the sources always looked
 * newer and every command went through tsx (twice the start-up time).
 */
function isBuildCurrent() {
  if (process.env.PRESCIENT_FROM_SOURCE === '1') return false;
  try {
    const stamp = JSON.parse(readFileSync(join(root, 'dist', 'build.json'), 'utf8'));
    if (typeof stamp.newestSourceMs !== 'number') return false;
    if (!existsSync(join(root, 'scripts', 'build.mjs'))) return true;
    return newestMtimeMs(join(root, 'src')) <= stamp.newestSourceMs;
  } catch {
    return false;
  }
}

let main;
if (isBuildCurrent()) {
  ({ main } = await import('../dist/cli/main.js'));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../src/cli/main.ts'));
}
// A reader that stops early (`| head`) closes the pipe: the rest of the output has nobody to go to, which is not a
// failure of the command, so it ends quietly instead of dying on an unhandled EPIPE with a stack trace.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});
process.exitCode = await main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, isTTY: process.stderr.isTTY === true });
