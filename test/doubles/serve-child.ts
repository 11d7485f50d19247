/**
 * A real `prescient serve` child process for the shutdown tests: start it, wait for its address or its exit, write
 * through its HTTP API.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The repository root (where bin/prescient.js is). */
export const root = fileURLToPath(new URL('../../', import.meta.url));
/** Longest wait for the child to bind or to exit, in ms (startup loads TypeScript through tsx). */
const boundedWaitMs = 60_000;

/** An acknowledged write: the version the server answered with, and the value written. */
export type Ack = { key: string; version: number; value: number };

/** Starts `prescient serve --port 0 <args>` with `env` added; its stderr is collected into `output.text`. */
export function startServe(args: readonly string[], env: Record<string, string>, output: { text: string }): ChildProcess {
  const child = spawn(process.execPath, ['bin/prescient.js', 'serve', '--port', '0', ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr?.on('data', (chunk: Buffer) => (output.text += chunk.toString()));
  return child;
}

/** Resolves with the base URL once the child logs that it listens; rejects if it exits first or takes too long. */
export function waitForUrl(child: ChildProcess, output: { text: string }): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line within ${boundedWaitMs} ms:\n${output.text}`)), boundedWaitMs);
    child.stdout?.on('data', (chunk: Buffer) => {
      output.text += chunk.toString();
      const url = /listening on (http:\/\/[^\s"]+)/.exec(output.text)?.[1];
      if (url !== undefined) {
        clearTimeout(timer);
        resolve(url);
      }
    });
    child.on('exit', (code) => reject(new Error(`exited ${code} before listening:\n${output.text}`)));
  });
}

/** Resolves with the child's exit code; rejects if it has not exited within the bound. */
export function waitForExit(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve, reject) => {
    if (child.exitCode !== null) {
      resolve(child.exitCode);
      return;
    }
    const timer = setTimeout(() => reject(new Error('did not exit after SIGTERM')), boundedWaitMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

/** PUTs `value` at `key`; the acknowledgement, or undefined when the write was refused or the connection failed. */
export async function put(url: string, key: string, value: number): Promise<Ack | undefined> {
  try {
    const res = await fetch(`${url}/v1/items/${key}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ value }) });
    if (res.status !== 200) return undefined;
    const body = (await res.json()) as { key: string; version: number };
    return { key: body.key, version: body.version, value };
  } catch {
    return undefined; // refused or reset while shutting down: not acknowledged
  }
}

/**
 * Writes 100 keys (10 of them twice), then 200 more while SIGTERM arrives after the 20th answer; returns every
 * acknowledged write and the child's exit code. The latest acknowledged version of each key must survive.
 */
export async function writeThroughShutdown(child: ChildProcess, url: string, check: (ok: boolean, message: string) => void): Promise<{ acks: Ack[]; duringAcks: number; code: number | null }> {
  const acks: Ack[] = [];
  for (let batch = 0; batch < 10; batch++) {
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => put(url, `before-${batch * 10 + i}`, batch * 10 + i)));
    for (const a of answers) check(a !== undefined, 'writes before the signal are all acknowledged');
    acks.push(...(answers as Ack[]));
  }
  // Rewrite some keys so the store must hold the newer version, not the first.
  for (let i = 0; i < 10; i++) acks.push((await put(url, `before-${i}`, 1000 + i)) as Ack);
  let sent = false;
  const during = Array.from({ length: 200 }, (_, i) =>
    put(url, `during-${i}`, i).then((a) => {
      if (!sent && i >= 20) {
        sent = true;
        child.kill('SIGTERM');
      }
      return a;
    }),
  );
  const exited = waitForExit(child);
  const results = await Promise.all(during);
  if (!sent) child.kill('SIGTERM');
  const duringAcks = results.filter((a): a is Ack => a !== undefined);
  acks.push(...duringAcks);
  return { acks, duringAcks: duringAcks.length, code: await exited };
}

/** The latest acknowledged write of each key. */
export function latestByKey(acks: readonly Ack[]): Map<string, Ack> {
  const latest = new Map<string, Ack>();
  for (const a of acks) if ((latest.get(a.key)?.version ?? -1) < a.version) latest.set(a.key, a);
  return latest;
}
