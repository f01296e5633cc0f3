// The rate limiter on a real PostgreSQL, with a clock of the test's own:
// limits in one process and shared between two, windows, Retry-After, the
// database going away, clean-up, and its bounds on memory.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../src/config.js';
import { createDatabaseClient } from '../../src/db/prisma-client.js';
import { addressKey } from '../../src/limits/client-address.js';
import { storageKey } from '../../src/limits/rate-limit-key.js';
import {
  createRateLimiter,
  MAX_KEYS_PER_KIND,
  type RateLimitKey,
  type SyncingRateLimiter,
  type Verdict,
} from '../../src/limits/rate-limiter.js';
import type { Logger } from '../../src/log.js';
import { startTestDatabaseClient, type TestDatabaseClient } from '../helpers/test-database-client.js';

const WINDOW_MS = 10_000;
/** The start of a window (a multiple of WINDOW_MS). */
const T0 = 1_800_000_000_000;
const WINDOW0 = T0 / WINDOW_MS;

let client: TestDatabaseClient;
const started: SyncingRateLimiter[] = [];

beforeAll(async () => {
  client = await startTestDatabaseClient();
});

afterAll(async () => {
  await Promise.all(started.map((limiter) => limiter.stop()));
  await client.stop();
});

/** A clock the test moves by hand. */
function testClock(at = T0): { now: () => number; set: (to: number) => void } {
  let time = at;
  return { now: () => time, set: (to) => void (time = to) };
}

/** A log that keeps its warnings and errors. */
function recordingLog(): { log: Logger; errors: string[] } {
  const errors: string[] = [];
  const keep = (message: string): void => void errors.push(message);
  return { log: { info: () => undefined, warn: keep, error: keep }, errors };
}

type Limits = Config['rateLimit'];

/** A limiter that syncs only when the test says so (its timer is an hour). */
function limiter(
  clock: () => number,
  limits: Partial<Limits> = {},
  { log = recordingLog().log, db = client.db } = {},
): SyncingRateLimiter {
  const made = createRateLimiter(
    db,
    { ...loadConfig({}).rateLimit, windowMs: WINDOW_MS, perCredential: 5, perAddress: 3, syncMs: 3_600_000, ...limits },
    log,
    clock,
  );
  started.push(made);
  return made;
}

const credentialId = (id: string): RateLimitKey => ({ kind: 'credential', id });
const credential = (): RateLimitKey => credentialId(randomUUID());
const address = (id: string): RateLimitKey => ({ kind: 'address', id });

/** How many of `count` requests were allowed. */
function takeMany(limiter: SyncingRateLimiter, key: RateLimitKey, count: number): number {
  let allowed = 0;
  for (let each = 0; each < count; each++) if (limiter.take(key).allowed) allowed += 1;
  return allowed;
}

/** The table's counts for a key, by window. */
async function storedCounts(key: RateLimitKey): Promise<Map<number, number>> {
  const { rows } = await client.sql.query<{ window: number; count: number }>(
    'SELECT "window"::float8 AS "window", count FROM rate_limit_counts WHERE key = $1',
    [storageKey(key)],
  );
  return new Map(rows.map((row) => [row.window, row.count]));
}

function retryAfter(verdict: Verdict): number | undefined {
  return verdict.allowed ? undefined : verdict.retryAfterSeconds;
}

