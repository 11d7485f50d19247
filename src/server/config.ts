/**
 * ServerConfig: what `prescient serve` runs with — the config file (JSON), overridden by environment variables,
 * overridden by command-line flags — validated once, on start, into a frozen shape. Every message names the bad
 * field by its path (`limits.rateLimit.perSecond: ...`), and by its variable when it came from the environment.
 */
import { maxTimerMs } from '../clock.ts';
import { isIP } from 'node:net';
import { z } from 'zod';
import { PrescientError } from '../errors.ts';

/** Access a bearer token grants. `admin` covers the metrics and the users' data of every user. */
export type Scope = 'read' | 'write' | 'admin';

/** One bearer token of the config. */
export type TokenConfig = {
  /** The secret the client sends as `Authorization: Bearer <token>`; 16 to 512 characters. */
  readonly token: string;
  readonly scopes: readonly Scope[];
  /** When set, the token acts for this user only: its sessions, its predictions, its shadow catalog. */
  readonly user?: string;
  /** Name used in logs and as the rate-limit key. @default "token-<index>" */
  readonly name: string;
};

/** Log levels pino knows, plus `silent`. */
export const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Identifiers (users, sessions, segments, token users): letters, digits and `._:@-`, 1 to 128 characters. */
export const idPattern = /^[A-Za-z0-9._:@-]{1,128}$/;

const mib = 1024 * 1024;
const id = z.string().regex(idPattern, 'expected 1 to 128 letters, digits or ._:@-');
const posInt = z.int().positive();
/** A SQL table name, optionally schema-qualified: it is quoted when used, but kept plain so logs read simply. */
const tableName = z.string().regex(/^[a-z_][a-z0-9_]{0,62}(\.[a-z_][a-z0-9_]{0,62})?$/, 'expected a lower-case SQL identifier (schema.table allowed)');

// Every millisecond field that becomes a timer is capped at `maxTimerMs` (clock.ts: a longer Node timer fires after
// 1 ms), less any slack the service adds to it.
export { maxTimerMs };

/** Time allowed to receive a whole request (headers and body) beyond `limits.requestTimeoutMs`, in ms. */
export const receiveSlackMs = 5000;

const timerLimitMessage = (slackMs: number) => `expected at most ${maxTimerMs - slackMs} ms (a Node timer holds no more)`;

/** A whole duration in ms that a Node timer can hold once `slackMs` is added to it. */
const timerMs = (slackMs = 0) => posInt.max(maxTimerMs - slackMs, timerLimitMessage(slackMs));

/**
 * A connection URL whose protocol is one of `protocols`. Checked here so a typo fails on start naming its field,
 * not later inside the client's own parser (`Invalid URL`). The message never echoes the URL: it may hold a password.
 */
const urlOf = (protocols: readonly string[]) =>
  z.string().refine((text) => URL.canParse(text) && protocols.includes(new URL(text).protocol), `expected a URL starting ${protocols.map((p) => `${p}//`).join(' or ')}`);

/** Secrets as `Authorization: Bearer` carries them (and the Authenticator accepts): printable ASCII, no spaces. */
const tokenPattern = /^[\x21-\x7e]{16,512}$/;

const tokenSchema = z.strictObject({
  token: z.string().regex(tokenPattern, 'expected 16 to 512 printable ASCII characters without spaces'),
  scopes: z.array(z.enum(['read', 'write', 'admin'])).min(1),
  user: id.optional(),
  name: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'expected 1 to 64 letters, digits or ._-').optional(),
});

/** Token names key the rate limiter: two tokens with one name would share one bucket, so names are unique. */
const tokensSchema = z
  .array(tokenSchema)
  .max(10_000)
  .superRefine((tokens, ctx) => {
    const firstByName = new Map<string, number>();
    tokens.forEach((t, i) => {
      const name = t.name ?? `token-${i}`;
      const first = firstByName.get(name);
      if (first === undefined) firstByName.set(name, i);
      else ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `the name ${JSON.stringify(name)} is already used by tokens.${first}` });
    });
  });

