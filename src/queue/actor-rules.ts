// What the acting credential changes about a request: who the agent is, which
// services it may touch, and whose idempotency keys it uses. Every domain
// entry point that acts applies these, so the rules hold for GraphQL and REST
// alike.
import { coversService, holdsRole, OPEN_ACTOR, type Actor, type ActorRole } from './actor.js';
import { agentNameProblem } from './agent-name.js';
import { badInput, forbidden, noService } from './errors.js';

/**
 * The agent a request acts as. A person's token fixes it (`actor.agent`): the
 * request may repeat it or leave it out, not name someone else. Otherwise
 * (API keys, open access) the request must name it. Either way the name must
 * be one people can read (agent-name.ts).
 */
export function actingAgent(actor: Actor, given: string | null): string {
  if (actor.agent !== null && given !== null && given !== actor.agent)
    throw badInput('agent', 'matchesCredential', 'must be left out or be the agent name the credential carries');
  const agent = actor.agent ?? given;
  if (agent === null) throw badInput('agent', 'required', 'is required: the credential does not name an agent');
  const problem = agentNameProblem(agent);
  if (problem) throw badInput('agent', problem.rule, problem.message);
  return agent;
}

// Service limits: to a credential limited to some services, the others and
// their cases are not there. Anything it may not see is answered exactly as a
// missing thing (code, field, message: errors.ts builds both), so no answer
// tells it whether another service or case exists (docs/queries.md, "Service
// limits"). The check comes before any rule that reads what the service uses.

/** Throws what a missing service throws, naming `field`, when the actor is limited to other services. */
export function requireService(actor: Actor, serviceId: number, field: string): void {
  if (!coversService(actor, serviceId)) throw noService(field, serviceId);
}

/** The row as the actor may see it: null, as for a missing row, when it belongs to a service the actor is limited away from. */
export function visibleTo<T extends { readonly serviceId: number }>(actor: Actor, row: T | null): T | null {
  return row !== null && coversService(actor, row.serviceId) ? row : null;
}

/** The services among `services` the actor may see, in their order. */
export function visibleServices<T extends { readonly id: number }>(actor: Actor, services: readonly T[]): T[] {
  return services.filter((service) => coversService(actor, service.id));
}

/**
 * Administration (services, classifications, procedures, the audit log, API
 * keys) changes or shows what every service uses, so a credential limited
 * to some services may not do it, whatever its roles. A limited ADMIN is
 * refused at authentication already; this holds should one get through.
 * Refused before anything is read, so the answer names nothing.
 */
export function requireEveryService(actor: Actor): void {
  if (actor.services !== null)
    throw forbidden(
      'credential',
      'is limited to some services: administration needs one for every service',
      'everyService',
    );
}

/**
 * The roles that may read customers (schema.graphql: `Query.customer`,
 * `Case.customer`); test/queue/service-scope.test.ts holds the two together.
 */
export const CUSTOMER_READERS: readonly ActorRole[] = ['AGENT', 'ADMIN'];

/**
 * Only a credential that may read customers may name one on a case. A kiosk
 * key is not a secret (it sits in kiosks, sign-up pages and phone apps) and
 * no customer signs a request, so a kiosk that could name a customer could
 * put a case in anyone's name, and tell from the answer which ids are
 * customers and whether they are active. Refused whatever the id, before
 * anything is read: the answer is the same for every id.
 */
export function requireCustomerReader(actor: Actor): void {
  if (!holdsRole(actor, CUSTOMER_READERS))
    throw forbidden(
      'customerId',
      'only an AGENT or ADMIN credential may name a customer: leave it out (a contact number may go in extRef)',
      'readsCustomers',
    );
}

/** The services the actor is limited to, for SQL (`int[]`); null for every service. */
export function serviceLimit(actor: Actor): number[] | null {
  return actor.services === null ? null : [...actor.services];
}

/**
 * Separates the credential from the client's key in a stored idempotency
 * key: U+001F (UNIT SEPARATOR), a control character, which client keys may
 * not contain (input-rules.ts). A stored key therefore splits at its last
 * U+001F into exactly one (credential, key) pair whatever the credential's id
 * holds (a token's subject is free text), and no key stored as given (the
 * open actor's) can equal a scoped one.
 */
export const KEY_SCOPE_SEPARATOR = '\u001f';

/**
 * The idempotency key as stored: scoped to the credential, so one
 * credential's keys can neither be taken nor replayed by another. The open
 * actor's keys are stored as given, as before credentials existed, so its
 * stored cases and retries keep working.
 */
export function scopedIdempotencyKey(actor: Actor, key: string): string;
export function scopedIdempotencyKey(actor: Actor, key: string | null): string | null;
export function scopedIdempotencyKey(actor: Actor, key: string | null): string | null {
  if (key === null || actor.id === OPEN_ACTOR.id) return key;
  return `${actor.id}${KEY_SCOPE_SEPARATOR}${key}`;
}
