// Rate limits shared by two gateway OS processes on one database. Both run
// with credentials required and none configured, so every request here is
// anonymous: answered 401 UNAUTHENTICATED and counted against the client's
// address (127.0.0.1), until the address is over its limit: then 429
// RATE_LIMITED with Retry-After. Requests alternate between the two processes;
// what both accept together stays within the limit and a small slack (far
// below the 2 × limit two unshared processes would accept), and once the
// window has passed they are accepted again.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProcessPair, type GatewayProcess, type ProcessPair } from './helpers/gateway-process.js';

const LIMIT = 20;
const WINDOW_MS = 5_000;
const SYNC_MS = 100;
/** One request every PACE_MS (at least), to each process in turn: each gets one every 2 × PACE_MS. */
const PACE_MS = 20;
const REQUESTS = 60;
/**
 * Accepted beyond the limit at most. Each process may accept what reaches it
 * from the moment the shared total reaches the limit until its next sync has
 * answered: a sync interval and a round trip, ~110 ms, so 3 requests at one per
 * 40 ms; 6 for both. 2 more for timers firing late on a busy machine.
 */
const SLACK = 8;

let pair: ProcessPair | undefined;
let gateways: GatewayProcess[];

beforeAll(async () => {
  pair = await startProcessPair({
    AUTH_MODE: 'required',
    RATE_LIMIT_PER_ADDRESS: String(LIMIT),
    RATE_LIMIT_WINDOW_MS: String(WINDOW_MS),
    RATE_LIMIT_SYNC_MS: String(SYNC_MS),
  });
  gateways = [pair.first, pair.second];
});

afterAll(async () => {
  await pair?.stop();
});

interface Answer {
  readonly gateway: number;
  readonly status: number;
  readonly retryAfter: string | null;
  readonly code: unknown;
  readonly sentAt: number;
  readonly receivedAt: number;
}

/** An anonymous GraphQL POST (no Authorization header) to gateway `index`. */
async function anonymousRequest(index: number): Promise<Answer> {
  const gateway = gateways[index];
  if (!gateway) throw new Error(`no gateway ${index}`);
  const sentAt = Date.now();
  const response = await fetch(gateway.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: '{ __typename }' }),
  });
  const body: unknown = await response.json();
  return {
    gateway: index,
    status: response.status,
    retryAfter: response.headers.get('retry-after'),
    code: errorCode(body),
    sentAt,
    receivedAt: Date.now(),
  };
}

/** `errors[0].extensions.code` of a JSON error body. */
function errorCode(body: unknown): unknown {
  if (typeof body !== 'object' || body === null || !('errors' in body)) return undefined;
  const errors: unknown = body.errors;
  const first: unknown = Array.isArray(errors) ? (errors as unknown[])[0] : undefined;
  if (typeof first !== 'object' || first === null || !('extensions' in first)) return undefined;
  const { extensions } = first;
  return typeof extensions === 'object' && extensions !== null && 'code' in extensions ? extensions.code : undefined;
}

const windowOf = (time: number): number => Math.floor(time / WINDOW_MS);

describe('rate limits across two gateway processes', () => {
  it('are shared: both together accept the limit and a small slack, then 429 until the window ends', async () => {
    // Start just after a window begins, so the whole run falls in one window.
    await sleep(WINDOW_MS - (Date.now() % WINDOW_MS) + 50);
    const window = windowOf(Date.now());
    const answers: Answer[] = [];
    for (let index = 0; index < REQUESTS; index++) {
      answers.push(await anonymousRequest(index % 2));
      await sleep(PACE_MS);
    }
    const last = answers.at(-1);
    expect(last && windowOf(last.receivedAt), 'the requests took longer than a window').toBe(window);

    const accepted = answers.filter((answer) => answer.status === 401);
    const refused = answers.filter((answer) => answer.status === 429);
    // Nothing but those two, and every answer says which it is.
    expect(accepted.length + refused.length).toBe(REQUESTS);
    for (const answer of accepted) expect(answer.code).toBe('UNAUTHENTICATED');
    for (const answer of refused) expect(answer.code).toBe('RATE_LIMITED');
    // No refusal before the limit is used up; the limit and at most SLACK more accepted in all.
    expect(answers.slice(0, LIMIT).every((answer) => answer.status === 401)).toBe(true);
    expect(accepted.length).toBeGreaterThanOrEqual(LIMIT);
    expect(accepted.length).toBeLessThanOrEqual(LIMIT + SLACK);
    // Both processes refused: each saw the other's counts.
    for (const gateway of [0, 1]) expect(refused.some((answer) => answer.gateway === gateway)).toBe(true);
    // Once over, every later request is refused by both (counts only grow within a window).
    const firstRefusal = answers.findIndex((answer) => answer.status === 429);
    const settled = answers.slice(firstRefusal + 2 * Math.ceil(150 / PACE_MS));
    expect(settled.length).toBeGreaterThan(0);
    expect(settled.every((answer) => answer.status === 429)).toBe(true);

    // Retry-After: whole seconds until the window ends, as the server saw the time.
    const windowEnd = (window + 1) * WINDOW_MS;
    for (const answer of refused) {
      expect(answer.retryAfter).toMatch(/^\d+$/);
      const seconds = Number(answer.retryAfter);
      expect(seconds).toBeGreaterThanOrEqual(Math.max(1, Math.ceil((windowEnd - answer.receivedAt) / 1000)));
      expect(seconds).toBeLessThanOrEqual(Math.ceil((windowEnd - answer.sentAt) / 1000));
    }

    // The shared count is what both accepted (refusals are not counted), once both have synced.
    await sleep(4 * SYNC_MS);
    const stored = await pair?.sql.query<{ count: number }>(
      `SELECT count FROM rate_limit_counts WHERE key = 'a:127.0.0.1' AND "window" = $1`,
      [window],
    );
    expect(stored?.rows).toEqual([{ count: accepted.length }]);

    // After Retry-After, a new window: both accept again.
    const wait = Math.max(...refused.map((answer) => answer.receivedAt + Number(answer.retryAfter) * 1000));
    await sleep(Math.max(0, wait - Date.now()) + 50);
    const after = await Promise.all([anonymousRequest(0), anonymousRequest(1)]);
    expect(after.map((answer) => [answer.status, answer.code])).toEqual([
      [401, 'UNAUTHENTICATED'],
      [401, 'UNAUTHENTICATED'],
    ]);
  });
});
