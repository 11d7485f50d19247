import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { test } from 'node:test';
import { systemClock } from '../../src/clock.ts';
import { resolveConfig } from '../../src/server/config.ts';
import { openWritePath } from '../../src/server/write-path.ts';
import { DownOrigin } from '../doubles/origins.ts';

test('a throwaway journal (port 0, no journalDir) closed with acknowledged writes pending keeps them and names its folder', async (t) => {
  const warnings: Array<{ details: Record<string, unknown>; message: string }> = [];
  const logger = { warn: (details: object, message: string) => void warnings.push({ details: details as Record<string, unknown>, message }) };
  // The journal's timers do not hold the process open (unref'd): this one keeps the test's event loop alive.
  const keepAlive = setInterval(() => {}, 1000);
  t.after(() => clearInterval(keepAlive));
  const path = openWritePath(resolveConfig({ port: 0 }, {}), new DownOrigin<unknown>([]), systemClock, logger);
  await path.start();
  await path.put('k', 42);
  await path.close();
  const closing = warnings.find((w) => /closed with acknowledged writes/.test(w.message));
  assert.ok(closing !== undefined, `warnings: ${warnings.map((w) => w.message).join(' | ')}`);
  assert.equal(closing.details.pending, 1);
  const dir = String(closing.details.dir);
  assert.ok(existsSync(dir), 'the journal folder is kept, with the write in it');
  rmSync(dir, { recursive: true, force: true });
});
