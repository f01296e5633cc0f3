// The seed's enqueue body (PascalCase JSON, CustomProperties as an object)
// bound to the domain's enqueue request, the way the original ASP.NET /
// JSON.NET binder binds it: names match case-insensitively, unknown names are
// ignored, the last of repeated names wins. Only the JSON types are checked
// here; every rule about values is the domain's (src/queue/input-rules.ts).
// Also names the domain's fields back in the client's spelling.
import { quote } from '../http/respond.js';
import type { FieldIssue } from '../queue/errors.js';
import type { CaseEnqueueRequest } from '../queue/input-rules.js';
import type { JsonObject, JsonValue } from './ordered-json.js';

/** The header that carries the domain's `idempotencyKey`; errors about the key name it. */
export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';

/** How the whole body is named in errors (as in JSONPath, and ASP.NET Core's model state). */
export const BODY_FIELD = '$';

export type PropertyKind = 'int32' | 'string' | 'boolean' | 'dictionary';

interface PropertySpec {
  readonly kind: PropertyKind;
  /** The domain request's field, or null for a property that is accepted and ignored. */
  readonly domain: keyof CaseEnqueueRequest | null;
  /** The seed's description. */
  readonly description: string;
}

/** The seed's request properties, in its order. */
export const CASE_ENQUEUE_PROPERTIES = {
  CaseId: { kind: 'int32', domain: null, description: 'Return value CaseId: ignored in a request.' },
  ServiceId: { kind: 'int32', domain: 'serviceId', description: 'Service ID to enqueue into.' },
  ServiceIdExtRef: { kind: 'string', domain: 'serviceIdExtRef', description: 'The service by external reference.' },
  CustomerId: { kind: 'int32', domain: 'customerId', description: 'Existing Customer ID (optional).' },
  ExtRef: {
    kind: 'string',
    domain: 'extRef',
    description: 'ExtRef (sometimes used for a mobile number if no customer record is attached).',
  },
  Notes: { kind: 'string', domain: 'notes', description: 'Case notes.' },
  Subject: { kind: 'string', domain: 'subject', description: 'Case subject line.' },
  ClassificationCode: { kind: 'string', domain: 'classificationCode', description: 'Classification code.' },
  AutoClose: {
    kind: 'boolean',
    domain: 'autoClose',
    description: 'Enqueue and close the case (for statistics). Default false.',
  },
  CustomProperties: {
    kind: 'dictionary',
    domain: 'customProperties',
    description: 'Collection of all custom properties for this case process, kept in the order given.',
  },
  ProcedureExtRef: { kind: 'string', domain: 'procedureExtRef', description: 'A procedure, by external reference.' },
  ProcedureOptionExtRef: {
    kind: 'string',
    domain: 'procedureOptionExtRef',
    description: 'An option of the procedure, by external reference.',
  },
} as const satisfies Record<string, PropertySpec>;

export type PropertyName = keyof typeof CASE_ENQUEUE_PROPERTIES;
type NameOfKind<K extends PropertyKind> = {
  [N in PropertyName]: (typeof CASE_ENQUEUE_PROPERTIES)[N]['kind'] extends K ? N : never;
}[PropertyName];

const NAMES = Object.keys(CASE_ENQUEUE_PROPERTIES) as PropertyName[];
// .NET's OrdinalIgnoreCase compares upper-cased characters.
const byUpperName = new Map(NAMES.map((name) => [name.toUpperCase(), name]));
const byDomainName = new Map<string, string>(
  NAMES.flatMap((name) => {
    const { domain } = CASE_ENQUEUE_PROPERTIES[name];
    return domain === null ? [] : [[domain, name]];
  }),
);
byDomainName.set('idempotencyKey', IDEMPOTENCY_KEY_HEADER);

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

export type CaseEnqueueBinding =
  | { readonly ok: true; readonly request: CaseEnqueueRequest }
  | { readonly ok: false; readonly issues: readonly FieldIssue[] };

/** `CustomProperties["key"]`: an entry of the dictionary, its key JSON-quoted (and cut, should it be long). */
export function propertyField(key: string): string {
  return `CustomProperties[${JSON.stringify(quote(key))}]`;
}

const typeIssue = (field: string, expected: string): FieldIssue => ({
  field,
  rule: 'type',
  message: `must be ${expected}`,
});

