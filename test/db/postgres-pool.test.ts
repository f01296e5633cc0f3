// Pools over several hosts (src/db/postgres-pool.ts): a real primary and a
// real streaming standby of it, listed in either order, with a dead address
// among them; then the primary dies and the standby is promoted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, type RunningPostgres } from '../../src/db/embedded-postgres.js';
import { createDatabaseClient, type Database } from '../../src/db/prisma-client.js';
import { connectPostgres } from '../../src/db/postgres-pool.js';
import { databaseUnavailable } from '../../src/db/prisma-errors.js';
import { startScratchPostgres } from '../../src/db/scratch-postgres.js';
import { startCuttingProxy } from '../helpers/cutting-proxy.js';
import { startStandby, type Standby } from '../helpers/standby.js';

let primary: RunningPostgres;
let standby: Standby;
/** Set once started: beforeAll may fail half-way. */
const started: { primary?: RunningPostgres; standby?: Standby } = {};
/** A port nothing listens on: a host that is down. */
let deadPort: number;
const clients: Database[] = [];

/** The URL of `primary`'s database with the hosts listed by port, and `attrs`. */
function hostsUrl(ports: readonly number[], attrs?: string): string {
  const url = new URL(primary.url);
  const auth = `${url.username}:${url.password}@`;
  const hosts = ports.map((port) => `127.0.0.1:${port}`).join(',');
  return `postgresql://${auth}${hosts}${url.pathname}${attrs ? `?target_session_attrs=${attrs}` : ''}`;
}

function client(url: string, acquireMs = 5_000): Database {
  const db = createDatabaseClient(url, 2, { timeouts: { statementMs: 5_000, lockMs: 1_000, acquireMs } });
  clients.push(db);
  return db;
}

async function inRecovery(db: Database): Promise<boolean> {
  const [row] = await db.$queryRaw<{ standby: boolean }[]>`SELECT pg_is_in_recovery() AS standby`;
  return row?.standby ?? false;
}

beforeAll(async () => {
  primary = started.primary = await startScratchPostgres();
  standby = started.standby = await startStandby(primary);
  deadPort = await freePort();
}, 120_000);

afterAll(async () => {
  await Promise.all(clients.map((db) => db.$disconnect()));
  await started.standby?.stop();
  await started.primary?.stop();
});

describe('a pool over several hosts', () => {
  it.each([
    ['read-write', false],
    ['primary', false],
    ['standby', true],
    ['prefer-standby', true],
  ] as const)(
    'with target_session_attrs=%s connects where it should, whatever the order',
    async (attrs, standbyWanted) => {
      for (const ports of [
        [deadPort, standby.port, primary.port],
        [primary.port, deadPort, standby.port],
      ]) {
        const db = client(hostsUrl(ports, attrs));
        expect(await inRecovery(db)).toBe(standbyWanted);
      }
    },
  );

  it('takes several hosts without target_session_attrs as read-write', async () => {
    expect(await inRecovery(client(hostsUrl([standby.port, primary.port])))).toBe(false);
  });

  it('with prefer-standby, falls back to the primary when no standby answers', async () => {
    expect(await inRecovery(client(hostsUrl([deadPort, primary.port], 'prefer-standby')))).toBe(false);
  });

  it('answers a clear error, in time, when no host is of the kind asked for', async () => {
    const db = client(hostsUrl([deadPort, standby.port], 'read-write'), 1_000);
    const started = performance.now();
    const error: unknown = await db.$queryRaw`SELECT 1`.then(
      () => undefined,
      (failed: unknown) => failed,
    );
    // Answered DATABASE_UNAVAILABLE (503, Retry-After), saying why.
    expect(databaseUnavailable(error)).toMatch(/^(no suitable database host|database not reachable \(ECONNREFUSED\))$/);
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it('answers DATABASE_UNAVAILABLE, not an internal error, when the only host is a standby', async () => {
    const db = client(hostsUrl([standby.port], 'read-write'), 1_000);
    const error: unknown = await db.$queryRaw`SELECT 1`.then(
      () => undefined,
      (failed: unknown) => failed,
    );
    expect(databaseUnavailable(error)).toBe('no suitable database host');
  });

  it('opens a single client (the listener, the scripts) on the right host', async () => {
    const listener = await connectPostgres(hostsUrl([standby.port, primary.port], 'read-write'));
    try {
      const { rows } = await listener.query<{ standby: boolean }>('SELECT pg_is_in_recovery() AS standby');
      expect(rows[0]?.standby).toBe(false);
    } finally {
      await listener.end();
    }
  });
});

describe('a connection lost while its server is asked what it is', () => {
  it('is passed over, and its error ends nothing', async () => {
    const proxy = await startCuttingProxy({ host: '127.0.0.1', port: primary.port });
    try {
      const proxied = Number(new URL(proxy.url(primary.url)).port);
      const db = client(hostsUrl([proxied, primary.port], 'read-write'));
      // The role check, reset as it is sent: an 'error' event nobody listened to would end the test process.
      const cut = proxy.cut('pg_is_in_recovery() AS standby', 'before-sending');
      expect(await inRecovery(db)).toBe(false);
      await cut;
    } finally {
      await proxy.close();
    }
  });
});

describe('when the primary dies and the standby is promoted', () => {
  it('writes go to the new primary, the old connections dropped', async () => {
    const db = client(hostsUrl([primary.port, standby.port], 'read-write'), 10_000);
    await db.$executeRawUnsafe('CREATE TABLE IF NOT EXISTS moved (n int)');
    await db.$executeRaw`INSERT INTO moved VALUES (1)`;
    await standby.caughtUp();
    await primary.stop();
    const promoted = standby.promote();
    // Sent while no host takes writes: it waits (within the acquire timeout) for the promotion.
    const write = db.$executeRaw`INSERT INTO moved VALUES (2)`.catch(
      () =>
        // The first statement may meet a pooled connection to the old primary: it fails, and is not reused.
        db.$executeRaw`INSERT INTO moved VALUES (2)`,
    );
    await promoted;
    await write;
    const rows = await db.$queryRaw<{ n: number }[]>`SELECT n FROM moved ORDER BY n`;
    expect(rows.map((row) => row.n)).toEqual([1, 2]);
    expect(await inRecovery(db)).toBe(false);
  }, 60_000);
});
