/**
 * The Redis tier's Lua scripts (src/cache/lua/*.lua), read once when this module loads and run by SHA.
 *
 * Why EVALSHA with an EVAL fallback rather than SCRIPT LOAD up front: the SHA1 is computed here, so the first
 * call already goes by SHA; a server that does not know the script (first use, a restart, a failover, or another
 * node of a cluster) answers NOSCRIPT, and the same call is repeated once with EVAL, which also caches the script
 * on that server. No start-up round trip, no per-node loading in a cluster, and every later call sends 40 bytes
 * instead of the script.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** A loaded script: its source and the SHA1 Redis knows it by. */
export type RedisScript = { readonly name: string; readonly source: string; readonly sha: string };

/** The part of a node-redis client or cluster the scripts need. */
export type ScriptRunner = {
  evalSha(sha: string, options: { keys: string[]; arguments: Array<string | Buffer> }): Promise<unknown>;
  eval(script: string, options: { keys: string[]; arguments: Array<string | Buffer> }): Promise<unknown>;
};

function load(name: string): RedisScript {
  const source = readFileSync(new URL(`./lua/${name}.lua`, import.meta.url), 'utf8');
  return Object.freeze({ name, source, sha: createHash('sha1').update(source).digest('hex') });
}

/** The tier's scripts: `set` (compare-by-version write under the byte budget), `delete`, `usage` (counters), `tagmembers`. */
export const redisScripts = Object.freeze({
  set: load('set'),
  delete: load('delete'),
  usage: load('usage'),
  tagmembers: load('tagmembers'),
});

/**
 * Runs `script` by SHA, falling back to EVAL once when the server answers NOSCRIPT.
 * @throws whatever the client throws for the command (connection, timeout, script error).
 */
export async function runScript(client: ScriptRunner, script: RedisScript, keys: string[], args: Array<string | Buffer>): Promise<unknown> {
  const options = { keys, arguments: args };
  try {
    return await client.evalSha(script.sha, options);
  } catch (error) {
    if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
    return client.eval(script.source, options);
  }
}
