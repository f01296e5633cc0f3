// Issue 8 item 11: memory comes back after a burst. A gateway process (as the
// benchmark starts it, with scripts/bench/memory-report.ts reporting its heap)
// takes a burst of mixed requests, then sits idle: its V8 heap must shrink
// back towards where it started, instead of staying at the burst's size for
// as long as no request comes (V8 collects only when JavaScript allocates).
import autocannon from 'autocannon';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startScratchPostgres } from '../../src/db/scratch-postgres.js';
import type { RunningPostgres } from '../../src/db/embedded-postgres.js';
import { startGatewayProcess, type GatewayProcess } from '../../scripts/bench/gateway.js';

const MIB = 1024 * 1024;
const BURST_SECONDS = 15;
const IDLE_DEADLINE_MS = 30_000;

let server: RunningPostgres | undefined;
let gateway: GatewayProcess | undefined;

beforeAll(async () => {
  server = await startScratchPostgres();
  gateway = await startGatewayProcess(server.url, 10);
}, 120_000);

afterAll(async () => {
  await gateway?.stop();
  await server?.stop();
}, 60_000);

async function heapTotal(gatewayProcess: GatewayProcess): Promise<number> {
  const figures = (await gatewayProcess.memory()).inside;
  if (!figures) throw new Error('the gateway did not report its memory');
  return figures.heapTotal;
}

test('the heap shrinks back once the gateway is idle after a burst', async () => {
  if (!gateway) throw new Error('no gateway');
  const service = await gateway.post<{ createService: { id: number } }>(
    'mutation($input: CreateServiceInput!) { createService(input: $input) { id } }',
    { input: { name: 'Memory', queueCode: 'M' } },
  );
  const start = await heapTotal(gateway);
  let n = 0;
  // Enqueues and one-off query texts: garbage in the old generation, as in production.
  await autocannon({
    url: gateway.url,
    connections: 32,
    duration: BURST_SECONDS,
    timeout: 10,
    requests: [
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        setupRequest: (request) => ({
          ...request,
          body: JSON.stringify(
            ++n % 4 === 0
              ? { query: `query Once${n} { service(id: ${service.createService.id}) { id name } }` }
              : {
                  query: 'mutation($input: CaseEnqueueInput!) { enqueueCase(input: $input) { caseId ticket } }',
                  variables: { input: { serviceId: service.createService.id, subject: `burst ${n}` } },
                },
          ),
        }),
      },
    ],
  });
  const afterBurst = await heapTotal(gateway);
  // Otherwise the test proves nothing: the burst must have grown the heap.
  expect(afterBurst - start).toBeGreaterThan(40 * MIB);

  // Idle: no request at all. Polled, bounded in time.
  const deadline = Date.now() + IDLE_DEADLINE_MS;
  let now = afterBurst;
  while (Date.now() < deadline) {
    now = await heapTotal(gateway);
    if (now <= start + 0.4 * (afterBurst - start)) break;
    await new Promise((resolveWait) => setTimeout(resolveWait, 1_000));
  }
  // At least 60% of what the burst added is given back.
  expect(now).toBeLessThanOrEqual(start + 0.4 * (afterBurst - start));
}, 180_000);
