// npx tsx scripts/memory-probe.ts
// Where the gateway's memory goes under a few minutes of mixed load, and
// whether it comes back: a scratch PostgreSQL, the gateway in its own process
// (as the benchmark starts it), then MEMORY_MINUTES of mixed GraphQL traffic
// (enqueues with properties, hand-outs, queue screens, whole cases, one-off
// query texts, introspection, refused input) from MEMORY_CLIENTS connections,
// then MEMORY_IDLE_SECONDS idle. Prints one line per reading: resident set by
// kind (/proc/<pid>/smaps) beside V8's heap and external memory.
//
// Environment:
//   MEMORY_MINUTES       minutes of load (default 3)
//   MEMORY_CLIENTS       concurrent connections (default 32)
//   MEMORY_IDLE_SECONDS  idle time after the load (default 60)
//   MEMORY_NODE_ARGS     node options for the gateway, space-separated (e.g. "--max-semi-space-size=2")
//   MEMORY_GATEWAY_ENV   extra environment for the gateway, e.g. "MALLOC_ARENA_MAX=2"
//   MEMORY_READ_EVERY_SECONDS  how often a reading goes to stderr (default 10)
// A full GC is run before the last reading when MEMORY_NODE_ARGS holds --expose-gc.
// Traffic goes to 127.0.0.1 only; everything started is stopped at the end.
import autocannon from 'autocannon';
import { startScratchPostgres } from '../src/db/scratch-postgres.js';
import { killWorkers } from './bench/children.js';
import { startGatewayProcess, type GatewayProcess } from './bench/gateway.js';
import { kibAsMib, mib, type MemoryReading } from './bench/memory.js';

const minutes = Number(process.env.MEMORY_MINUTES ?? 3);
const clients = Number(process.env.MEMORY_CLIENTS ?? 32);
const idleSeconds = Number(process.env.MEMORY_IDLE_SECONDS ?? 60);
const nodeArgs = (process.env.MEMORY_NODE_ARGS ?? '').split(' ').filter(Boolean);
const gatewayEnv = Object.fromEntries(
  (process.env.MEMORY_GATEWAY_ENV ?? '')
    .split(' ')
    .filter(Boolean)
    .map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
);
const READ_EVERY_MS = Number(process.env.MEMORY_READ_EVERY_SECONDS ?? 10) * 1000;

const progress = (message: string) => process.stderr.write(`memory: ${message}\n`);

const CASE_FIELDS = `id ticket status position estimatedWaitSeconds enqueuedAt subject
  service { id name } customProperties { key value } history { action at agent fromStatus toStatus }`;

/** One request body of the mix, chosen by a running counter. */
function mixedBody(n: number, serviceIds: readonly number[]): string {
  const serviceId = serviceIds[n % serviceIds.length] ?? 1;
  const caseId = 1 + (n % Math.max(1, n >> 2));
  const slot = n % 20;
  if (slot < 6)
    return JSON.stringify({
      query:
        'mutation($input: CaseEnqueueInput!) { enqueueCase(input: $input) { caseId ticket position estimatedWaitSeconds } }',
      variables: {
        input: {
          serviceId,
          subject: `probe ${n}`,
          notes: 'x'.repeat(n % 500),
          customProperties: [
            { key: 'channel', value: 'kiosk' },
            { key: 'seq', value: String(n) },
          ],
        },
      },
    });
  if (slot < 9)
    return JSON.stringify({
      query: 'mutation($input: CallNextInput!) { callNext(input: $input) { id ticket } }',
      variables: { input: { serviceIds: [serviceId], agent: `desk-${n % 16}` } },
    });
  if (slot < 13)
    return JSON.stringify({
      query: `query Screen($id: Int!) { service(id: $id) { name queue(first: 20) { totalCount
        edges { position node { ticket queuedAt } } pageInfo { hasNextPage endCursor } }
        statistics(windowMinutes: 60) { waitingCount longestWaitSeconds averageWaitSeconds servedInWindow enqueuedToday closedToday } } }`,
      variables: { id: serviceId },
    });
  if (slot < 16)
    return JSON.stringify({
      query: `query Case($id: Int!) { case(id: $id) { ${CASE_FIELDS} } }`,
      variables: { id: caseId },
    });
  // A query text never seen before: a new entry in every per-document cache.
  if (slot < 18) return JSON.stringify({ query: `query Once${n} { case(id: ${caseId}) { id ticket status } }` });
  if (slot < 19) return JSON.stringify({ query: '{ __schema { types { name kind fields { name } } } }' });
  // Refused input: a validation error and a variable of the wrong type.
  return JSON.stringify({
    query: `query($id: Int!) { case(id: $id) { id nope${n} } }`,
    variables: { id: 'x'.repeat(n % 300) },
  });
}

