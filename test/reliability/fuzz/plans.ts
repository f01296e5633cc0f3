// Request plans generated from schema.graphql: a root field (query or
// mutation) with arguments of the right shape or deliberately wrong ones,
// and a random selection within the schema's types. Values that should name
// existing rows are `ref`s, resolved against what earlier answers returned
// when the request is sent (pools.ts), so transitions actually happen.
import fc from 'fast-check';
import {
  getNamedType,
  isEnumType,
  isInputObjectType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLObjectType,
  type GraphQLSchema,
} from 'graphql';
import type { PoolName } from './pools.js';
import { RAW_PLANS, type RawPlan } from './raw-plans.js';
import { agentName, anyString, edgeInt, forgedCursor, queueCode, timeZone, wrongType, type Json } from './values.js';

/** An argument value; `ref`s name a pool entry, resolved at send time. */
export type Val =
  | { readonly t: 'json'; readonly v: Json }
  | { readonly t: 'enum'; readonly v: string }
  | { readonly t: 'ref'; readonly pool: PoolName; readonly pick: number; readonly fallback: Json }
  | { readonly t: 'list'; readonly items: readonly Val[] }
  | { readonly t: 'obj'; readonly fields: readonly (readonly [string, Val])[] };

export interface Arg {
  readonly name: string;
  /** The argument's declared type, for a variable's declaration. */
  readonly type: string;
  readonly value: Val;
}

export interface Sel {
  readonly name: string;
  readonly alias: string | null;
  readonly args: readonly Arg[];
  /** The sub-selection of an object field; null for leaves. */
  readonly sub: readonly Sel[] | null;
}

export interface OpPlan {
  readonly kind: 'op';
  readonly operation: 'query' | 'mutation';
  readonly fields: readonly Sel[];
  /** Arguments as variables (else inline literals). */
  readonly variables: boolean;
  /** Declare the first variable with a type that does not match its use. */
  readonly wrongVariableType: boolean;
  /** Queries only: sent as GET with the query in the URL. */
  readonly get: boolean;
}

/** Sends again, byte for byte, an earlier acknowledged enqueue: an idempotent retry. */
export interface ReplayPlan {
  readonly kind: 'replay';
  readonly pick: number;
}

export type RequestPlan = OpPlan | ReplayPlan | RawPlan;

type Semantic =
  | { readonly kind: 'ref'; readonly pool: PoolName }
  | { readonly kind: 'freshRef'; readonly pool: PoolName }
  | { readonly kind: 'idempotencyKey' }
  | { readonly kind: 'agent' }
  | { readonly kind: 'timeZone' }
  | { readonly kind: 'queueCode' }
  | { readonly kind: 'cursor' }
  | { readonly kind: 'count'; readonly max: number }
  | { readonly kind: 'active' }
  | { readonly kind: 'plain' };

const ref = (pool: PoolName): Semantic => ({ kind: 'ref', pool });
const freshRef = (pool: PoolName): Semantic => ({ kind: 'freshRef', pool });

