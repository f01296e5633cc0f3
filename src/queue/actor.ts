// Who acts on the queues: what the rules need to know of a request's
// credential. The HTTP edge turns a credential into a principal (src/auth/),
// and a principal is an actor.

/** The roles of a credential, as the contract names them (schema.graphql, `Role`). */
export type ActorRole = 'KIOSK' | 'SCREEN' | 'AGENT' | 'ADMIN';

export interface Actor {
  /**
   * Stable id of the credential: `key:<id>`, `user:<subject>`, or `open` when
   * the gateway runs without credentials. History and the audit log record
   * it; idempotency keys are scoped by it.
   */
  readonly id: string;
  /** The agent name the credential fixes (a person's token); null when the request names the agent. */
  readonly agent: string | null;
  /** The services the credential is limited to; null for every service. */
  readonly services: ReadonlySet<number> | null;
  /**
   * The credential's roles, for the few rules that depend on one (only a role
   * that may read customers may name one on a case). Every principal carries
   * them; an actor the gateway's own code makes (OPEN_ACTOR, scripts, tests)
   * may leave them out and then acts with every role, as `open` does.
   */
  readonly roles?: ReadonlySet<ActorRole>;
}

/** The actor of a gateway that runs open (development): anyone may do anything, as `open`. */
export const OPEN_ACTOR: Actor = { id: 'open', agent: null, services: null };

/** Whether the actor may act on (or read the queue of) this service. */
export function coversService(actor: Actor, serviceId: number): boolean {
  return actor.services === null || actor.services.has(serviceId);
}

/** Whether the actor holds one of `roles` (an actor without roles holds every one). */
export function holdsRole(actor: Actor, roles: readonly ActorRole[]): boolean {
  const held = actor.roles;
  return held === undefined || roles.some((role) => held.has(role));
}
