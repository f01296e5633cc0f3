// Every rule about what a request may contain, declared once. Lengths count
// Unicode code points, as PostgreSQL's varchar(n) does, so what passes here
// always fits its column.
import { z } from 'zod';
import { QueueError, type FieldIssue } from './errors.js';

export const LIMITS = {
  service: { name: 100, extRef: 100, queueCode: 10 },
  case: {
    serviceIdExtRef: 100,
    extRef: 200,
    notes: 4000,
    subject: 100,
    classificationCode: 50,
    procedureExtRef: 100,
    procedureOptionExtRef: 100,
    customProperties: 50,
    propertyKey: 100,
    propertyValue: 1000,
  },
} as const;

export const codePoints = (text: string): number => {
  let count = 0;
  for (const _ of text) count += 1;
  return count;
};

const rule = (name: string, message: string) => ({ message, params: { rule: name } });

/** Text PostgreSQL can store: well-formed UTF-16 (no lone surrogates) and no NUL. */
const storable = z
  .string()
  .refine((text) => text.isWellFormed() && !text.includes('\u0000'), { ...rule('storableText', 'must be well-formed Unicode text without NUL characters'), abort: true });

const text = (max: number, min = 0) =>
  storable
    .refine((value) => codePoints(value) >= min, rule('minLength', `must be at least ${min} character${min === 1 ? '' : 's'}`))
    .refine((value) => codePoints(value) <= max, rule('maxLength', `must be at most ${max} characters`));

/** Absent and null mean the same: not given, stored as NULL. */
const optional = <T extends z.ZodType>(schema: T) => schema.nullish().transform((value) => value ?? null);

const id = z.number().int().refine((value) => value > 0, rule('positive', 'must be a positive id'));

const customProperties = z
  .array(z.object({ key: text(LIMITS.case.propertyKey, 1), value: text(LIMITS.case.propertyValue) }))
  .refine((list) => list.length <= LIMITS.case.customProperties, rule('maxItems', `must have at most ${LIMITS.case.customProperties} entries`))
  .superRefine((list, context) => {
    const seen = new Set<string>();
    list.forEach((property, index) => {
      if (seen.has(property.key)) context.addIssue({ code: 'custom', path: [index, 'key'], message: `duplicates the key "${property.key}"`, params: { rule: 'uniqueKey' } });
      seen.add(property.key);
    });
  });

export const caseEnqueueRules = z
  .object({
    serviceId: optional(id),
    serviceIdExtRef: optional(text(LIMITS.case.serviceIdExtRef, 1)),
    customerId: optional(id),
    extRef: optional(text(LIMITS.case.extRef)),
    notes: optional(text(LIMITS.case.notes)),
    subject: optional(text(LIMITS.case.subject)),
    classificationCode: optional(text(LIMITS.case.classificationCode, 1)),
    autoClose: z.boolean().nullish().transform((value) => value ?? false),
    customProperties: optional(customProperties).transform((value) => value ?? []),
    procedureExtRef: optional(text(LIMITS.case.procedureExtRef, 1)),
    procedureOptionExtRef: optional(text(LIMITS.case.procedureOptionExtRef, 1)),
  })
  .superRefine((input, context) => {
    if (input.serviceId === null && input.serviceIdExtRef === null) {
      context.addIssue({ code: 'custom', path: ['serviceId'], message: 'is required unless serviceIdExtRef is given', params: { rule: 'required' } });
    }
    if (input.procedureOptionExtRef !== null && input.procedureExtRef === null) {
      context.addIssue({ code: 'custom', path: ['procedureExtRef'], message: 'is required when procedureOptionExtRef is given', params: { rule: 'required' } });
    }
  });

export type CaseEnqueue = z.output<typeof caseEnqueueRules>;

export const createServiceRules = z.object({
  name: text(LIMITS.service.name, 1).refine((value) => value.trim().length > 0, rule('notBlank', 'must not be only white space')),
  extRef: optional(text(LIMITS.service.extRef, 1)),
  queueCode: optional(
    text(LIMITS.service.queueCode, 1).refine((value) => /^[A-Z0-9]+$/.test(value), rule('pattern', 'must be upper-case letters A-Z and digits only')),
  ),
});

export type CreateService = z.output<typeof createServiceRules>;

function fieldPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((joined, part) => (typeof part === 'number' ? `${joined}[${part}]` : joined ? `${joined}.${String(part)}` : String(part)), '');
}

function toIssue(issue: z.core.$ZodIssue): FieldIssue {
  const field = fieldPath(issue.path);
  if (issue.code === 'custom') return { field, rule: String(issue.params?.['rule'] ?? 'custom'), message: issue.message };
  if (issue.code === 'invalid_type') return { field, rule: 'type', message: `must be of type ${issue.expected}` };
  return { field, rule: issue.code, message: issue.message };
}

/** Parses `input` by `rules`, or throws a BAD_USER_INPUT QueueError naming every broken rule. */
export function parseInput<T extends z.ZodType>(rules: T, input: unknown): z.output<T> {
  const result = rules.safeParse(input);
  if (result.success) return result.data;
  const issues = result.error.issues.map(toIssue);
  const [first] = issues;
  if (!first) throw new Error('input rejected without an issue');
  throw new QueueError('BAD_USER_INPUT', first, issues);
}