describe('rate limits in one process', () => {
  it('allow exactly the limit per key and window, and do not count refusals', async () => {
    const clock = testClock();
    const limits = limiter(clock.now);
    const kiosk = credential();
    const other = credential();

    expect(takeMany(limits, kiosk, 8)).toBe(5);
    expect(limits.take(kiosk)).toEqual({ allowed: false, retryAfterSeconds: 10, limit: 5 });
    // Another credential and an address have limits of their own.
    expect(takeMany(limits, other, 5)).toBe(5);
    expect(takeMany(limits, address('192.0.2.7'), 5)).toBe(3);

    await limits.sync();
    expect(await storedCounts(kiosk)).toEqual(new Map([[WINDOW0, 5]]));
    expect(await storedCounts(address('192.0.2.7'))).toEqual(new Map([[WINDOW0, 3]]));
    expect(limits.take(kiosk).allowed).toBe(false);
  });

  it('start afresh in the next window', async () => {
    const clock = testClock();
    const limits = limiter(clock.now);
    const kiosk = credential();
    expect(takeMany(limits, kiosk, 6)).toBe(5);
    await limits.sync();

    clock.set(T0 + WINDOW_MS + 1);
    expect(takeMany(limits, kiosk, 6)).toBe(5);
    await limits.sync();
    expect(await storedCounts(kiosk)).toEqual(
      new Map([
        [WINDOW0, 5],
        [WINDOW0 + 1, 5],
      ]),
    );
  });

  it('say how many whole seconds are left in the window', () => {
    const clock = testClock(T0 + 2_500);
    const limits = limiter(clock.now, { perCredential: 1 });
    const kiosk = credential();
    expect(limits.take(kiosk).allowed).toBe(true);
    expect(retryAfter(limits.take(kiosk))).toBe(8); // 7.5 s left
    clock.set(T0 + 9_000);
    expect(retryAfter(limits.take(kiosk))).toBe(1);
    clock.set(T0 + WINDOW_MS - 1);
    expect(retryAfter(limits.take(kiosk))).toBe(1); // never 0
    // A clock stepped back keeps the later window, and never asks for more than a window's wait.
    clock.set(T0 - 60_000);
    expect(retryAfter(limits.take(kiosk))).toBe(10);
  });

  it('count nothing when a limit is 0', async () => {
    const clock = testClock();
    const limits = limiter(clock.now, { perCredential: 0, perAddress: 2 });
    const kiosk = credential();
    expect(takeMany(limits, kiosk, 1_000)).toBe(1_000);
    expect(takeMany(limits, address('192.0.2.8'), 3)).toBe(2);
    await limits.sync();
    expect(await storedCounts(kiosk)).toEqual(new Map());
  });

  it('send requests accepted during a sync with the next one', async () => {
    const clock = testClock();
    const limits = limiter(clock.now, { perCredential: 100 });
    const kiosk = credential();
    expect(takeMany(limits, kiosk, 10)).toBe(10);
    const first = limits.sync();
    expect(takeMany(limits, kiosk, 7)).toBe(7);
    await first;
    expect(await storedCounts(kiosk)).toEqual(new Map([[WINDOW0, 10]]));
    await limits.sync();
    expect(await storedCounts(kiosk)).toEqual(new Map([[WINDOW0, 17]]));
  });

  it('delete windows older than the previous one', async () => {
    // Windows of its own, before every other test's: the clean-up is for the whole table.
    const base = T0 - 100 * WINDOW_MS;
    const first = WINDOW0 - 100;
    const clock = testClock(base);
    const limits = limiter(clock.now);
    const kiosk = credential();
    for (const window of [0, 1, 2]) {
      clock.set(base + window * WINDOW_MS);
      limits.take(kiosk);
      await limits.sync();
    }
    // Window 0 went in window 2's sync; window 1 stays for processes whose clocks lag.
    expect(await storedCounts(kiosk)).toEqual(
      new Map([
        [first + 1, 1],
        [first + 2, 1],
      ]),
    );
    const { rows } = await client.sql.query<{ old: number }>(
      'SELECT count(*)::int AS old FROM rate_limit_counts WHERE "window" < $1',
      [first + 1],
    );
    expect(rows[0]?.old).toBe(0);
  });
});

