// What the acting credential changes about a request: who the agent is, which
// services it may touch, and whose idempotency keys it uses. Every domain
// entry point that acts applies these, so the rules hold for GraphQL and REST
// alike.
import { coversService, OPEN_ACTOR, type Actor } from './actor.js';
import { agentNameProblem } from './agent-name.js';
import { badInput, forbidden } from './errors.js';

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

/** Throws FORBIDDEN, naming `field`, when the actor is limited to other services. */
export function requireService(actor: Actor, serviceId: number, field: string): void {
  if (!coversService(actor, serviceId)) throw forbidden(field, `the credential does not cover service ${serviceId}`);
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