/** What an argument or input field means, by `Owner.field` (owner: a root field or an input type), then by name. */
const SEMANTICS: Readonly<Record<string, Semantic>> = {
  'service.id': ref('services'),
  'updateService.id': ref('services'),
  'case.id': ref('cases'),
  'customer.id': ref('customers'),
  'updateCustomer.id': ref('customers'),
  'updateClassification.code': ref('classificationCodes'),
  'updateProcedure.extRef': ref('procedures'),
  'addProcedureOption.procedureExtRef': ref('procedures'),
  'services.first': { kind: 'count', max: 100 },
  'services.afterId': ref('services'),
  'classifications.first': { kind: 'count', max: 100 },
  'classifications.afterCode': ref('classificationCodes'),
  'procedures.first': { kind: 'count', max: 100 },
  'procedures.afterExtRef': ref('procedures'),
  'queue.after': { kind: 'cursor' },
  'queue.first': { kind: 'count', max: 100 },
  'statistics.windowMinutes': { kind: 'count', max: 1440 },
  'CaseEnqueueInput.serviceIdExtRef': ref('serviceExtRefs'),
  'CaseEnqueueInput.classificationCode': ref('classificationCodes'),
  'CaseEnqueueInput.procedureExtRef': ref('procedures'),
  'CaseEnqueueInput.procedureOptionExtRef': ref('options'),
  'CaseEnqueueInput.idempotencyKey': { kind: 'idempotencyKey' },
  'CreateServiceInput.extRef': freshRef('serviceExtRefs'),
  'UpdateServiceInput.extRef': freshRef('serviceExtRefs'),
  'CustomerInput.extRef': freshRef('customers'),
  'CreateClassificationInput.code': freshRef('classificationCodes'),
  'CreateProcedureInput.extRef': freshRef('procedures'),
  'ProcedureOptionInput.extRef': freshRef('options'),
  serviceId: ref('services'),
  serviceIds: ref('services'),
  caseId: ref('cases'),
  customerId: ref('customers'),
  // Mostly true: a deactivated service or procedure refuses every enqueue that names it.
  active: { kind: 'active' },
  agent: { kind: 'agent' },
  timeZone: { kind: 'timeZone' },
  queueCode: { kind: 'queueCode' },
};

/**
 * How often a valid-shaped input carries an optional field, in percent (else
 * 50): references that must agree with each other (a service's external
 * reference with its id, an option with its procedure) are rarer, so that
 * most valid-shaped enqueues succeed.
 */
const PRESENCE: Readonly<Record<string, number>> = {
  'CaseEnqueueInput.serviceId': 92,
  'CaseEnqueueInput.serviceIdExtRef': 10,
  'CaseEnqueueInput.customerId': 15,
  'CaseEnqueueInput.classificationCode': 12,
  'CaseEnqueueInput.procedureExtRef': 12,
  'CaseEnqueueInput.procedureOptionExtRef': 6,
  'CaseEnqueueInput.autoClose': 20,
  'CaseEnqueueInput.idempotencyKey': 70,
};

const semanticOf = (owner: string, name: string): Semantic =>
  SEMANTICS[`${owner}.${name}`] ?? SEMANTICS[name] ?? { kind: 'plain' };

const json = (v: Json): Val => ({ t: 'json', v });

/** `arbitrary` with probability `percent`/100, else null. */
const sometimes = <T>(arbitrary: fc.Arbitrary<T>, percent: number): fc.Arbitrary<T | null> =>
  fc.oneof({ arbitrary: fc.constant(null), weight: 100 - percent }, { arbitrary, weight: percent });

/** Mostly `usual`, sometimes `rare`. */
const mostly = <T>(usual: fc.Arbitrary<T>, rare: fc.Arbitrary<T>, rareWeight = 1, usualWeight = 4): fc.Arbitrary<T> =>
  fc.oneof({ arbitrary: usual, weight: usualWeight }, { arbitrary: rare, weight: rareWeight });

function intArb(sem: Semantic, edgy: boolean): fc.Arbitrary<Val> {
  if (sem.kind === 'ref') {
    const picked = fc.nat().map((pick): Val => ({ t: 'ref', pool: sem.pool, pick, fallback: 1 }));
    return edgy ? mostly(picked, edgeInt.map(json), 1, 2) : picked;
  }
  if (sem.kind === 'count') {
    const usual = fc.integer({ min: 1, max: Math.min(sem.max, 10) }).map(json);
    return edgy ? mostly(usual, fc.constantFrom(0, -1, sem.max, sem.max + 1, 2 ** 31 - 1).map(json)) : usual;
  }
  return edgy ? mostly(fc.integer({ min: -5, max: 100 }).map(json), edgeInt.map(json)) : fc.nat(100).map(json);
}

