/**
 * The dashboard in a real browser: `createServer` with bearer tokens and a MapOrigin; Debian's headless Chromium,
 * driven by playwright-core, opens the page (`?token=`) while reads flow through the API and checks that the
 * displayed numbers move and the session box shows predictions. Saves a screenshot
 * to $PRESCIENT_SCREENSHOT_DIR (default: <tmpdir>/prescient-dashboard-browser/dashboard.png).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { MapOrigin } from '../../src/origin/function-origin.ts';
import { createServer, type PrescientServer } from '../../src/server/app.ts';
import { resolveConfig } from '../../src/server/config.ts';

const chromiumPath = '/usr/bin/chromium';
const screenshotDir = process.env.PRESCIENT_SCREENSHOT_DIR ?? join(tmpdir(), 'prescient-dashboard-browser');
/** Upper bound on any single wait in the page, in ms. */
const waitMs = 15_000;

/** Sessions that walk the same three-page path, so the models have something to predict. */
const paths = [
  ['home', 'catalog', '1'],
  ['home', 'catalog', '2'],
  ['home', 'search', '3'],
];
/** Items in the origin: several times what the memory tier holds, so scans keep missing unless prefetched. */
const keyCount = 3000;
/** The page's token (read scope) and the traffic's; the page passes its token as `?token=` (EventSource sends no headers). */
const readerToken = 'dashboard-reader-token-0001';
const trafficToken = 'dashboard-traffic-token-0002';