const configSchema = z.strictObject({
  /** Address to bind. Anything but loopback needs tokens. */
  host: z.string().min(1).max(255).prefault('127.0.0.1'),
  /** Port to bind; 0 picks a free one. */
  port: z.int().min(0).max(65535).prefault(8787),
  logLevel: z.enum(logLevels).prefault('info'),
  tokens: tokensSchema.prefault([]),
  /** PostgreSQL origin; without it the embedded PGlite origin with the shipped sample is used. */
  database: z.strictObject({ url: urlOf(['postgres:', 'postgresql:']), table: tableName.prefault('prescient_items') }).optional(),
  /** Shared Redis tier. */
  redis: z
    .strictObject({
      url: urlOf(['redis:', 'rediss:']),
      // RedisTier's own limit (the hash tag of every key): refused here, on start, naming the field.
      namespace: id.max(64, 'expected at most 64 characters').prefault('prescient'),
      maxBytes: posInt.prefault(256 * mib),
      /** Announce writes to the other nodes on the namespace (channel `<namespace>:writes`), and hear theirs. */
      bus: z.boolean().prefault(true),
    })
    .optional(),
  /**
   * Folder of the embedded PGlite store (used without a database): built from the shipped sample on first use and
   * kept, with every write flushed to it. Without it the store is a private temporary copy, dropped on stop.
   */
  dataDir: z.string().min(1).optional(),
  /** Directory of the write-back journal. @default "<tmpdir>/prescient-journal-<port>" (port 0: a fresh temporary directory) */
  journalDir: z.string().min(1).optional(),
  cache: z
    .strictObject({
      maxBytes: posInt.prefault(64 * mib),
      /** Lifetime of an entry, in ms: compared with times, never set as a timer, so not capped (a 30-day TTL is fine). */
      ttlMs: z.number().positive().prefault(300_000),
      /** How long the origin's "no such key" is remembered, in ms (negative caching; 0: off). Compared with times, never a timer. */
      absentTtlMs: z.number().min(0).max(86_400_000).prefault(0),
      maxKeyLength: z.int().min(1).max(1024).prefault(512),
      predictLimit: z.int().min(1).max(100).prefault(8),
      /**
       * Where the models run: the request thread under the prediction budget (`main`), or a worker thread of their
       * own at the lowest priority (`worker`: for machines with cores to spare; on this project's 2-core bench box,
       * shared with the load generator, it measured slower, see BENCHMARKS.md).
       */
      modelThread: z.enum(['worker', 'main']).prefault('main'),
      /**
       * Most distinct keys the models know by id (EnsemblePredictor `maxKeys`): bounds what clients reading ever new
       * keys (or keys the origin lacks) can make the models hold, about 300 bytes plus the key each (about 500 once 50 or more sessions have read it).
       */
      modelKeys: z.int().min(1000).max(10_000_000).prefault(200_000),
    })
    .prefault({}),
  /**
   * Write-back: time from a write's acknowledgement to its flush, the journal's group-commit window (0: an fsync per
   * write), and this node's id among the nodes writing the same keys (0-15; distinct ids never draw the same version).
   */
  writeBack: z
    .strictObject({ flushIntervalMs: timerMs().prefault(200), groupCommitMs: z.int().min(0).max(1000).prefault(2), nodeId: z.int().min(0).max(15).optional() })
    .prefault({}),
  limits: z
    .strictObject({
      /** Largest request body, in bytes (413 above). */
      bodyLimitBytes: posInt.max(64 * mib).prefault(mib),
      /** Most keys in one batchGet or prefetch. */
      maxBatchKeys: z.int().min(1).max(10_000).prefault(100),
      /** Token bucket per token (per client address without tokens): refill per second (at least 0.001) and burst size. */
      rateLimit: z.strictObject({ perSecond: z.number().min(0.001).prefault(1000), burst: posInt.prefault(2000) }).prefault({}),
      /** Most keys fetched from the origin at once; a read or prefetch that would add one more answers 503 ERR_OVERLOADED. */
      maxInflightFetches: posInt.prefault(1024),
      /** Time a request may take, in ms, before it answers ERR_TIMEOUT (the server adds `receiveSlackMs` to receive it). */
      requestTimeoutMs: timerMs(receiveSlackMs).prefault(10_000),
      /** Sessions whose owner is remembered (least recently used forgotten first). */
      maxSessions: posInt.prefault(100_000),
    })
    .prefault({}),
});

/** The validated configuration. */
export type ServerConfig = Readonly<Omit<z.output<typeof configSchema>, 'tokens'>> & { readonly tokens: readonly TokenConfig[] };

/** Environment variables read, and the config field each overrides. */
export type ServerEnv = Readonly<Record<string, string | undefined>>;

/** Command-line overrides (they beat both the file and the environment). */
export type ConfigOverrides = { readonly port?: number; readonly host?: string; readonly logLevel?: string };

