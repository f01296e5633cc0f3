// Turns a plan into the exact HTTP request to send: pool picks resolved,
// arguments written inline as GraphQL literals or passed as variables.
import type { Val, OpPlan, Sel } from './plans.js';
import type { Pools } from './pools.js';
import type { RawPlan } from './raw-plans.js';
import type { Json } from './values.js';

/** One root field of an operation, with its arguments as sent, for reading the answer. */
export interface RootField {
  /** The key of its answer in `data`. */
  readonly key: string;
  readonly name: string;
  /** Its arguments as JSON (enums as strings), when the request carries them whole. */
  readonly args: Readonly<Record<string, Json>>;
}

export interface Prepared {
  readonly label: string;
  readonly method: string;
  /** The URL's query string, without `?`. */
  readonly search: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer | null;
  readonly operation: 'query' | 'mutation' | 'raw';
  readonly fields: readonly RootField[];
}

const INVALID_UTF8 = Buffer.from([0xff, 0xfe, 0xc3]);

/** Replaces `ref`s by what the pools hold now. */
function resolve(val: Val, pools: Pools): Val {
  switch (val.t) {
    case 'ref':
      return { t: 'json', v: pools.pick(val.pool, val.pick) ?? val.fallback };
    case 'list':
      return { t: 'list', items: val.items.map((item) => resolve(item, pools)) };
    case 'obj':
      return { t: 'obj', fields: val.fields.map(([name, value]) => [name, resolve(value, pools)] as const) };
    default:
      return val;
  }
}

function toJson(val: Val): Json {
  switch (val.t) {
    case 'json':
    case 'enum':
      return val.v;
    case 'ref':
      return val.fallback;
    case 'list':
      return val.items.map(toJson);
    case 'obj':
      return Object.fromEntries(val.fields.map(([name, value]) => [name, toJson(value)]));
  }
}

const NAME = /^[_A-Za-z][_0-9A-Za-z]*$/;

function jsonLiteral(value: Json): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `[${value.map(jsonLiteral).join(', ')}]`;
  if (typeof value === 'object')
    return `{${Object.entries(value)
      .map(([name, inner]) => `${NAME.test(name) ? name : 'badName'}: ${jsonLiteral(inner)}`)
      .join(', ')}}`;
  // JSON's string escapes are GraphQL's too.
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

function literal(val: Val): string {
  if (val.t === 'enum') return NAME.test(val.v) ? val.v : JSON.stringify(val.v);
  if (val.t === 'list') return `[${val.items.map(literal).join(', ')}]`;
  if (val.t === 'obj') return `{${val.fields.map(([name, value]) => `${name}: ${literal(value)}`).join(', ')}}`;
  return jsonLiteral(toJson(val));
}

interface Variables {
  readonly declarations: string[];
  readonly values: Record<string, Json>;
  readonly wrongType: boolean;
}

/** The same type's wrong twin, for a declaration that must not match. */
const mismatched = (type: string): string => (type.startsWith('String') ? 'Int' : 'String');

function renderSel(sel: Sel, vars: Variables | null): string {
  const args = sel.args.map((arg) => {
    if (!vars) return `${arg.name}: ${literal(arg.value)}`;
    const name = `v${vars.declarations.length}`;
    const type = vars.wrongType && vars.declarations.length === 0 ? mismatched(arg.type) : arg.type;
    vars.declarations.push(`$${name}: ${type}`);
    vars.values[name] = toJson(arg.value);
    return `${arg.name}: $${name}`;
  });
  const head = `${sel.alias ? `${sel.alias}: ` : ''}${sel.name}${args.length ? `(${args.join(', ')})` : ''}`;
  return sel.sub ? `${head} { ${sel.sub.map((inner) => renderSel(inner, vars)).join(' ')} }` : head;
}

function resolveSel(sel: Sel, pools: Pools): Sel {
  return {
    ...sel,
    args: sel.args.map((arg) => ({ ...arg, value: resolve(arg.value, pools) })),
    sub: sel.sub?.map((inner) => resolveSel(inner, pools)) ?? null,
  };
}

export function prepareOp(plan: OpPlan, pools: Pools): Prepared {
  const fields = plan.fields.map((sel) => resolveSel(sel, pools));
  const vars: Variables | null = plan.variables
    ? { declarations: [], values: {}, wrongType: plan.wrongVariableType }
    : null;
  const selection = fields.map((sel) => renderSel(sel, vars)).join(' ');
  const declared = vars && vars.declarations.length > 0 ? `(${vars.declarations.join(', ')})` : '';
  const text = `${plan.operation} Fuzz${declared} { ${selection} }`;
  const roots = fields.map((sel): RootField => ({
    key: sel.alias ?? sel.name,
    name: sel.name,
    args: Object.fromEntries(sel.args.map((arg) => [arg.name, toJson(arg.value)])),
  }));
  const label = `${plan.operation} ${fields.map((sel) => sel.name).join(', ')}`;
  if (plan.get && text.length < 4000) {
    const search = new URLSearchParams({ query: text, ...(vars ? { variables: JSON.stringify(vars.values) } : {}) });
    return {
      label: `GET ${label}`,
      method: 'GET',
      search: search.toString(),
      headers: { 'apollo-require-preflight': 'true' },
      body: null,
      operation: plan.operation,
      fields: roots,
    };
  }
  return {
    label,
    method: 'POST',
    search: '',
    headers: { 'content-type': 'application/json' },
    body: Buffer.from(JSON.stringify({ query: text, ...(vars ? { variables: vars.values } : {}) })),
    operation: plan.operation,
    fields: roots,
  };
}

export function prepareRaw(plan: RawPlan, pools: Pools): Prepared {
  let body: Buffer | null = null;
  if (plan.body !== null) {
    const text = plan.body.replaceAll('@@SERVICE@@', JSON.stringify(pools.pick('services', 0) ?? 1));
    const parts = text.split('@@BAD@@').map((part) => Buffer.from(part));
    body = Buffer.concat(parts.flatMap((part, index) => (index === 0 ? [part] : [INVALID_UTF8, part])));
  }
  return {
    label: `raw: ${plan.label}`,
    method: plan.method,
    search: plan.search,
    headers: { ...(plan.contentType ? { 'content-type': plan.contentType } : {}), ...plan.headers },
    body,
    operation: 'raw',
    fields: [],
  };
}
