// A person's verified token claims → a principal: who (`user:<sub>`), the
// name history shows, the roles, the services. Identity providers put these
// in different claims (Keycloak `realm_access.roles`, Entra ID `roles`,
// Auth0 a namespaced `https://.../roles`), so the paths and the mapping of
// claim values onto roles are configuration (AUTH_JWT_*).
import { agentNameProblem } from '../queue/agent-name.js';
import { ROLES, type Principal, type Role } from './principal.js';

/** A subject longer than this is refused: `user:<sub>` must fit the 200-character actor columns. */
export const SUBJECT_MAX = 190;
/** Service ids are PostgreSQL `integer`s. */
const SERVICE_ID_MAX = 2_147_483_647;
const CONTROL = /\p{Cc}/u;
/** The log's reason for a token with the ADMIN role and a services claim. */
export const ADMIN_LIMITED = 'ADMIN cannot be limited to services';

/** How claims are read, compiled once from the configuration. */
export interface ClaimMapping {
  readonly rolesClaim: string;
  /** Claim values to roles; null: the role names themselves, in any (ASCII) case. */
  readonly roleMap: ReadonlyMap<string, Role> | null;
  readonly nameClaim: string;
  /** Absent: tokens are not limited to services. */
  readonly servicesClaim: string | undefined;
}

export type ClaimsOutcome =
  { readonly ok: true; readonly principal: Principal } | { readonly ok: false; readonly reason: string };

export type RoleMapParse = { readonly map: ReadonlyMap<string, Role> } | { readonly problem: string };

/** AUTH_JWT_ROLE_MAP: a JSON object of claim values to role names (any case), e.g. `{"queue-agents":"AGENT"}`. */
export function parseRoleMap(text: string): RoleMapParse {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { problem: 'must be a JSON object such as {"queue-agents":"AGENT"} (it is not JSON)' };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    return { problem: 'must be a JSON object such as {"queue-agents":"AGENT"}' };
  const map = new Map<string, Role>();
  for (const [value, roleName] of Object.entries(parsed)) {
    const role = typeof roleName === 'string' ? roleNamed(roleName) : undefined;
    if (role === undefined)
      return {
        problem: `maps ${JSON.stringify(value.slice(0, 60))} to ${JSON.stringify(roleName)}, which is not one of ${ROLES.join(', ')}`,
      };
    map.set(value, role);
  }
  if (map.size === 0) return { problem: 'maps nothing: nobody would get a role' };
  return { map };
}

/** The principal the claims describe, or why there is none (for the operator's log). Never throws. */
export function principalFromClaims(claims: Readonly<Record<string, unknown>>, mapping: ClaimMapping): ClaimsOutcome {
  const sub = claims['sub'];
  if (typeof sub !== 'string' || !usableSubject(sub))
    return {
      ok: false,
      reason: `"sub" claim is not a non-empty string of at most ${SUBJECT_MAX} printable characters`,
    };
  const name = nameFrom(claimAt(claims, mapping.nameClaim), sub);
  if (name === null)
    return { ok: false, reason: `no usable name: neither "${mapping.nameClaim}" nor "sub" can name an agent` };
  let services: ReadonlySet<number> | null = null;
  if (mapping.servicesClaim !== undefined) {
    const value = claimAt(claims, mapping.servicesClaim);
    if (value !== undefined) {
      const ids = serviceIds(value);
      if (ids === null)
        return {
          ok: false,
          reason: `"${mapping.servicesClaim}" claim is not a list of service ids (positive integers)`,
        };
      services = ids;
    }
  }
  const roles = rolesFrom(claimAt(claims, mapping.rolesClaim), mapping.roleMap);
  // An ADMIN manages keys and services, which no service limit could contain:
  // a limited ADMIN does not exist (as for API keys), so the token is refused.
  if (roles.has('ADMIN') && services !== null) return { ok: false, reason: ADMIN_LIMITED };
  return { ok: true, principal: { id: `user:${sub}`, kind: 'user', name, agent: name, roles, services } };
}

/**
 * The claim at `path`: the whole path as one claim name first (Auth0's
 * `https://example.org/roles`), then split at dots into nested claims
 * (`realm_access.roles`), any dot possibly belonging to a name
 * (`resource_access.queue.example.org.roles`). Own properties only.
 */
export function claimAt(claims: unknown, path: string): unknown {
  if (!isRecord(claims)) return undefined;
  if (Object.hasOwn(claims, path)) return claims[path];
  for (let dot = path.indexOf('.'); dot !== -1; dot = path.indexOf('.', dot + 1)) {
    const head = path.slice(0, dot);
    if (!Object.hasOwn(claims, head)) continue;
    const found = claimAt(claims[head], path.slice(dot + 1));
    if (found !== undefined) return found;
  }
  return undefined;
}

/**
 * Roles from a claim holding an array of strings or one string of values
 * separated by spaces or commas (OAuth's `scope` style). Values the map (or,
 * without a map, the role names) does not know are ignored.
 */
export function rolesFrom(value: unknown, roleMap: ReadonlyMap<string, Role> | null): ReadonlySet<Role> {
  const values =
    typeof value === 'string'
      ? value.split(/[\s,]+/)
      : Array.isArray(value)
        ? value.filter((each): each is string => typeof each === 'string')
        : [];
  const roles = new Set<Role>();
  for (const each of values) {
    const role = roleMap === null ? roleNamed(each) : roleMap.get(each);
    if (role !== undefined) roles.add(role);
  }
  return roles;
}

/** An array of positive integers or decimal strings of them; null when anything else. */
export function serviceIds(value: unknown): ReadonlySet<number> | null {
  if (!Array.isArray(value)) return null;
  const items: readonly unknown[] = value;
  const ids = new Set<number>();
  for (const each of items) {
    const id = typeof each === 'string' && /^[1-9][0-9]{0,9}$/.test(each) ? Number(each) : each;
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 1 || id > SERVICE_ID_MAX) return null;
    ids.add(id);
  }
  return ids;
}

/** A role by its name in any ASCII case (`agent`, `Admin`); ASCII only, so `admın` (dotless ı) is not `ADMIN`. */
function roleNamed(value: string): Role | undefined {
  if (!/^[A-Za-z]+$/.test(value)) return undefined;
  const upper = value.toUpperCase();
  return ROLES.find((role) => role === upper);
}

function usableSubject(sub: string): boolean {
  // Code points, as PostgreSQL counts a varchar's length.
  const length = Array.from(sub).length;
  return length >= 1 && length <= SUBJECT_MAX && !CONTROL.test(sub);
}

/** The name claim when it can name an agent, else `sub` when it can; null when neither can. */
function nameFrom(claim: unknown, sub: string): string | null {
  if (typeof claim === 'string' && agentNameProblem(claim) === null) return claim;
  return agentNameProblem(sub) === null ? sub : null;
}

function isRecord(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
