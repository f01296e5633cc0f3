// What a request about API keys may contain, declared once as every input is
// (src/queue/input-rules.ts), and checked whole before anything is looked up.
import { z } from 'zod';
import { agentNameProblem } from '../queue/agent-name.js';
import type { FieldIssue } from '../queue/errors.js';
import { broken, rule, serviceExtRefsRules } from '../queue/input-rules.js';
import { ROLES, type Role } from './principal.js';

export const API_KEY_LIMITS = { name: 100, services: 100, page: 100 } as const;

/** Why `name` cannot name a key, as an agent's name could not name an agent: the first problem only. */
function nameProblem(name: string): { rule: string; message: string } | null {
  if (!name.isWellFormed())
    return { rule: 'storableText', message: 'must be well-formed Unicode text without NUL characters' };
  if (name.length > 0 && name.trim() === '') return { rule: 'notBlank', message: 'must not be blank' };
  return agentNameProblem(name);
}

const keyName = z.string().superRefine((name, context) => {
  const problem = nameProblem(name);
  if (problem) context.addIssue({ code: 'custom', ...rule(problem.rule, problem.message) });
});

const isRole = (value: string): value is Role => ROLES.some((role) => role === value);

/** The first id `ids` names twice, as the issue of `serviceIds`; null when each is named once. */
export function serviceNamedTwice(ids: readonly number[]): FieldIssue | null {
  const duplicate = ids.find((id, index) => ids.indexOf(id) !== index);
  return duplicate === undefined
    ? null
    : { field: 'serviceIds', rule: 'unique', message: `names the service ${duplicate} twice` };
}

export const createApiKeyRules = z
  .object({
    // First, so that its problems lead the list: services by external reference, checked as text before any lookup.
    serviceExtRefs: serviceExtRefsRules(API_KEY_LIMITS.services)
      .shape.serviceExtRefs.readonly()
      .nullish()
      .transform((refs) => refs ?? null),
    /** What the key is for: readable, 1 to 100 characters. */
    name: keyName,
    /** One of ROLES; checked here, since the npm script passes what it was given. */
    role: z.string().refine(isRole, rule('oneOf', `must be one of ${ROLES.join(', ')}`)),
    /** 1 to 100 ids, with `serviceExtRefs`; both absent or null: every service. */
    serviceIds: z
      .array(z.number())
      .readonly()
      .nullish()
      .transform((ids) => ids ?? null),
  })
  .superRefine(({ serviceExtRefs: refs, serviceIds: ids, role }, context) => {
    if (ids === null && refs === null) return;
    const max = API_KEY_LIMITS.services;
    const named = (ids?.length ?? 0) + (refs?.length ?? 0);
    if (named === 0)
      broken(context, ['serviceIds'], 'minItems', 'must name at least 1 service; leave it out for every service');
    // Too many references alone are told on serviceExtRefs.
    if (named > max && (refs?.length ?? 0) <= max)
      broken(context, ['serviceIds'], 'maxItems', `must name at most ${max} services`);
    const twice = serviceNamedTwice(ids ?? []);
    if (twice) broken(context, ['serviceIds'], twice.rule, twice.message);
    if (role === 'ADMIN')
      broken(context, ['serviceIds'], 'adminCoversAll', 'an ADMIN key covers every service: leave serviceIds out');
  });
export type CreateApiKeyRequest = z.input<typeof createApiKeyRules>;

export const apiKeysPageRules = z.object({
  /** 1 to 100; 100 when absent. */
  first: z
    .number()
    .nullish()
    .transform((first) => first ?? API_KEY_LIMITS.page)
    .refine(
      (first) => Number.isInteger(first) && first >= 1 && first <= API_KEY_LIMITS.page,
      rule('range', `must be from 1 to ${API_KEY_LIMITS.page}`),
    ),
  /** The id of the last key of the previous page. */
  after: z
    .string()
    .nullish()
    .transform((after) => after ?? null),
});
export type ApiKeysPageRequest = z.input<typeof apiKeysPageRules>;
