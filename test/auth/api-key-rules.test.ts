// The rules of API key requests on their own: no HTTP, no database. The
// answers over GraphQL are in test/api-keys.test.ts and test/service-ext-refs.test.ts.
import { describe, expect, it } from 'vitest';
import { apiKeysPageRules, createApiKeyRules, serviceNamedTwice } from '../../src/auth/api-key-rules.js';
import { GatewayError } from '../../src/queue/errors.js';
import { parseInput } from '../../src/queue/input-rules.js';

function issuesOf(run: () => unknown): { field: string; rule: string }[] {
  try {
    run();
  } catch (error) {
    if (!(error instanceof GatewayError)) throw error;
    expect(error.code).toBe('BAD_USER_INPUT');
    expect(error.issue).toEqual(error.issues[0]);
    return error.issues.map(({ field, rule }) => ({ field, rule }));
  }
  throw new Error('expected a GatewayError');
}

const create = (input: object) =>
  issuesOf(() => parseInput(createApiKeyRules, { name: 'desk', role: 'KIOSK', ...input }));

describe('create API key rules', () => {
  it('answers every service when neither serviceIds nor serviceExtRefs is given', () => {
    expect(parseInput(createApiKeyRules, { name: 'desk', role: 'SCREEN', serviceIds: null })).toEqual({
      name: 'desk',
      role: 'SCREEN',
      serviceIds: null,
      serviceExtRefs: null,
    });
  });

  it('tells one problem of a name, the first found', () => {
    expect(create({ name: '\ud800' })).toEqual([{ field: 'name', rule: 'storableText' }]);
    // A NUL is well-formed text: what is wrong with it is that nobody can read it.
    expect(create({ name: 'a\u0000b' })).toEqual([{ field: 'name', rule: 'printable' }]);
    expect(create({ name: '  ' })).toEqual([{ field: 'name', rule: 'notBlank' }]);
    expect(create({ name: ' x' })).toEqual([{ field: 'name', rule: 'trimmed' }]);
  });

  it('tells every problem at once, references first', () => {
    expect(create({ name: '', role: 'OWNER', serviceIds: [3, 3] })).toEqual([
      { field: 'name', rule: 'minLength' },
      { field: 'role', rule: 'oneOf' },
      { field: 'serviceIds', rule: 'unique' },
    ]);
    expect(create({ name: '', serviceExtRefs: ['A', 'A'] })).toEqual([
      { field: 'serviceExtRefs', rule: 'unique' },
      { field: 'name', rule: 'minLength' },
    ]);
  });

  it('counts services named by id and by reference together', () => {
    const ids = Array.from({ length: 60 }, (_, index) => index + 1);
    const refs = ids.map((id) => `S${id}`);
    expect(create({ serviceIds: ids, serviceExtRefs: refs })).toEqual([{ field: 'serviceIds', rule: 'maxItems' }]);
    expect(create({ serviceExtRefs: [...refs, ...refs.map((ref) => `${ref}b`)] })).toEqual([
      { field: 'serviceExtRefs', rule: 'maxItems' },
    ]);
    expect(create({ serviceExtRefs: [] })).toEqual([{ field: 'serviceIds', rule: 'minItems' }]);
    expect(create({ role: 'ADMIN', serviceExtRefs: ['A'] })).toEqual([{ field: 'serviceIds', rule: 'adminCoversAll' }]);
  });

  it('finds a service named twice, as it is once references are looked up', () => {
    expect(serviceNamedTwice([4, 5, 4])).toEqual({
      field: 'serviceIds',
      rule: 'unique',
      message: 'names the service 4 twice',
    });
    expect(serviceNamedTwice([4, 5])).toBeNull();
  });
});

describe('API keys page rules', () => {
  it('fills 100 and no cursor, and refuses a size outside 1 to 100', () => {
    expect(parseInput(apiKeysPageRules, {})).toEqual({ first: 100, after: null });
    for (const first of [0, 101, 1.5])
      expect(issuesOf(() => parseInput(apiKeysPageRules, { first }))).toEqual([{ field: 'first', rule: 'range' }]);
  });
});
