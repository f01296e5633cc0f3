// What the log keeps of an error: its class, codes and frames, never a message
// that could quote input. Each error below carries a marker where input would
// be; the written line must hold none of them.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { describe, expect, inject, it } from 'vitest';
import { z } from 'zod';
import { badInput } from '../src/queue/errors.js';
import { createLogger, loggedError, type Logger } from '../src/log.js';

const marker = (): string => `mk${randomBytes(8).toString('hex')}`;

function capture(): { log: Logger; text: () => string; lines: () => unknown[] } {
  const written: string[] = [];
  const log = createLogger({ destination: { write: (line: string) => void written.push(line) } });
  return { log, text: () => written.join(''), lines: () => written.map((line) => JSON.parse(line) as unknown) };
}

/** A real PostgreSQL refusal, which quotes the value it refused. */
async function postgresError(value: string): Promise<unknown> {
  const client = new pg.Client({ connectionString: inject('serverUrl') });
  await client.connect();
  try {
    return await client.query('SELECT $1::int', [value]).then(
      () => undefined,
      (error: unknown) => error,
    );
  } finally {
    await client.end();
  }
}

const errorLine = z.object({
  level: z.literal('error'),
  msg: z.string(),
  err: z.looseObject({ type: z.string(), code: z.union([z.string(), z.number()]).optional() }),
});

describe('errors in the log', () => {
  it('keep their class, code and frames, and none of what their messages quote', async () => {
    const { log, text, lines } = capture();
    const refused = marker();
    const fromPostgres = await postgresError(refused);
    expect(String(fromPostgres)).toContain(refused);
    const queue = marker();
    const json = marker();
    const forged = marker();
    const thrown = marker();
    let notJson: unknown;
    try {
      JSON.parse(`{"subject": "${json}`);
    } catch (error) {
      notJson = error;
    }
    // V8 writes the stack when it is first read, with the message of that moment;
    // a stack set by hand may begin with some other message, and is left out.
    const changed = new Error(`first ${marker()}`);
    changed.message = `changed ${marker()}`;
    const restacked = Object.assign(new Error('short'), { stack: `Error: other ${marker()}\n    at f (/a.js:1:1)` });
    const wrapped = new Error('wrapping', {
      cause: badInput('extRef', 'exists', `no service has the extRef ${queue}`),
    });

    log.error('a database refusal', fromPostgres);
    log.error('a queue error inside another', wrapped);
    log.error('a JSON error', notJson);
    log.error('a message with lines that look like frames', new Error(`bad\n    at ${forged} (/x.js:1:1)`));
    log.error('a message changed after the error was made', changed);
    log.error('a stack of another message', restacked);
    log.error('a thrown string', thrown);

    for (const each of [refused, queue, json, forged, thrown, 'first mk', 'changed mk', 'other mk'])
      expect(text()).not.toContain(each);
    const errors = lines().map((line) => errorLine.parse(line).err);
    expect(errors.map((each) => each.type)).toEqual([
      'DatabaseError',
      'Error',
      'SyntaxError',
      'Error',
      'Error',
      'Error',
      'string',
    ]);
    // The SQLSTATE and the routine say what PostgreSQL refused; the frames say where.
    expect(errors[0]).toMatchObject({ code: '22P02' });
    expect(typeof errors[0]?.['routine']).toBe('string');
    expect(errors[1]).toMatchObject({ cause: { type: 'GatewayError', code: 'BAD_USER_INPUT' } });
    expect(errors[1]?.['stack']).toMatch(/^at .*log\.test\.ts:\d+:\d+\)?$/m);
    expect(errors[3]?.['stack']).toMatch(/^at .*log\.test\.ts:\d+:\d+\)?$/m);
    expect(errors[4]?.['stack']).toMatch(/^at .*log\.test\.ts:\d+:\d+\)?$/m);
    expect(errors[5]).not.toHaveProperty('stack');
  });

  it('keeps the message of a system error, which the OS writes', () => {
    const { log, lines } = capture();
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), {
      code: 'ECONNREFUSED',
      syscall: 'connect',
    });
    log.error('cannot connect', new AggregateError([refused], ''));
    expect(loggedError(refused)).toMatchObject({ type: 'Error', code: 'ECONNREFUSED', message: refused.message });
    expect(errorLine.parse(lines()[0]).err).toMatchObject({
      type: 'AggregateError',
      errors: [{ type: 'Error', code: 'ECONNREFUSED', message: refused.message }],
    });
  });

  it('describes any thrown value without failing', () => {
    const throwing = Object.defineProperty(new Error('x'), 'code', {
      get: () => {
        throw new Error('no code');
      },
    });
    expect(loggedError(throwing)).toEqual({ type: 'unreadable' });
    expect(loggedError(Object.create(null))).toEqual({ type: 'Object' });
    expect(loggedError(undefined)).toEqual({ type: 'undefined' });
  });

  it('writes one JSON object per line with the level by name', () => {
    const { log, text } = capture();
    log.info('started', { port: 4000 });
    log.error('failed');
    const [first, second] = text().split('\n');
    expect(JSON.parse(first ?? '')).toMatchObject({ level: 'info', msg: 'started', port: 4000 });
    expect(JSON.parse(second ?? '')).toMatchObject({ level: 'error', msg: 'failed' });
    expect(text().endsWith('\n')).toBe(true);
  });
});
