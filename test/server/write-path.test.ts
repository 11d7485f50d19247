import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { systemClock } from '../../src/clock.ts';
import { isPrescientError } from '../../src/errors.ts';
import { MapOrigin } from '../../src/origin/function-origin.ts';
import { resolveConfig } from '../../src/server/config.ts';
import { openWritePath } from '../../src/server/write-path.ts';
import { HLC_NODE_SPAN } from '../../src/sync/hlc.ts';
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

test('writeBack.nodeId: every version this node hands out ends in its id; an id past 15 is refused', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'prescient-node-id-'));
  const keepAlive = setInterval(() => {}, 1000); // (the journal's timers are unref'd)
  t.after(() => {
    clearInterval(keepAlive);
    rmSync(dir, { recursive: true, force: true });
  });
  const path = openWritePath(resolveConfig({ port: 0, journalDir: dir, writeBack: { nodeId: 7 } }, {}), new MapOrigin<unknown>([]), systemClock, undefined);
  await path.start();
  try {
    const versions = [(await path.put('a', 1)).version, (await path.put('a', 2)).version, (await path.delete('b')).version];
    assert.ok(versions[0] < versions[1] && versions[1] < versions[2], `increasing: ${versions}`);
    for (const v of versions) assert.equal(v % HLC_NODE_SPAN, 7, `version ${v}`);
  } finally {
    await path.close();
  }
  assert.throws(() => resolveConfig({ port: 0, writeBack: { nodeId: 16 } }, {}), (e) => isPrescientError(e, 'ERR_INVALID_OPTION') || isPrescientError(e, 'ERR_INVALID_CONFIG'));
});