describe('rate limits across processes', () => {
  it('are shared: after a sync each process counts the other one’s requests', async () => {
    const clock = testClock();
    const first = limiter(clock.now, { perCredential: 10 });
    const second = limiter(clock.now, { perCredential: 10 });
    const kiosk = credential();

    // The first uses up the limit and syncs; the second, new to the key,
    // accepts one request before its sync tells it the total.
    expect(takeMany(first, kiosk, 10)).toBe(10);
    await first.sync();
    expect(second.take(kiosk).allowed).toBe(true);
    await second.sync();
    expect(takeMany(second, kiosk, 5)).toBe(0);
    expect(takeMany(first, kiosk, 5)).toBe(0);
    expect(await storedCounts(kiosk)).toEqual(new Map([[WINDOW0, 11]]));
  });

  it('go over the limit by no more than what each accepts between two syncs', async () => {
    const clock = testClock();
    const first = limiter(clock.now, { perCredential: 10 });
    const second = limiter(clock.now, { perCredential: 10 });
    const kiosk = credential();

    let accepted = 0;
    let mostBetweenSyncs = 0;
    // Requests alternate between the two; after every 3 requests to each, both sync.
    for (let round = 0; round < 8; round++) {
      let sinceSync = 0;
      for (let each = 0; each < 3; each++)
        for (const limits of [first, second]) if (limits.take(kiosk).allowed) sinceSync += 1;
      accepted += sinceSync;
      mostBetweenSyncs = Math.max(mostBetweenSyncs, sinceSync);
      await first.sync();
      await second.sync();
    }
    // Round 1: 3 + 3 (totals then 3 and 6). Round 2: 3 + 3 (9 and 12). Round 3: 1 + 0. Then none.
    expect(accepted).toBe(13);
    expect(accepted).toBeLessThanOrEqual(10 + mostBetweenSyncs);
    expect(await storedCounts(kiosk)).toEqual(new Map([[WINDOW0, accepted]]));
  });

  it('sync many shared keys at once from both without deadlocks or lost counts', async () => {
    const clock = testClock();
    const { log, errors } = recordingLog();
    const first = limiter(clock.now, { perAddress: 1_000 }, { log });
    const second = limiter(clock.now, { perAddress: 1_000 }, { log });
    const addresses = Array.from({ length: 300 }, (_, index) => address(`198.51.100.${index % 250}-${index}`));
    let sent = 0;
    for (let round = 0; round < 20; round++) {
      // Opposite orders on the two: without sorted batches their row locks could deadlock.
      for (const key of addresses) sent += takeMany(first, key, 1);
      for (const key of [...addresses].reverse()) sent += takeMany(second, key, 1);
      await Promise.all([first.sync(), second.sync()]);
    }
    expect(errors).toEqual([]);
    expect(sent).toBe(300 * 2 * 20);
    const { rows } = await client.sql.query<{ total: number }>(
      'SELECT sum(count)::int AS total FROM rate_limit_counts WHERE key = ANY($1::text[])',
      [addresses.map(storageKey)],
    );
    expect(rows[0]?.total).toBe(sent);
  });
});

describe('rate limits when the database fails', () => {
  it('keep deciding on this process’s counts, log, and never throw', async () => {
    const clock = testClock();
    const { log, errors } = recordingLog();
    // Nothing listens on port 1.
    const gone = createDatabaseClient('postgresql://nobody@127.0.0.1:1/nothing', 1, {
      timeouts: { statementMs: 1_000, lockMs: 1_000, acquireMs: 1_000 },
    });
    const limits = limiter(clock.now, {}, { log, db: gone });
    const kiosk = credential();
    expect(takeMany(limits, kiosk, 4)).toBe(4);
    await limits.sync();
    await limits.sync();
    // The limit still holds, counted on this process alone.
    expect(takeMany(limits, kiosk, 4)).toBe(1);
    expect(errors.length).toBe(1); // the next ones are summed up later, not logged each
    expect(errors[0]).toMatch(/^rate limits: could not sync with the database \(\w+\)/);
    await expect(limits.stop()).resolves.toBeUndefined();
    await gone.$disconnect();
  });

  it('send what it counted meanwhile once the database answers again', async () => {
    const clock = testClock();
    const { log, errors } = recordingLog();
    const limits = limiter(clock.now, { perCredential: 100 }, { log });
    const kiosk = credential();
    // The table gone for a while: every sync fails.
    await client.sql.query('ALTER TABLE rate_limit_counts RENAME TO rate_limit_counts_away');
    try {
      expect(takeMany(limits, kiosk, 4)).toBe(4);
      await limits.sync();
      expect(takeMany(limits, kiosk, 3)).toBe(3);
      await limits.sync();
    } finally {
      await client.sql.query('ALTER TABLE rate_limit_counts_away RENAME TO rate_limit_counts');
    }
    expect(errors).toEqual([
      'rate limits: could not sync with the database (42P01); each process decides on its own counts until it answers',
    ]);
    await limits.sync();
    expect(await storedCounts(kiosk)).toEqual(new Map([[WINDOW0, 7]]));
  });
});

