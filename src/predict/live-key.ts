/**
 * Live-state keys: the one string under which a context's per-visit state is kept, with sessions, users and
 * segments in separate namespaces.
 *
 * Why: a session id and a user id are drawn from different spaces (numeric ids from two sequences make "7" and "7"
 * likely), so keying live state on `session ?? user` let an anonymous visitor's session "7" and signed-in user "7"
 * share one history. A session id is its own key — no string is built per access for the common case, and a
 * session-only stream keys exactly as before — unless it starts with NUL; every other key starts with NUL plus a
 * letter ('s' an escaped session, 'u' a user, 'g' a segment) or is NUL alone (an anonymous read), so no two
 * namespaces can meet. Cost: one comparison for a session; one concatenation for a user-only or segment-only context.
 */
import type { ReadContext } from '../context.ts';

/** Key of the anonymous stream (no session, no user): NUL alone, which no other key is. */
export const anonymousLiveKey = '\u0000';

/** The key of the context's live state: its session, else its user (namespaced), else undefined (anonymous). */
export function liveKey(ctx: ReadContext): string | undefined {
  const session = ctx.session;
  if (session !== undefined) return session.charCodeAt(0) === 0 ? '\u0000s' + session : session;
  const user = ctx.user;
  return user === undefined ? undefined : '\u0000u' + user;
}

/**
 * The key a context's waiting predictions are kept under: `liveKey`, else its segment (namespaced), else
 * `anonymousLiveKey`. Like `contextKey` (src/context.ts) but a session, a user and a segment of the same id differ.
 */
export function contextStateKey(ctx: ReadContext): string {
  const key = liveKey(ctx);
  if (key !== undefined) return key;
  return ctx.segment === undefined ? anonymousLiveKey : '\u0000g' + ctx.segment;
}