describe('dashboard in headless Chromium', () => {
  let server: PrescientServer;
  let journalDir = '';
  let browser: Browser;
  let url = '';
  let traffic: NodeJS.Timeout | undefined;
  let sent = 0;

  before(async () => {
    const origin = new MapOrigin<unknown>([
      ...Array.from({ length: keyCount }, (_, i) => [`${i}`, { id: i }] as const),
      ['home', 'home'],
      ['catalog', 'catalog'],
      ['search', 'search'],
    ]);
    journalDir = mkdtempSync(join(tmpdir(), 'prescient-dashboard-journal-'));
    const config = resolveConfig(
      {
        port: 0,
        logLevel: 'warn',
        journalDir,
        // A small memory tier, so reads keep missing and the charts have something to show.
        cache: { maxBytes: 64 * 1024 },
        tokens: [
          { token: readerToken, scopes: ['read'], name: 'dashboard' },
          { token: trafficToken, scopes: ['read', 'write'], name: 'traffic' },
        ],
        limits: { rateLimit: { perSecond: 1e6, burst: 1e6 } },
      },
      {},
    );
    server = await createServer(config, { origin });
    url = await server.listen();
    // Traffic through the API: 20 reads every 20 ms — page walks, and each session scanning items in order from its
    // own starting point (the pattern the delta model learns and prefetches ahead of).
    let step = 0;
    const cursors = Array.from({ length: 37 }, (_, i) => i * 81);
    const headers = { authorization: `Bearer ${trafficToken}` };
    traffic = setInterval(() => {
      for (let j = 0; j < 20; j++, step++) {
        const s = step % 37;
        const session = `user-${s}`;
        const walk = paths[step % paths.length];
        const key = j < 4 ? walk[(step >> 2) % walk.length] : `${cursors[s]++ % keyCount}`;
        sent++;
        void fetch(`${url}/v1/items/${encodeURIComponent(key)}?session=${session}`, { headers }).then((res) => res.arrayBuffer(), () => {});
      }
    }, 20);
    // playwright gives every launch a fresh temporary profile (user-data-dir) and removes it on close.
    browser = await chromium.launch({
      executablePath: chromiumPath,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });

  after(async () => {
    if (traffic !== undefined) clearInterval(traffic);
    await browser?.close();
    await server?.close();
    if (journalDir !== '') rmSync(journalDir, { recursive: true, force: true });
  });

  test('without a token the page is refused', async () => {
    const page = await browser.newPage();
    const response = await page.goto(url);
    assert.equal(response?.status(), 401);
    await page.close();
  });

  test('the page goes live, its numbers move while reads flow, and a session shows its predicted keys', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const failures: string[] = [];
    page.on('pageerror', (error) => failures.push(String(error)));
    page.on('requestfailed', (request) => {
      // Choosing a session closes the old event stream on purpose (the browser reports it aborted).
      const isClosedStream = request.url().includes('/v1/dashboard/events') && request.failure()?.errorText === 'net::ERR_ABORTED';
      if (!isClosedStream) failures.push(`request failed: ${request.url()} ${request.failure()?.errorText}`);
    });
    const response = await page.goto(`${url}/?token=${readerToken}`, { waitUntil: 'domcontentloaded' });
    assert.equal(response?.status(), 200);
    await page.waitForSelector('#status.live', { timeout: waitMs });

    const readsShown = async (): Promise<number> => parseCount(await page.textContent('#reads-total'));
    const first = await poll(readsShown, (n) => n > 0);
    const firstRatio = await page.textContent('#hit-ratio-total');
    const second = await poll(readsShown, (n) => n > first);
    assert.ok(second > first, `reads shown grew: ${first} -> ${second}`);
    assert.ok(second <= sent, `never more reads shown (${second}) than sent (${sent})`);
    assert.match(firstRatio ?? '', /^\d+\.\d%$/, 'hit ratio is shown as a percentage');
    assert.match((await page.textContent('#latency')) ?? '', /^\d+(\.\d+)? \/ \d+(\.\d+)?$/, 'latency p50 / p99 in ms');
    assert.match((await page.textContent('#precision')) ?? '', /^\d+\.\d%$/, 'prefetch precision as a percentage');
    assert.match((await page.textContent('#writeback')) ?? '', /^\d+$/, "the service's write-back queue");
    assert.match((await page.textContent('#sessions')) ?? '', /^\d+$/, "the service's live sessions");
    const paths = await page.$$eval('#chart-reads path', (nodes) => nodes.length);
    assert.ok(paths > 0, 'the reads chart is drawn');

    await page.fill('#session', 'user-1');
    await page.click('#session-form button');
    await page.waitForSelector('#predictions td.bar', { timeout: waitMs });
    const predicted = await page.$$eval('#predictions tr td:first-child', (cells) => cells.map((c) => c.textContent));
    assert.ok(predicted.length > 0 && predicted.length <= 10, `predicted keys: ${predicted.join(', ')}`);
    assert.ok(page.url().includes('session=user-1'), 'the chosen session is kept in the address');
    assert.ok(page.url().includes(`token=${readerToken}`), 'and so is the token');

    mkdirSync(screenshotDir, { recursive: true });
    const shot = join(screenshotDir, 'dashboard.png');
    await page.screenshot({ path: shot, fullPage: true });
    assert.ok(statSync(shot).size > 10_000, `screenshot written to ${shot}`);
    assert.deepEqual(failures, []);
    await page.close();
  });

  test('after an HTTP error on its event stream the page tries again by itself, and goes live once the stream is served', async () => {
    const page = await browser.newPage();
    const refused: number[] = [];
    page.on('response', (response) => {
      if (response.url().includes('/v1/dashboard/events')) refused.push(response.status());
    });
    // A session id the server refuses: the stream answers 400, which EventSource never retries on its own.
    await page.goto(`${url}/?token=${readerToken}&session=${encodeURIComponent('not an id!')}`, { waitUntil: 'domcontentloaded' });
    const tries = await poll(async () => refused.filter((status) => status === 400).length, (n) => n >= 2);
    assert.ok(tries >= 2, `the page asked again after the 400 (${tries} tries)`);
    assert.equal(await page.textContent('#status'), 'reconnecting…');
    await page.fill('#session', 'user-2');
    await page.click('#session-form button');
    await page.waitForSelector('#status.live', { timeout: waitMs });
    await page.close();
  });
});

/** Reads `get` every 100 ms until `isDone` holds (at most `waitMs`); returns the last value read. */
async function poll<T>(get: () => Promise<T>, isDone: (value: T) => boolean): Promise<T> {
  const deadline = performance.now() + waitMs;
  for (;;) {
    const value = await get();
    if (isDone(value) || performance.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function parseCount(text: string | null): number {
  const t = (text ?? '').trim();
  if (t.endsWith('M')) return 1e6 * Number(t.slice(0, -1));
  if (t.endsWith('k')) return 1e3 * Number(t.slice(0, -1));
  return Number(t);
}