const envFields = [
  ['DATABASE_URL', 'database.url'],
  ['PRESCIENT_TABLE', 'database.table'],
  ['REDIS_URL', 'redis.url'],
  ['PRESCIENT_HOST', 'host'],
  ['PRESCIENT_PORT', 'port'],
  ['PRESCIENT_TOKENS', 'tokens'],
  ['PRESCIENT_JOURNAL_DIR', 'journalDir'],
  ['PRESCIENT_DATA_DIR', 'dataDir'],
  ['LOG_LEVEL', 'logLevel'],
] as const;

/**
 * Merges `fileJson` (the parsed config file, or undefined), `env` and `overrides`, validates the result and
 * returns it frozen. `PRESCIENT_PORT` must be digits; `PRESCIENT_TOKENS` is a JSON array shaped like `tokens`.
 * @throws PrescientError ERR_INVALID_CONFIG naming the field (and the variable) at fault, or when a host other
 *   than loopback is to be bound with no tokens configured.
 */
export function resolveConfig(fileJson: unknown, env: ServerEnv = {}, overrides: ConfigOverrides = {}): ServerConfig {
  if (fileJson !== undefined && (typeof fileJson !== 'object' || fileJson === null || Array.isArray(fileJson))) {
    throw invalid('(root): expected a JSON object');
  }
  const merged: Record<string, unknown> = structuredClone((fileJson ?? {}) as Record<string, unknown>);
  const fromEnv = new Map<string, string>();
  for (const [name, path] of envFields) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    fromEnv.set(path, name);
    setPath(merged, path, envValue(name, raw));
  }
  if (overrides.port !== undefined) merged.port = overrides.port;
  if (overrides.host !== undefined) merged.host = overrides.host;
  if (overrides.logLevel !== undefined) merged.logLevel = overrides.logLevel;
  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) {
    const lines = parsed.error.issues.slice(0, 5).map((issue) => {
      const path = issue.path.map(String).join('.');
      const variable = [...fromEnv].find(([p]) => path === p || path.startsWith(`${p}.`))?.[1];
      const where = path === '' ? '(root)' : path;
      if (variable !== undefined) return `${where} (from ${variable}): ${issue.message}`;
      // A field missing beside one a variable set (PRESCIENT_TABLE without DATABASE_URL): name that variable too.
      const parent = path.slice(0, Math.max(0, path.lastIndexOf('.')));
      const sibling = parent === '' ? undefined : [...fromEnv].find(([p]) => p.startsWith(`${parent}.`))?.[1];
      return `${sibling === undefined ? where : `${where} (needed with ${sibling})`}: ${issue.message}`;
    });
    throw invalid(lines.join('; '));
  }
  const c = parsed.data;
  const tokens = c.tokens.map((t, i) => Object.freeze({ ...t, scopes: Object.freeze([...new Set(t.scopes)]), name: t.name ?? `token-${i}` }));
  if (new Set(tokens.map((t) => t.token)).size !== tokens.length) throw invalid('tokens: the same token is listed twice');
  if (tokens.length === 0 && !isLoopback(c.host)) {
    throw invalid(`host: refusing to bind ${JSON.stringify(c.host)} with no tokens configured; bind a loopback address or configure tokens`);
  }
  return deepFreeze({ ...c, tokens }) as ServerConfig;
}

/** True for loopback addresses (127.0.0.0/8, ::1, localhost). */
export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  const family = isIP(host);
  if (family === 4) return host.startsWith('127.');
  if (family === 6) return host === '::1' || host === '0:0:0:0:0:0:0:1' || host.startsWith('::ffff:127.');
  return false;
}

/**
 * Parses the text of a config file (JSON).
 * @throws PrescientError ERR_INVALID_CONFIG naming the file when it is not JSON.
 */
export function parseConfigText(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw invalid(`${file}: not valid JSON (${error instanceof Error ? error.message : String(error)})`);
  }
}

function envValue(name: string, raw: string): unknown {
  if (name === 'PRESCIENT_PORT') {
    if (!/^\d{1,5}$/.test(raw.trim())) throw invalid(`port (from PRESCIENT_PORT): expected an integer from 0 to 65535, got ${JSON.stringify(raw)}`);
    return Number(raw.trim());
  }
  if (name === 'PRESCIENT_TOKENS') {
    try {
      return JSON.parse(raw);
    } catch {
      throw invalid('tokens (from PRESCIENT_TOKENS): expected a JSON array of { "token", "scopes", "user"? }');
    }
  }
  return raw;
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) {
    const next = node[part];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  node[parts[parts.length - 1]] = value;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

function invalid(message: string): PrescientError {
  return new PrescientError('ERR_INVALID_CONFIG', `Invalid configuration: ${message}`);
}