function stringArb(sem: Semantic, edgy: boolean): fc.Arbitrary<Val> {
  switch (sem.kind) {
    case 'ref': {
      const picked = fc.nat().map((pick): Val => ({ t: 'ref', pool: sem.pool, pick, fallback: 'nothing-known' }));
      return edgy ? mostly(picked, anyString(true).map(json), 1, 2) : picked;
    }
    case 'freshRef': {
      const fresh = fc.nat(1_000_000).map((n) => json(`fz-${sem.pool}-${n}`));
      const taken = fc.nat().map((pick): Val => ({ t: 'ref', pool: sem.pool, pick, fallback: 'fz-taken' }));
      return edgy ? fc.oneof(fresh, taken, anyString(true).map(json)) : mostly(fresh, taken, 1, 9);
    }
    case 'idempotencyKey': {
      // A key used before, with other input, is a CONFLICT; replays (ReplayPlan) send the same input.
      const fresh = fc.uuid().map((uuid) => json(`fz-key-${uuid}`));
      const used = fc.nat().map((pick): Val => ({ t: 'ref', pool: 'idempotencyKeys', pick, fallback: 'fz-key' }));
      return edgy ? fc.oneof(fresh, used, anyString(true).map(json)) : mostly(fresh, used, 1, 9);
    }
    case 'agent':
      return (edgy ? mostly(agentName, anyString(true)) : agentName).map(json);
    case 'timeZone':
      return timeZone(edgy).map(json);
    case 'queueCode':
      return queueCode(edgy).map(json);
    case 'cursor':
      return fc.oneof(
        fc.nat().map((pick): Val => ({ t: 'ref', pool: 'cursors', pick, fallback: 'MDow' })),
        forgedCursor.map(json),
      );
    case 'count':
    case 'active':
    case 'plain':
      return anyString(edgy).map(json);
  }
}

/** Builds value arbitraries for the schema's input types, each built once. */
class InputValues {
  private readonly built = new Map<string, fc.Arbitrary<Val>>();

  value(type: GraphQLInputType, sem: Semantic, edgy: boolean): fc.Arbitrary<Val> {
    const key = `${String(type)}|${JSON.stringify(sem)}|${edgy}`;
    let arbitrary = this.built.get(key);
    if (!arbitrary) {
      arbitrary = this.build(type, sem, edgy);
      this.built.set(key, arbitrary);
    }
    return arbitrary;
  }

