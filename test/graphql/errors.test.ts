// What clients see of errors: rule violations in full, anything else masked.
import { GraphQLError } from 'graphql';
import { describe, expect, it, vi } from 'vitest';
import { createDatabaseClient } from '../../src/db/prisma-client.js';
import { boundedMessage } from '../../src/graphql/bounded-message.js';
import { errorFormatter, graphqlError } from '../../src/graphql/errors.js';
import type { Logger } from '../../src/log.js';
import { badInput } from '../../src/queue/errors.js';

function recorder(): { log: Logger; errors: unknown[] } {
  const errors: unknown[] = [];
  return {
    errors,
    log: { info: () => undefined, warn: () => undefined, error: (_message, error) => errors.push(error) },
  };
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

  it('builds an error for the client with its code first, then the other extensions', () => {
    const error = graphqlError('Too many requests: try again in 3 s', 'RATE_LIMITED', { retryAfterSeconds: 3 });
    expect(JSON.stringify(error.toJSON())).toBe(
      '{"message":"Too many requests: try again in 3 s","extensions":{"code":"RATE_LIMITED","retryAfterSeconds":3}}',
    );
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

describe('unavailable database and bounded messages', () => {
  it('answers a refused connection as DATABASE_UNAVAILABLE, logged once per window without a stack', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout'] });
    const lines: string[] = [];
    const stacks: unknown[] = [];
    const log: Logger = {
      info: () => undefined,
      warn: () => undefined,
      error: (message, error) => {
        lines.push(message);
        if (error !== undefined) stacks.push(error);
      },
    };
    // A real failure: nothing listens on port 1.
    const db = createDatabaseClient('postgresql://postgres@127.0.0.1:1/none', 1, {
      timeouts: { statementMs: 500, lockMs: 500, acquireMs: 500 },
    });
    try {
      const refused = await db.$queryRaw`SELECT 1`.then(
        () => undefined,
        (error: unknown) => error,
      );
      const format = errorFormatter(log);
      for (let each = 0; each < 50; each += 1) {
        const formatted = format({ message: 'x', path: ['enqueueCase'] }, fromResolver(refused as Error));
        expect(formatted).toEqual({
          message: 'The database is unavailable or did not answer in time; try again later',
          extensions: { code: 'DATABASE_UNAVAILABLE', retryAfterSeconds: 2 },
          path: ['enqueueCase'],
        });
      }
      expect(lines).toEqual(['database unavailable (database not reachable (ECONNREFUSED))']);
      vi.advanceTimersByTime(5_000);
      expect(lines[1]).toBe('database unavailable (database not reachable (ECONNREFUSED)): 49 more in the last 5 s');
      vi.advanceTimersByTime(5_000);
      expect(lines).toHaveLength(2);
      expect(stacks).toEqual([]);
    } finally {
      vi.useRealTimers();
      await db.$disconnect();
    }
  });

  it('cuts every quoted value to 100 characters and a whole message to 1,000', () => {
    const { log } = recorder();
    const huge = 'x'.repeat(900_000);
    const message = `Variable "$id" got invalid value "${huge}"; Int cannot represent non-integer value: "${huge}"`;
    const formatted = errorFormatter(log)({ message }, new GraphQLError(message));
    expect(formatted.message).toBe(
      `Variable "$id" got invalid value "${'x'.repeat(100)}…"; Int cannot represent non-integer value: "${'x'.repeat(100)}…"`,
    );
    expect(boundedMessage('a'.repeat(5_000))).toHaveLength(1_001);
    expect(boundedMessage(`"${'\\"'.repeat(80)}"`)).toMatch(/^"(\\")+…"$/);
    expect(boundedMessage('short "and quoted"')).toBe('short "and quoted"');
  });
});
