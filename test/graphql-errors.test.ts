// What clients see of errors: rule violations in full, anything else masked.
import { GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';
import { errorFormatter } from '../src/graphql/errors.js';
import type { Logger } from '../src/log.js';
import { badInput } from '../src/queue/errors.js';

function recorder(): { log: Logger; errors: unknown[] } {
  const errors: unknown[] = [];
  return { errors, log: { info: () => undefined, error: (_message, error) => errors.push(error) } };
}

const fromResolver = (original: Error) =>
  new GraphQLError(original.message, { path: ['enqueueCase'], originalError: original });

describe('error formatting', () => {
  it('keeps the code, field and rule of a queue rule violation', () => {
    const { log } = recorder();
    const error = fromResolver(badInput('subject', 'maxLength', 'must be at most 100 characters'));
    const formatted = errorFormatter(log)({ message: error.message, path: ['enqueueCase'] }, error);
    expect(formatted).toMatchObject({
      message: 'subject: must be at most 100 characters',
      extensions: { code: 'BAD_USER_INPUT', field: 'subject', rule: 'maxLength' },
    });
  });

  it('masks an unexpected error and logs it', () => {
    const { log, errors } = recorder();
    const leak = new Error('relation "cases" does not exist at SELECT secret_column');
    const formatted = errorFormatter(log)({ message: leak.message, path: ['enqueueCase'] }, fromResolver(leak));
    expect(formatted).toEqual({
      message: 'Internal server error',
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
      path: ['enqueueCase'],
    });
    expect(errors).toEqual([leak]);
  });
});
