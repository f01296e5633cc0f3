// The resolver map is checked twice: `tsc` requires a resolver for every root
// field (codegen.ts, avoidOptionals), and this test checks what the compiler
// cannot: every field of a type mapped to a Prisma model is either a column of
// that model or has a resolver of its own, so no field silently resolves to
// `undefined` because its type was left out of resolvers/index.ts.
import { readFileSync } from 'node:fs';
import { buildSchema, isObjectType, type GraphQLObjectType } from 'graphql';
import { describe, expect, it } from 'vitest';
import codegen from '../../codegen.js';
import { SCHEMA_FILE } from '../../src/config.js';
import { Prisma } from '../../src/generated/prisma/client.js';
import { resolvers } from '../../src/graphql/resolvers/index.js';

const schema = buildSchema(readFileSync(SCHEMA_FILE, 'utf8'));

/** The scalar fields of each Prisma model, by model name, from the generated client. */
const MODEL_FIELDS: Readonly<Record<string, readonly string[]>> = {
  Service: Object.values(Prisma.ServiceScalarFieldEnum),
  Customer: Object.values(Prisma.CustomerScalarFieldEnum),
  Classification: Object.values(Prisma.ClassificationScalarFieldEnum),
  Procedure: Object.values(Prisma.ProcedureScalarFieldEnum),
  ProcedureOption: Object.values(Prisma.ProcedureOptionScalarFieldEnum),
  Case: Object.values(Prisma.CaseScalarFieldEnum),
  CaseProperty: Object.values(Prisma.CasePropertyScalarFieldEnum),
  CaseEvent: Object.values(Prisma.CaseEventScalarFieldEnum),
  ApiKey: Object.values(Prisma.ApiKeyScalarFieldEnum),
};

/** GraphQL type → Prisma model, read from codegen.ts's `mappers` (`./prisma/client.js#Model as ...`). */
function prismaMappers(): [string, string][] {
  const output = codegen.generates['src/generated/graphql.ts'];
  const config: unknown = output && !Array.isArray(output) && typeof output === 'object' ? output.config : undefined;
  const mappers: unknown =
    typeof config === 'object' && config !== null && 'mappers' in config ? config.mappers : undefined;
  if (typeof mappers !== 'object' || mappers === null) throw new Error('codegen.ts has no mappers');
  return Object.entries(mappers).flatMap(([type, target]) => {
    const model = /^\.\/prisma\/client\.js#(\w+)/.exec(String(target))?.[1];
    return model ? [[type, model]] : [];
  });
}

const resolverFields = (typeName: string): string[] => {
  const map: Record<string, unknown> = resolvers;
  const fields = map[typeName];
  return typeof fields === 'object' && fields !== null ? Object.keys(fields) : [];
};

const objectType = (name: string): GraphQLObjectType => {
  const type = schema.getType(name);
  if (!isObjectType(type)) throw new Error(`${name} is not an object type of schema.graphql`);
  return type;
};

describe('the resolver map', () => {
  it('has exactly the root fields of the schema', () => {
    for (const root of ['Query', 'Mutation']) {
      expect(resolverFields(root).sort(), root).toEqual(Object.keys(objectType(root).getFields()).sort());
    }
  });

  const mapped = prismaMappers();

  it('covers the Prisma-mapped types', () => {
    expect(mapped.map(([type]) => type)).toEqual(expect.arrayContaining(['Case', 'Service', 'Customer']));
    for (const [, model] of mapped) expect(MODEL_FIELDS[model], model).toBeDefined();
  });

  it.each(mapped)('%s: every field is a column of the model %s or has a resolver', (type, model) => {
    const columns = new Set(MODEL_FIELDS[model]);
    const resolved = new Set(resolverFields(type));
    const unresolved = Object.keys(objectType(type).getFields()).filter(
      (field) => !columns.has(field) && !resolved.has(field),
    );
    expect(unresolved).toEqual([]);
  });

  it('has no resolver for a field the schema does not have', () => {
    const stray = Object.keys(resolvers).flatMap((typeName) => {
      const type = schema.getType(typeName);
      if (!isObjectType(type)) return [];
      const fields = type.getFields();
      return resolverFields(typeName).filter((field) => !(field in fields));
    });
    expect(stray).toEqual([]);
  });
});