  private build(type: GraphQLInputType, sem: Semantic, edgy: boolean): fc.Arbitrary<Val> {
    if (isNonNullType(type)) {
      const inner = this.value(type.ofType, sem, edgy);
      return edgy ? mostly(inner, fc.constant(json(null)), 1, 30) : inner;
    }
    const nullable = (arbitrary: fc.Arbitrary<Val>): fc.Arbitrary<Val> =>
      edgy ? mostly(arbitrary, fc.constant(json(null)), 1, 15) : arbitrary;
    const wrong = (arbitrary: fc.Arbitrary<Val>): fc.Arbitrary<Val> =>
      edgy ? mostly(arbitrary, wrongType.map(json), 1, 25) : arbitrary;
    if (isListType(type)) {
      const item = this.value(type.ofType, sem, edgy);
      // A list of references: mostly one, since the same one twice is refused.
      const usual = (
        sem.kind === 'ref'
          ? mostly(fc.array(item, { minLength: 1, maxLength: 1 }), fc.array(item, { minLength: 2, maxLength: 2 }))
          : fc.array(item, { maxLength: 3 })
      ).map((items): Val => ({ t: 'list', items }));
      if (!edgy) return usual;
      return nullable(
        fc.oneof(
          { arbitrary: usual, weight: 6 },
          // Past the 20-service and 50-property limits.
          {
            arbitrary: fc.array(item, { minLength: 21, maxLength: 25 }).map((items): Val => ({ t: 'list', items })),
            weight: 1,
          },
          {
            arbitrary: fc.array(item, { minLength: 51, maxLength: 51 }).map((items): Val => ({ t: 'list', items })),
            weight: 1,
          },
          // GraphQL coerces a single value into a list of one.
          { arbitrary: item, weight: 1 },
        ),
      );
    }
    if (isInputObjectType(type)) {
      const fields = Object.values(type.getFields()).map((field) => {
        const required = isNonNullType(field.type) && field.defaultValue === undefined;
        const value = this.value(field.type, semanticOf(type.name, field.name), edgy).map(
          (v): readonly [string, Val] => [field.name, v],
        );
        if (required) return edgy ? mostly(value, fc.constant(null), 1, 40) : value;
        return sometimes(value, edgy ? 50 : (PRESENCE[`${type.name}.${field.name}`] ?? 50));
      });
      const unknown = fc.constant<readonly [string, Val]>(['notAField', json(1)]);
      return wrong(
        nullable(
          fc
            .tuple(fc.tuple(...fields), edgy ? sometimes(unknown, 3) : fc.constant(null))
            .map(([chosen, extra]): Val => ({
              t: 'obj',
              fields: [...chosen, extra].flatMap((entry) => (entry ? [entry] : [])),
            })),
        ),
      );
    }
    if (isEnumType(type)) {
      const valid = fc.constantFrom(...type.getValues().map((value) => value.name));
      const invalid = fc.constantFrom('SIDEWAYS', 'back', 'WAITING', '');
      return wrong(nullable((edgy ? mostly(valid, invalid) : valid).map((v): Val => ({ t: 'enum', v }))));
    }
    if (isScalarType(type)) {
      switch (type.name) {
        case 'Int':
          return wrong(nullable(intArb(sem, edgy)));
        case 'Boolean':
          return wrong(
            nullable(
              (sem.kind === 'active' ? mostly(fc.constant(true), fc.constant(false), 1, 3) : fc.boolean()).map(json),
            ),
          );
        default:
          return wrong(nullable(stringArb(sem, edgy)));
      }
    }
    return fc.constant(json(null));
  }
}

/** Fields always selected, so answers feed the pools. */
const KEY_FIELDS: Readonly<Record<string, readonly string[]>> = {
  Service: ['id', 'extRef'],
  Case: ['id'],
  CaseEnqueuePayload: ['caseId'],
  Customer: ['id'],
  Classification: ['code'],
  Procedure: ['extRef'],
  ProcedureOption: ['extRef'],
  QueueEdge: ['cursor'],
  PageInfo: ['endCursor'],
};

/** Object fields nest at most this deep below a root field (the gateway allows 10). */
const MAX_NESTING = 3;

class Selections {
  private readonly built = new Map<string, fc.Arbitrary<readonly Sel[]>>();

  constructor(private readonly inputs: InputValues) {}

  args(field: GraphQLField<unknown, unknown>, edgy: boolean): fc.Arbitrary<readonly Arg[]> {
    const each = field.args.map((arg: GraphQLArgument) => {
      const value = this.inputs
        .value(arg.type, semanticOf(field.name, arg.name), edgy)
        .map((v): Arg => ({ name: arg.name, type: String(arg.type), value: v }));
      const required = isNonNullType(arg.type) && arg.defaultValue === undefined;
      if (required) return edgy ? mostly(value, fc.constant(null), 1, 40) : value;
      return fc.oneof(value, fc.constant(null));
    });
    return fc.tuple(...each).map((chosen) => chosen.flatMap((arg) => (arg ? [arg] : [])));
  }

  field(field: GraphQLField<unknown, unknown>, depth: number, edgy: boolean): fc.Arbitrary<Sel> {
    const type = getNamedType(field.type);
    const sub = isObjectType(type) ? this.of(type, depth + 1, edgy) : fc.constant(null);
    return fc
      .tuple(this.args(field, edgy), sub, sometimes(fc.constant(`a_${field.name}`), 5))
      .map(([args, selection, alias]): Sel => ({ name: field.name, alias, args, sub: selection }));
  }