/** Binds a parsed body; `idempotencyKey` is the header's value, if sent. */
export function bindCaseEnqueue(body: JsonValue, idempotencyKey: string | undefined): CaseEnqueueBinding {
  if (!(body instanceof Map)) return { ok: false, issues: [typeIssue(BODY_FIELD, 'a JSON object')] };
  const members: JsonObject = body;
  const given = new Map<PropertyName, JsonValue>();
  for (const [name, value] of members) {
    const known = byUpperName.get(name.toUpperCase());
    if (known) given.set(known, value);
  }
  const issues: FieldIssue[] = [];
  // null means "not given", for every property, as it does in the domain.
  const int32 = (name: NameOfKind<'int32'>): number | null => {
    const value = given.get(name) ?? null;
    if (value === null) return null;
    if (typeof value === 'number' && Number.isInteger(value) && value >= INT32_MIN && value <= INT32_MAX) return value;
    issues.push(typeIssue(name, 'a 32-bit integer'));
    return null;
  };
  const string = (name: NameOfKind<'string'>): string | null => {
    const value = given.get(name) ?? null;
    if (value === null || typeof value === 'string') return value;
    issues.push(typeIssue(name, 'a string'));
    return null;
  };
  const boolean = (name: NameOfKind<'boolean'>): boolean | null => {
    const value = given.get(name) ?? null;
    if (value === null || typeof value === 'boolean') return value;
    issues.push(typeIssue(name, 'true or false'));
    return null;
  };
  const dictionary = (name: NameOfKind<'dictionary'>): { key: string; value: string }[] | null => {
    const value = given.get(name) ?? null;
    if (value === null) return null;
    if (!(value instanceof Map)) {
      issues.push(typeIssue(name, 'a JSON object of string values'));
      return null;
    }
    const entries: JsonObject = value;
    const pairs: { key: string; value: string }[] = [];
    for (const [key, entry] of entries) {
      if (typeof entry === 'string') pairs.push({ key, value: entry });
      else issues.push(typeIssue(propertyField(key), 'a string'));
    }
    return pairs;
  };
  // Checked like the rest (a wrong type is refused, as JSON.NET refuses it), then dropped: the id is the gateway's.
  int32('CaseId');
  // Every field of the domain's request, so one added there fails to compile here until it is bound.
  const request: { [K in keyof CaseEnqueueRequest]-?: CaseEnqueueRequest[K] } = {
    serviceId: int32('ServiceId'),
    serviceIdExtRef: string('ServiceIdExtRef'),
    customerId: int32('CustomerId'),
    extRef: string('ExtRef'),
    notes: string('Notes'),
    subject: string('Subject'),
    classificationCode: string('ClassificationCode'),
    autoClose: boolean('AutoClose'),
    customProperties: dictionary('CustomProperties'),
    procedureExtRef: string('ProcedureExtRef'),
    procedureOptionExtRef: string('ProcedureOptionExtRef'),
    idempotencyKey: idempotencyKey ?? null,
  };
  return issues.length > 0 ? { ok: false, issues } : { ok: true, request };
}

/**
 * The client's name of a field the domain names: `subject` is `Subject`,
 * `customProperties[1].value` is `CustomProperties["that key"]` and
 * `customProperties[1].key` is `CustomProperties["that key"].Key` (the
 * problem is the key, not its value), `idempotencyKey` is the header.
 */
export function restFieldName(field: string, request: CaseEnqueueRequest): string {
  const property = /^customProperties\[(\d+)\](?:\.(key|value))?$/.exec(field);
  const entry = property ? request.customProperties?.[Number(property[1])] : undefined;
  if (property && entry) return `${propertyField(entry.key)}${property[2] === 'key' ? '.Key' : ''}`;
  const root = /^[A-Za-z]+/.exec(field)?.[0] ?? '';
  const name = byDomainName.get(root);
  if (name !== undefined) return `${name}${field.slice(root.length)}`;
  return field === '' ? BODY_FIELD : `${field.charAt(0).toUpperCase()}${field.slice(1)}`;
}

// A double-quoted value as the domain's messages quote it (left alone), or a
// field's name; longest names first, so that `serviceIdExtRef` is not read as `serviceId`.
const QUOTED_OR_NAME = new RegExp(
  `("(?:[^"\\\\]|\\\\.)*")|\\b(${[...byDomainName.keys()].sort((a, b) => b.length - a.length).join('|')})\\b`,
  'g',
);

/** The domain's message with the fields it mentions in the client's spelling (quoted input left alone). */
export function restMessage(message: string): string {
  return message.replace(QUOTED_OR_NAME, (whole: string, quoted: string | undefined, name: string | undefined) =>
    quoted !== undefined || name === undefined ? whole : (byDomainName.get(name) ?? whole),
  );
}
