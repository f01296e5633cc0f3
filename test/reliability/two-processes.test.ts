// Two gateway OS processes on one database, the first with its embedded
// server, the second pointed at it by DATABASE_URL: agents calling next on
// both, while cases are enqueued through both, get every case exactly once,
// each service's cases in queue order (test/helpers/exactly-once.ts, which
// test/process/workers.test.ts also runs through one port served by two workers).
import type pg from 'pg';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { expectEveryCaseHandedOutOnce } from '../helpers/exactly-once.js';
import { graphqlClient } from '../helpers/graphql-client.js';
import { startProcessPair, type GatewayProcess, type ProcessPair } from './helpers/gateway-process.js';

const CASES = 400;

let pair: ProcessPair | undefined;
let first: GatewayProcess;
let second: GatewayProcess;
let sql: pg.Client | undefined;

beforeAll(async () => {
  pair = await startProcessPair();
  ({ first, second, sql } = pair);
});

afterAll(async () => {
  await pair?.stop();
});

describe('two gateway processes on one database', () => {
  it('hand every case out exactly once, oldest first per service', async () => {
    if (!sql) throw new Error('no database connection');
    await expectEveryCaseHandedOutOnce([graphqlClient(first.url), graphqlClient(second.url)], sql, {
      cases: CASES,
      tag: 'TWO',
    });
  });
});