  of(type: GraphQLObjectType, depth: number, edgy: boolean): fc.Arbitrary<readonly Sel[]> {
    const key = `${type.name}|${depth}|${edgy}`;
    let built = this.built.get(key);
    if (built) return built;
    const keys = KEY_FIELDS[type.name] ?? [];
    const fields = Object.values(type.getFields());
    const always = fields.filter((field) => keys.includes(field.name));
    const optional = fields
      .filter((field) => !keys.includes(field.name))
      .filter((field) => isLeafType(getNamedType(field.type)) || depth < MAX_NESTING)
      .map((field) => sometimes(this.field(field, depth, edgy), isLeafType(getNamedType(field.type)) ? 35 : 20));
    const typename: Sel = { name: '__typename', alias: null, args: [], sub: null };
    built = fc
      .tuple(fc.tuple(...always.map((field) => this.field(field, depth, edgy))), fc.tuple(...optional))
      .map(([fixed, chosen]) => [typename, ...fixed, ...chosen.flatMap((sel) => (sel ? [sel] : []))]);
    this.built.set(key, built);
    return built;
  }
}

/** How often each root field is asked for, relative to 1; enqueues and transitions dominate. */
const ROOT_WEIGHTS: Readonly<Record<string, number>> = {
  enqueueCase: 30,
  callNext: 12,
  completeCase: 6,
  callCase: 5,
  returnToQueue: 5,
  cancelCase: 4,
  case: 8,
  service: 7,
  services: 2,
  customer: 2,
};

function opArb(schema: GraphQLSchema, selections: Selections, edgy: boolean): fc.Arbitrary<OpPlan> {
  const roots = (['query', 'mutation'] as const).flatMap((operation) => {
    const type = operation === 'query' ? schema.getQueryType() : schema.getMutationType();
    return Object.values(type?.getFields() ?? {}).map((field) => ({
      operation,
      field,
      weight: ROOT_WEIGHTS[field.name] ?? 1,
    }));
  });
  return fc.oneof(...roots.map((root) => ({ arbitrary: fc.constant(root), weight: root.weight }))).chain((first) => {
    const sameKind = roots.filter((root) => root.operation === first.operation);
    const another = fc.oneof(
      ...sameKind.map((root) => ({ arbitrary: selections.field(root.field, 0, edgy), weight: root.weight })),
    );
    // Mostly one root field; sometimes a few; rarely a storm of aliases
    // around the gateway's caps (10 mutation root fields, 15 aliases).
    const more = fc.oneof(
      { arbitrary: fc.constant<readonly Sel[]>([]), weight: 90 },
      { arbitrary: fc.array(another, { minLength: 1, maxLength: 2 }), weight: 9 },
      { arbitrary: fc.array(another, { minLength: 7, maxLength: 16 }), weight: edgy ? 1 : 0 },
    );
    return fc
      .record({
        head: selections.field(first.field, 0, edgy),
        more,
        variables: fc.boolean(),
        wrongVariableType: edgy ? sometimes(fc.constant(true), 5) : fc.constant(null),
        get: first.operation === 'query' ? sometimes(fc.constant(true), 10) : fc.constant(null),
      })
      .map(({ head, more: extra, variables, wrongVariableType, get }): OpPlan => ({
        kind: 'op',
        operation: first.operation,
        // Every root field gets its own alias: answers are matched to fields by it.
        fields: [head, ...extra].map((sel, index) => ({ ...sel, alias: `f${index}` })),
        variables,
        wrongVariableType: wrongVariableType === true,
        get: get === true,
      }));
  });
}

/** Every request the fuzz sends: generated operations, replays, and raw malformed bodies. */
export function requestPlans(schema: GraphQLSchema): fc.Arbitrary<RequestPlan> {
  const selections = new Selections(new InputValues());
  return fc.oneof(
    { arbitrary: opArb(schema, selections, false), weight: 58 },
    { arbitrary: opArb(schema, selections, true), weight: 30 },
    { arbitrary: fc.nat().map((pick): ReplayPlan => ({ kind: 'replay', pick })), weight: 5 },
    { arbitrary: fc.constantFrom(...RAW_PLANS), weight: 7 },
  );
}
