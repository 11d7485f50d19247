/**
 * Authenticator: bearer tokens with scopes, optionally bound to one user.
 *
 * A request presents `Authorization: Bearer <token>`. Tokens are looked up by their SHA-256 digest, so the
 * lookup's timing says nothing about how much of a guess matched, and the secrets themselves are not kept.
 * With no tokens configured the server is open (every scope) — the config only allows that on loopback.
 * A token bound to a user acts for that user only: reads are attributed to it, and it sees only its own
 * sessions, predictions and shadow catalog (`actFor`).
 */
import { createHash } from 'node:crypto';
import { PrescientError } from '../errors.ts';
import type { Scope, TokenConfig } from './config.ts';

/** Who a request acts as. */
export type Principal = {
  /** Token name (rate-limit key and log field); "anonymous" on an open server. */
  readonly name: string;
  readonly scopes: ReadonlySet<Scope>;
  /** The user a bound token acts for. */
  readonly user?: string;
};

/** What a route requires: a scope, or nothing (`public`: health and readiness). */
export type RouteScope = Scope | 'public';

const allScopes: ReadonlySet<Scope> = new Set<Scope>(['read', 'write', 'admin']);
const anonymousPrincipal: Principal = Object.freeze({ name: 'anonymous', scopes: allScopes });

export class Authenticator {
  readonly #byDigest = new Map<string, Principal>();

  constructor(tokens: readonly TokenConfig[]) {
    for (const t of tokens) {
      this.#byDigest.set(digest(t.token), Object.freeze({ name: t.name, scopes: new Set(t.scopes), ...(t.user === undefined ? {} : { user: t.user }) }));
    }
  }

  /** True when no tokens are configured: every request acts as "anonymous" with every scope. */
  get isOpen(): boolean {
    return this.#byDigest.size === 0;
  }

  /**
   * The principal of a request from its Authorization header.
   * @throws PrescientError ERR_UNAUTHORIZED when tokens are configured and the header is missing, malformed or
   *   names no configured token.
   */
  authenticate(header: string | undefined): Principal {
    if (this.isOpen) return anonymousPrincipal;
    if (header === undefined || header === '') throw new PrescientError('ERR_UNAUTHORIZED', 'Missing bearer token: send `Authorization: Bearer <token>`');
    const match = /^Bearer ([\x21-\x7e]{1,512})$/i.exec(header);
    const principal = match === null ? undefined : this.#byDigest.get(digest(match[1]));
    if (principal === undefined) throw new PrescientError('ERR_UNAUTHORIZED', 'Invalid bearer token');
    return principal;
  }

  /** @throws PrescientError ERR_FORBIDDEN unless `principal` holds `scope` (admin holds every scope). */
  static require(principal: Principal, scope: Scope): void {
    if (principal.scopes.has(scope) || principal.scopes.has('admin')) return;
    throw new PrescientError('ERR_FORBIDDEN', `Token "${principal.name}" lacks the "${scope}" scope`);
  }

  /**
   * The user a request acts for: the bound user of its token (a different `requested` user is refused), else
   * `requested`.
   * @throws PrescientError ERR_FORBIDDEN when a token bound to one user asks for another.
   */
  static actFor(principal: Principal, requested: string | undefined): string | undefined {
    if (principal.user === undefined) return requested;
    if (requested !== undefined && requested !== principal.user) {
      throw new PrescientError('ERR_FORBIDDEN', `Token "${principal.name}" may act only for its own user`);
    }
    return principal.user;
  }
}

function digest(token: string): string {
  return createHash('sha256').update(token).digest('base64');
}
