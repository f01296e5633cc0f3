// schema.graphql is the contract integrators read: every type, field,
// argument, input field and enum value carries a description.
import { readFileSync } from 'node:fs';
import {
  buildSchema,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isObjectType,
  type GraphQLNamedType,
} from 'graphql';
import { describe, expect, it } from 'vitest';
import { SCHEMA_FILE } from '../../src/config.js';

function undocumented(type: GraphQLNamedType): string[] {
  const missing: string[] = type.description?.trim() ? [] : [type.name];
  if (isObjectType(type) || isInterfaceType(type)) {
    for (const field of Object.values(type.getFields())) {
      if (!field.description?.trim()) missing.push(`${type.name}.${field.name}`);
      for (const argument of field.args)
        if (!argument.description?.trim()) missing.push(`${type.name}.${field.name}(${argument.name})`);
    }
  }
  if (isInputObjectType(type)) {
    for (const field of Object.values(type.getFields()))
      if (!field.description?.trim()) missing.push(`${type.name}.${field.name}`);
  }
  if (isEnumType(type)) {
    for (const value of type.getValues()) if (!value.description?.trim()) missing.push(`${type.name}.${value.name}`);
  }
  return missing;
}

describe('schema.graphql', () => {
  it('describes every type, field, argument and enum value', () => {
    const schema = buildSchema(readFileSync(SCHEMA_FILE, 'utf8'));
    const ours = Object.values(schema.getTypeMap()).filter(
      (type) => !type.name.startsWith('__') && !['String', 'Int', 'Float', 'Boolean', 'ID'].includes(type.name),
    );
    expect(ours.length).toBeGreaterThan(20);
    expect(ours.flatMap(undocumented)).toEqual([]);
  });
});