async function drive(gateway: GatewayProcess, serviceIds: readonly number[], seconds: number): Promise<number> {
  let n = 0;
  const request: autocannon.Request = {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    setupRequest: (req) => ({ ...req, body: mixedBody(n++, serviceIds) }),
  };
  const result = await autocannon({
    url: gateway.url,
    connections: clients,
    pipelining: 1,
    duration: seconds,
    timeout: 10,
    requests: [request],
  });
  return result.requests.total;
}

function line(label: string, reading: MemoryReading): string {
  const r = reading.resident;
  const i = reading.inside;
  return [
    label.padEnd(16),
    `rss ${kibAsMib(r?.rss)}`.padEnd(9),
    `anon ${kibAsMib(r?.anon)}`.padEnd(10),
    `file ${kibAsMib(r?.file)}`.padEnd(9),
    `wasm ${kibAsMib(r?.wasm)}`.padEnd(9),
    `brk ${kibAsMib(r?.mainArena)}`.padEnd(8),
    `arenas ${kibAsMib(r?.threadArenas)}/${r?.arenaCount ?? '?'}`.padEnd(14),
    `other ${kibAsMib(r?.otherAnon)}`.padEnd(10),
    `| heapUsed ${mib(i?.heapUsed)}`.padEnd(15),
    `heapTotal ${mib(i?.heapTotal)}`.padEnd(14),
    `new ${mib(i?.spaces.new_space)}`.padEnd(8),
    `external ${mib(i?.external)}`.padEnd(13),
    `arrayBuffers ${mib(i?.arrayBuffers)}`,
  ].join(' ');
}

async function main(): Promise<void> {
  const stops: (() => Promise<void>)[] = [];
  try {
    const server = await startScratchPostgres();
    stops.push(() => server.stop());
    const gateway = await startGatewayProcess(server.url, 10, { nodeArgs, env: gatewayEnv });
    stops.push(() => gateway.stop());
    progress(`gateway ${gateway.pid}, node ${nodeArgs.join(' ') || '(defaults)'}, env ${JSON.stringify(gatewayEnv)}`);
    const serviceIds: number[] = [];
    for (let k = 0; k < 8; k++)
      serviceIds.push(
        (
          await gateway.post<{ createService: { id: number } }>(
            'mutation($input: CreateServiceInput!) { createService(input: $input) { id } }',
            { input: { name: `Probe ${k}`, queueCode: 'P' } },
          )
        ).createService.id,
      );
    const say = async (label: string, collect = false) =>
      process.stdout.write(`${line(label, await gateway.memory(collect))}\n`);
    await say('idle');
    let requests = 0;
    const loadStarted = performance.now();
    // Readings every READ_EVERY_MS to stderr, through the load and the idle time after it.
    const reader = setInterval(() => {
      const at = ((performance.now() - loadStarted) / 1000).toFixed(0);
      void gateway.memory().then((reading) => process.stderr.write(`${line(`  ${at} s`, reading)}\n`));
    }, READ_EVERY_MS);
    try {
      for (let done = 0; done < minutes * 60;) {
        const seconds = Math.min(60, minutes * 60 - done);
        requests += await drive(gateway, serviceIds, seconds);
        done += seconds;
        await say(`after ${done / 60} min`);
      }
      progress(`${requests} requests in ${minutes} min`);
      let waited = 0;
      for (const after of [5, 15, idleSeconds]) {
        if (after <= waited || after > idleSeconds) continue;
        await new Promise((resolveWait) => setTimeout(resolveWait, (after - waited) * 1000));
        waited = after;
        await say(`idle ${after} s`);
      }
    } finally {
      clearInterval(reader);
    }
    if (nodeArgs.includes('--expose-gc')) await say('full GC', true);
    const peak = (await gateway.memory()).resident?.peak;
    process.stdout.write(`peak RSS (VmHWM) ${kibAsMib(peak)} MiB\n`);
  } finally {
    killWorkers();
    for (const stop of stops.reverse()) await stop().catch((error: unknown) => progress(`clean-up: ${String(error)}`));
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
