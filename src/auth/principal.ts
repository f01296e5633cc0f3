// A request's credential as the gateway sees it, once verified: who, with
// which roles, limited to which services. Every edge (GraphQL over HTTP and
// WebSocket, REST) resolves one before running anything.
import type { Role } from '../generated/graphql.js';
import type { Actor } from '../queue/actor.js';

export type { Role };

export const ROLES: readonly Role[] = ['KIOSK', 'SCREEN', 'AGENT', 'ADMIN'];

export interface Principal extends Actor {
  /** How the credential was presented. */
  readonly kind: 'api-key' | 'user' | 'open';
  /** The key's name or the person's name, for people reading logs and lists. */
  readonly name: string;
  readonly roles: ReadonlySet<Role>;
  /**
   * When the gateway stops accepting the credential (epoch ms): a token's
   * `exp` plus the clock tolerance. Absent for credentials that do not
   * expire (API keys, open access). A WebSocket opened with it is closed then.
   */
  readonly expiresAt?: number;
}

/** Everyone, when the gateway runs open: every role, every service. */
export const OPEN_PRINCIPAL: Principal = {
  id: 'open',
  kind: 'open',
  name: 'open access (no credentials)',
  roles: new Set(ROLES),
  agent: null,
  services: null,
};

export function holdsAny(principal: Principal, roles: Iterable<Role>): boolean {
  for (const role of roles) if (principal.roles.has(role)) return true;
  return false;
}
