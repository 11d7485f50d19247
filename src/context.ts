/**
 * Who is asking: the read context every access carries and every prediction is keyed by. A per-user "shadow
 * catalog" is simply the set of prefetched entries predicted for that user.
 */
import { InvalidOptionError, PrescientError, describe } from './errors.ts';

/** Identity of a read. Every field is optional; an empty context is an anonymous read. */
export type ReadContext = {
  readonly session?: string;
  readonly user?: string;
  readonly segment?: string;
  readonly region?: string;
};

/** The empty context, shared to avoid allocating one per anonymous read. */
export const anonymous: ReadContext = Object.freeze({});

/**
 * Live-state keys, with sessions, users and segments in separate namespaces. Why: a session id and a user id are drawn
 * from different spaces (numeric ids from two sequences make "7" and "7" likely), so keying state on
 * `session ?? user` let an anonymous visitor's session "7" and signed-in user "7" share one history. A session id is
 * its own key (no string built per access in the common case) unless it starts with NUL; every other key starts with
 * NUL plus a letter ('s' an escaped session, 'u' a user, 'g' a segment) or is NUL alone (an anonymous read), so no two
 * namespaces meet. Cost: one comparison for a session; one concatenation for a user-only or segment-only context.
 */

/** Key of the anonymous stream (no session, no user, no segment): NUL alone, which no other key is. */
export const anonymousLiveKey = '\u0000';

/** The key of the context's live (per-visit) state: its session, else its user (namespaced), else undefined. */
export function liveKey(ctx: ReadContext): string | undefined {
  const session = ctx.session;
  if (session !== undefined) return session.charCodeAt(0) === 0 ? '\u0000s' + session : session;
  const user = ctx.user;
  return user === undefined ? undefined : '\u0000u' + user;
}

/**
 * The key a context's predictions and waiting state are kept under: `liveKey`, else its segment (namespaced), else
 * `anonymousLiveKey`. A session, a user and a segment of the same id are different contexts.
 */
export function contextKey(ctx: ReadContext): string {
  const key = liveKey(ctx);
  if (key !== undefined) return key;
  return ctx.segment === undefined ? anonymousLiveKey : '\u0000g' + ctx.segment;
}

/** True when `ctx` names neither a session nor a user: one global stream (a block or object trace). */
export function isAnonymous(ctx: ReadContext): boolean {
  return ctx.session === undefined && ctx.user === undefined;
}

/** Where a setting applies: every context (true), none (false), or anonymous reads only. */
export type ContextScope = boolean | 'anonymous';

/** Checks a `ContextScope` option. @throws InvalidOptionError (ERR_INVALID_OPTION) */
export function contextScope(name: string, value: unknown, fallback: ContextScope): ContextScope {
  if (value === undefined) return fallback;
  if (typeof value === 'boolean' || value === 'anonymous') return value;
  throw new InvalidOptionError(name, "a boolean or 'anonymous'", value);
}

/** Longest identifier accepted in a context field. */
export const maxContextIdLength = 256;

/**
 * Throws ERR_INVALID_CONTEXT unless `ctx` is an object whose known fields are strings of 1..256 characters.
 * Cheap enough for the read path: four typeof checks.
 */
export function checkContext(ctx: unknown): ReadContext {
  if (ctx === undefined) return anonymous;
  if (typeof ctx !== 'object' || ctx === null) {
    throw new PrescientError('ERR_INVALID_CONTEXT', `Expected the read context to be an object, got ${describe(ctx)}`);
  }
  const c = ctx as Record<string, unknown>;
  for (const field of ['session', 'user', 'segment', 'region'] as const) {
    const v = c[field];
    if (v === undefined) continue;
    if (typeof v !== 'string' || v.length === 0 || v.length > maxContextIdLength) {
      throw new PrescientError('ERR_INVALID_CONTEXT', `Expected \`ctx.${field}\` to be a string of 1 to ${maxContextIdLength} characters, got ${describe(v)}`);
    }
  }
  return ctx as ReadContext;
}