describe('rate limit keys', () => {
  it('count IPv4 clients however the socket writes them, and IPv6 clients by /64', () => {
    expect(addressKey('127.0.0.1')).toBe('127.0.0.1');
    expect(addressKey('::ffff:127.0.0.1')).toBe('127.0.0.1');
    expect(addressKey('2001:db8:0:1:aaaa::1')).toBe('2001:db8:0:1::/64');
    expect(addressKey('2001:0DB8:0000:0001:ffff:ffff:ffff:ffff')).toBe('2001:db8:0:1::/64');
    expect(addressKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
    expect(addressKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(addressKey('64:ff9b::192.0.2.1')).toBe('64:ff9b:0:0::/64');
    expect(storageKey(address('::ffff:192.0.2.1'))).toBe('a:192.0.2.1');
    expect(storageKey(credentialId('key_01'))).toBe('c:key_01');
  });

  it('store ids that are long or unusual as a hash that fits the column', () => {
    const long = storageKey(credentialId('x'.repeat(1_000)));
    expect(long).toMatch(/^c#[\w-]{43}$/);
    expect(storageKey(credentialId('x'.repeat(1_000)))).toBe(long);
    expect(storageKey(credentialId('a\u0000b'))).toMatch(/^c#/);
    expect(storageKey(credentialId('élodie'))).toMatch(/^c#/);
  });

  it('share one IPv6 /64 between its addresses', () => {
    const clock = testClock();
    const limits = limiter(clock.now);
    expect(takeMany(limits, address('2001:db8:7:7::1'), 2)).toBe(2);
    expect(takeMany(limits, address('2001:db8:7:7::2'), 2)).toBe(1);
    expect(takeMany(limits, address('2001:db8:7:8::2'), 2)).toBe(2);
  });

  it(`count new keys past ${MAX_KEYS_PER_KIND} per kind against one shared limit`, async () => {
    const clock = testClock();
    const { log, errors } = recordingLog();
    const limits = limiter(clock.now, { perAddress: 3 }, { log });
    const addressOf = (index: number): RateLimitKey =>
      address(`10.${(index >> 16) & 255}.${(index >> 8) & 255}.${index & 255}`);
    for (let index = 0; index < MAX_KEYS_PER_KIND; index++) expect(limits.take(addressOf(index)).allowed).toBe(true);
    // Past the cap, new addresses share one limit of 3...
    const newcomers = Array.from({ length: 10 }, (_, index) => addressOf(MAX_KEYS_PER_KIND + index));
    expect(newcomers.filter((key) => limits.take(key).allowed).length).toBe(3);
    // ...while the ones tracked keep their own, and credentials theirs.
    expect(takeMany(limits, addressOf(0), 5)).toBe(2);
    expect(takeMany(limits, credential(), 6)).toBe(5);
    expect(errors).toEqual([
      `rate limits: over ${MAX_KEYS_PER_KIND} address keys in one window; new ones share one limit`,
    ]);
    await limits.sync();
    const { rows } = await client.sql.query<{ count: number }>(
      `SELECT count FROM rate_limit_counts WHERE key = 'a*' AND "window" = $1`,
      [WINDOW0],
    );
    expect(rows).toEqual([{ count: 3 }]);
    // The next window starts with an empty table of keys.
    clock.set(T0 + WINDOW_MS);
    expect(limits.take(newcomers[9] ?? addressOf(0)).allowed).toBe(true);
  });
});
