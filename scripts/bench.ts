// npm run bench
// How close the gateway's enqueueCase and callNext come to what the machine
// allows, in one run on one machine: beside them, the gateway's own floor
// ({ __typename }, no database) and the same database work as raw SQL with
// no HTTP. Absolute numbers vary with the machine and its neighbours; the
// ratios, taken in the same run, are what the goals are about.
//
// Every party has a process of its own, so the CPU column of each is its own:
// a scratch embedded PostgreSQL, the gateway (built, then run as `npm start`
// runs it: `node dist/main.js`, which applies the migrations), and one load worker per row (autocannon over
// HTTP, scripts/bench/load.ts, or raw pg loops, scripts/bench/raw.ts). Each
// row warms up, then measures for a fixed time. Traffic goes to 127.0.0.1
// only; every loop is bounded in time and every child is stopped at the end,
// on error and on Ctrl-C.
//
// The gateway runs open (AUTH_MODE=open): the unkeyed rows are callers
// without a credential, as before. One row sends a KIOSK API key with every
// request, which an open gateway still verifies, checks against the key's
// role and counts against the key's rate limit: the whole admission path. The
// limit (RATE_LIMIT_PER_CREDENTIAL) is set far above what a row sends, so it
// counts and never refuses. AUTH_MODE=open, not `auto`: in `auto` the key
// would close open access within seconds, and every later row would fail.
//
// The report ends with the gateway's memory: idle before the rows, at its
// peak during them, and a few seconds after the last (RSS beside V8's heap,
// external memory and malloc's heaps; scripts/bench/memory.ts).
//
// Last, a second gateway with GATEWAY_WORKERS=2 is started beside the first,
// on the same database, and the floor and the one-service enqueue rows run
// against each in turn, pair by pair (docs/performance.md, "Several gateway
// processes"). Its CPU is its primary's and its workers' together.
//
// Environment:
//   BENCH_SECONDS         measured seconds per row (default 5)
//   BENCH_WARMUP_SECONDS  discarded warm-up seconds per row (default 1)
//   BENCH_POOL_SIZE       the gateway's DATABASE_POOL_SIZE (default 10)
// The table goes to stdout, progress to stderr.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startScratchPostgres } from '../src/db/scratch-postgres.js';
import { killWorkers } from './bench/children.js';
import { cpuPercent, cpuSnapshot, nproc, postmasterPid, type CpuSnapshot } from './bench/cpu.js';
import { BenchDatabase } from './bench/database.js';
import { startGatewayProcess, type GatewayProcess } from './bench/gateway.js';
import type { FanOutSettings } from './bench/fan-out.js';
import type { LoadSettings } from './bench/load.js';
import type { RawSettings } from './bench/raw.js';
import { kibAsMib, PeakWatch } from './bench/memory.js';
import { runWorker } from './bench/run-worker.js';
import { readSettings, UsageError, type BenchSettings } from './bench/settings.js';
import { markdownTable, memoryTable, ratioLine, statementTable, type RowFigures } from './bench/table.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const LOAD_WORKER = join(HERE, 'bench', 'load.ts');
const RAW_WORKER = join(HERE, 'bench', 'raw.ts');
const FAN_OUT_WORKER = join(HERE, 'bench', 'fan-out.ts');

const CREATE_SERVICE = 'mutation($input: CreateServiceInput!) { createService(input: $input) { id } }';
const FLOOR_BODY = JSON.stringify({ query: '{ __typename }' });
const enqueueBody = (serviceId: number, fields: string) =>
  JSON.stringify({
    query: `mutation($input: CaseEnqueueInput!) { enqueueCase(input: $input) { ${fields} } }`,
    variables: { input: { serviceId, subject: 'bench' } },
  });
const CREATE_API_KEY = 'mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret } }';
const callNextBody = (serviceId: number, agent: string) =>
  JSON.stringify({
    query: 'mutation($input: CallNextInput!) { callNext(input: $input) { id ticket } }',
    variables: { input: { serviceIds: [serviceId], agent } },
  });

// The gateway's settings beyond the defaults: open access on purpose (see
// the header), and a per-credential limit (the most config.ts accepts, per
// 10 s window) that the keyed row counts against without ever reaching it.
// Every load client connects from 127.0.0.1 (the fan-out row holds 1,000 WebSockets): no per-address cap.
const GATEWAY_ENV = {
  AUTH_MODE: 'open',
  RATE_LIMIT_PER_CREDENTIAL: '10000000',
  HTTP_MAX_CONNECTIONS_PER_ADDRESS: '1024',
} as const;

const CLIENTS = [16, 64];
// The keyed enqueue row runs at this many clients only, beside the unkeyed one.
const KEYED_CLIENTS = 64;
const AGENTS = [8, 16];
const RAW_CLAIM_CONNECTIONS = [8, 16, 64];
// Claims per second a queue is filled for (several times what 2 cores do),
// for the whole row, warm-up included. Raw claims and callNext get queues of
// the same size; the error column shows a queue that ran dry all the same.
const CLAIMS_PER_SECOND = 15_000;
const FAILED_GRAPHQL = '"errors"';
// Memory is read again this long after the last row: what the gateway keeps
// once the load is over, and what it gives back when it has been idle a while.
const AFTER_LOAD_SECONDS = [5, 15];
const EMPTY_CALL = '"callNext":null';
// Fan-out: this many kiosks, each on a WebSocket of its own, follow their
// cases in one queue while an agent calls this many times.
const FAN_OUT_SUBSCRIBERS = 1_000;
const FAN_OUT_ROUNDS = 20;

const progress = (message: string) => process.stderr.write(`bench: ${message}\n`);

let interrupted = false;
const interrupt = (signal: NodeJS.Signals) => {
  // `on`, not `once`: tsx may pass the same Ctrl-C on a second time, and a
  // signal nobody listens to would end the process before the clean-up.
  if (interrupted) return;
  interrupted = true;
  progress(`${signal}: stopping`);
  // The running row fails at once; the orderly clean-up in main() then runs.
  killWorkers();
  setTimeout(() => process.exit(130), 30_000).unref();
};
process.on('SIGINT', interrupt);
process.on('SIGTERM', interrupt);

/** Runs the rows against a running gateway and database; returns the report. */
async function benchmark(
  settings: BenchSettings,
  gateway: GatewayProcess,
  db: BenchDatabase,
  databaseUrl: string,
  postmaster: number,
): Promise<string> {
  const rows: RowFigures[] = [];
  const windowSeconds = settings.warmupSeconds + settings.seconds;
  const idleMemory = await gateway.memory();

  /** `on`: the gateway whose CPU the row counts (the one the load goes to); `into`: the table the row goes in. */
  const measure = async (
    label: string,
    clients: number,
    worker: string,
    workerSettings: LoadSettings | RawSettings | FanOutSettings,
    { on = gateway, into = rows }: { on?: GatewayProcess; into?: RowFigures[] } = {},
  ): Promise<RowFigures> => {
    if (interrupted) throw new Error('interrupted');
    progress(`${label}, ${clients} clients`);
    let before: CpuSnapshot | undefined;
    let after: CpuSnapshot | undefined;
    let reset: Promise<void> = Promise.resolve();
    const result = await runWorker(
      worker,
      workerSettings,
      {
        onStart: () => {
          before = cpuSnapshot(on.pid, postmaster);
          reset = db.resetStatements();
        },
        onEnd: () => (after = cpuSnapshot(on.pid, postmaster)),
      },
      windowSeconds * 1000 + 60_000,
    );
    await reset;
    const statements = await db.topStatements(3);
    if (!before || !after) throw new Error(`worker ${worker} did not report its measured window`);
    const cpu = cpuPercent(before, after);
    const load = (result.cpuSeconds / result.seconds) * 100;
    const row: RowFigures = {
      label,
      clients,
      perSecond: result.operations / result.seconds,
      p50Ms: result.p50Ms,
      p99Ms: result.p99Ms,
      errors: result.errors,
      cpu: {
        gateway: cpu.gateway,
        postgres: cpu.postgres,
        load,
        other: Math.max(0, cpu.machine - cpu.gateway - cpu.postgres - load),
      },
      statements,
      operations: result.operations,
      lastDeliveryP50Ms: result.lastDeliveryP50Ms,
    };
    into.push(row);
    return row;
  };

  let services = 0;
  const newService = async (): Promise<number> =>
    (
      await gateway.post<{ createService: { id: number } }>(CREATE_SERVICE, {
        input: { name: `Bench ${++services}`, queueCode: 'B' },
      })
    ).createService.id;
  const filledService = async (cases: number): Promise<number> => {
    const serviceId = await newService();
    const started = performance.now();
    await db.fillQueue(serviceId, cases);
    progress(`filled a queue with ${cases} waiting cases in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    return serviceId;
  };
  const leftover = async (serviceId: number) => {
    const waiting = await db.waitingCases(serviceId);
    progress(
      waiting > 0
        ? `${waiting} cases still waiting: the queue did not run dry`
        : 'the queue RAN DRY: the row is not valid',
    );
  };
  const http = (
    clients: number,
    bodies: string[],
    spread: LoadSettings['spread'],
    failMarkers = [FAILED_GRAPHQL],
    headers?: LoadSettings['headers'],
  ): LoadSettings => ({
    url: gateway.url,
    connections: clients,
    seconds: settings.seconds,
    warmupSeconds: settings.warmupSeconds,
    bodies,
    spread,
    failMarkers,
    headers,
  });
  const raw = (clients: number, mode: RawSettings['mode'], serviceId: number): RawSettings => ({
    databaseUrl,
    mode,
    serviceId,
    connections: clients,
    seconds: settings.seconds,
    warmupSeconds: settings.warmupSeconds,
  });

  // A fresh service (and so an empty queue) for every row: no row inherits
  // the queue, index or counter state another row left behind.
  const peakWatch = new PeakWatch(() => gateway.memory());
  const FLOOR = 'floor: { __typename }, no database';
  const ENQUEUE_ONE = 'enqueueCase, one service';
  const ENQUEUE_KEYED = 'enqueueCase, one service, KIOSK API key';
  const ENQUEUE_16 = 'enqueueCase, 16 services';
  const RAW_CLAIM = 'raw SKIP LOCKED claim, no HTTP (clients = agents)';
  const CALL_NEXT = 'callNext, one full queue (clients = agents)';
  for (const clients of CLIENTS) await measure(FLOOR, clients, LOAD_WORKER, http(clients, [FLOOR_BODY], 'rotate'));
  for (const clients of CLIENTS)
    await measure('raw INSERT, no HTTP', clients, RAW_WORKER, raw(clients, 'insert', await newService()));
  const queueSize = Math.ceil(CLAIMS_PER_SECOND * windowSeconds);
  for (const clients of RAW_CLAIM_CONNECTIONS) {
    const serviceId = await filledService(queueSize);
    await measure(RAW_CLAIM, clients, RAW_WORKER, raw(clients, 'claim', serviceId));
    await leftover(serviceId);
  }
  for (const clients of CLIENTS)
    await measure(
      ENQUEUE_ONE,
      clients,
      LOAD_WORKER,
      http(clients, [enqueueBody(await newService(), 'caseId')], 'rotate'),
    );
  const kiosk = await gateway.post<{ createApiKey: { secret: string } }>(CREATE_API_KEY, {
    input: { name: 'bench kiosk', role: 'KIOSK' },
  });
  await measure(
    ENQUEUE_KEYED,
    KEYED_CLIENTS,
    LOAD_WORKER,
    http(KEYED_CLIENTS, [enqueueBody(await newService(), 'caseId')], 'rotate', [FAILED_GRAPHQL], {
      authorization: `Bearer ${kiosk.createApiKey.secret}`,
    }),
  );
  for (const clients of CLIENTS) {
    const bodies: string[] = [];
    for (let i = 0; i < 16; i++) bodies.push(enqueueBody(await newService(), 'caseId'));
    await measure(ENQUEUE_16, clients, LOAD_WORKER, http(clients, bodies, 'rotate'));
  }
  const KIOSK = 'kiosk: enqueueCase + ticket, position, wait';
  for (const clients of CLIENTS) {
    await measure(
      KIOSK,
      clients,
      LOAD_WORKER,
      http(clients, [enqueueBody(await newService(), 'caseId ticket position estimatedWaitSeconds')], 'rotate'),
    );
  }
  for (const agents of AGENTS) {
    const serviceId = await filledService(queueSize);
    const bodies = Array.from({ length: agents }, (_, k) => callNextBody(serviceId, `desk-${k + 1}`));
    await measure(CALL_NEXT, agents, LOAD_WORKER, http(agents, bodies, 'per-connection', [FAILED_GRAPHQL, EMPTY_CALL]));
    await leftover(serviceId);
  }

  const FAN_OUT = `fan-out: callNext → ${FAN_OUT_SUBSCRIBERS} kiosks following their cases (req/s = deliveries/s; ms = commit to delivery)`;
  const fanOutService = await filledService(FAN_OUT_SUBSCRIBERS + FAN_OUT_ROUNDS);
  await measure(FAN_OUT, FAN_OUT_SUBSCRIBERS, FAN_OUT_WORKER, {
    url: gateway.url,
    databaseUrl,
    serviceId: fanOutService,
    subscribers: FAN_OUT_SUBSCRIBERS,
    rounds: FAN_OUT_ROUNDS,
  });
  // The reads of the kiosks' first states ran before the window, whose start reset the counts.
  const fanOutReads = await db.callsOf('WITH followed AS');

  const peakMemory = await peakWatch.stop();
  const memoryRows = [
    { when: 'idle, before the rows', reading: idleMemory },
    { when: 'peak during the rows (1 s samples)', reading: peakMemory },
  ];
  let waited = 0;
  for (const seconds of AFTER_LOAD_SECONDS) {
    progress(`memory ${seconds} s after the load`);
    await new Promise((resolveWait) => setTimeout(resolveWait, (seconds - waited) * 1000));
    waited = seconds;
    memoryRows.push({ when: `${seconds} s after the last row`, reading: await gateway.memory() });
  }
  const highWater = memoryRows.at(-1)?.reading?.resident?.peak;

  // GATEWAY_WORKERS=2 against 1: the floor and the one-service enqueue, each
  // pair back to back. The one-worker gateway is measured again rather than
  // its rows above, so that both of a pair see the same machine and database.
  progress('starting a gateway with GATEWAY_WORKERS=2 beside it');
  const twoWorkers = await startGatewayProcess(databaseUrl, settings.poolSize, {
    env: { ...GATEWAY_ENV, GATEWAY_WORKERS: '2' },
  });
  const workersRows: RowFigures[] = [];
  try {
    const bodies: [string, () => Promise<string>][] = [
      [FLOOR, () => Promise.resolve(FLOOR_BODY)],
      [ENQUEUE_ONE, async () => enqueueBody(await newService(), 'caseId')],
    ];
    for (const [label, body] of bodies)
      for (const clients of CLIENTS)
        for (const [workers, on] of [
          [1, gateway],
          [2, twoWorkers],
        ] as const)
          await measure(
            `${label}, GATEWAY_WORKERS=${workers}`,
            clients,
            LOAD_WORKER,
            { ...http(clients, [await body()], 'rotate'), url: on.url },
            { on, into: workersRows },
          );
  } finally {
    await twoWorkers.stop();
  }
  const workersRatio = (label: string, clients: number) => {
    const find = (workers: number) =>
      workersRows.find((each) => each.label === `${label}, GATEWAY_WORKERS=${workers}` && each.clients === clients);
    return ratioLine(`${label}, ${clients} clients: 2 workers ÷ 1`, ratio(find(2), find(1), rate));
  };

  const row = (label: string, clients: number) =>
    rows.find((candidate) => candidate.label === label && candidate.clients === clients);
  const ratio = (a: RowFigures | undefined, b: RowFigures | undefined, pick: (figures: RowFigures) => number) =>
    a && b ? pick(a) / pick(b) : Number.NaN;
  const rate = (figures: RowFigures) => figures.perSecond;
  const p99 = (figures: RowFigures) => figures.p99Ms;
  const facts = await db.facts();
  return [
    markdownTable(rows),
    '',
    'Ratios (same run):',
    ratioLine('enqueueCase, one service, 64 clients ÷ floor', ratio(row(ENQUEUE_ONE, 64), row(FLOOR, 64), rate), {
      atLeast: 0.6,
    }),
    ratioLine('enqueueCase, 16 services, 64 clients ÷ floor', ratio(row(ENQUEUE_16, 64), row(FLOOR, 64), rate), {
      atLeast: 0.6,
    }),
    ratioLine(
      'enqueueCase p99, one service, 16 clients ÷ floor p99',
      ratio(row(ENQUEUE_ONE, 16), row(FLOOR, 16), p99),
      { atMost: 3 },
    ),
    ratioLine('callNext, 8 agents ÷ raw claim, 8 connections', ratio(row(CALL_NEXT, 8), row(RAW_CLAIM, 8), rate), {
      atLeast: 0.8,
    }),
    ratioLine('enqueueCase, one service, 16 clients ÷ floor', ratio(row(ENQUEUE_ONE, 16), row(FLOOR, 16), rate)),
    ratioLine('enqueueCase, 16 services, 16 clients ÷ floor', ratio(row(ENQUEUE_16, 16), row(FLOOR, 16), rate)),
    ratioLine(
      `enqueueCase with an API key ÷ without, ${KEYED_CLIENTS} clients`,
      ratio(row(ENQUEUE_KEYED, KEYED_CLIENTS), row(ENQUEUE_ONE, KEYED_CLIENTS), rate),
    ),
    ratioLine('kiosk, 16 clients ÷ floor', ratio(row(KIOSK, 16), row(FLOOR, 16), rate)),
    ratioLine('kiosk, 64 clients ÷ floor', ratio(row(KIOSK, 64), row(FLOOR, 64), rate)),
    ratioLine('callNext, 16 agents ÷ raw claim, 16 connections', ratio(row(CALL_NEXT, 16), row(RAW_CLAIM, 16), rate)),
    fanOutLine(row(FAN_OUT, FAN_OUT_SUBSCRIBERS), fanOutReads),
    '',
    'Where PostgreSQL spent its time in each row (pg_stat_statements, the two statements that took most):',
    '',
    statementTable([...rows, ...workersRows].filter((row) => row.statements.length > 0)),
    '',
    memoryTable(memoryRows),
    '',
    `Gateway RSS high-water mark (VmHWM, start-up included): ${kibAsMib(highWater)} MiB.`,
    '',
    "GATEWAY_WORKERS=2 against 1 (each pair back to back; a gateway's CPU is its primary and workers together, " +
      'and each worker has pools of its own):',
    '',
    markdownTable(workersRows),
    '',
    ...[FLOOR, ENQUEUE_ONE].flatMap((label) => CLIENTS.map((clients) => workersRatio(label, clients))),
    '',
    `Machine: ${nproc()} cores (nproc), PostgreSQL ${facts.version} (embedded), fsync ${facts.fsync}, synchronous_commit ${facts.synchronousCommit}; ` +
      `gateway pool ${settings.poolSize} connections, ` +
      Object.entries(GATEWAY_ENV)
        .map(([name, value]) => `${name}=${value}`)
        .join(', ') +
      `; ${settings.seconds} s per row after ${settings.warmupSeconds} s of warm-up. ` +
      'CPU % is of one core over the measured window; "other" is the rest of the machine (kernel, anything else running).',
  ].join('\n');
}

/** What the fan-out row means for a hall: when the last kiosk had each change, and what the database did for it. */
function fanOutLine(figures: RowFigures | undefined, stateReads: number): string {
  if (!figures) return '- fan-out: n/a';
  return (
    `- fan-out: each change reached all ${FAN_OUT_SUBSCRIBERS} kiosks ${figures.lastDeliveryP50Ms?.toFixed(1) ?? 'n/a'} ms ` +
    `after its commit (median over ${FAN_OUT_ROUNDS} changes); ${(stateReads / FAN_OUT_ROUNDS).toFixed(2)} reads of the ` +
    `service's state per change, for all of them; ${figures.errors} deliveries missed`
  );
}

async function main(): Promise<void> {
  const settings = readSettings(process.env, process.argv.slice(2));
  // Stopped in reverse order of starting, whatever happens.
  const stops: (() => Promise<void>)[] = [];
  try {
    progress('starting a scratch PostgreSQL');
    // pg_stat_statements tells where the server's time goes, row by row.
    const server = await startScratchPostgres({
      shared_preload_libraries: 'pg_stat_statements',
      'pg_stat_statements.track_planning': 'on',
    });
    stops.push(() => server.stop());
    const postmaster = postmasterPid(server.dataDir);
    progress('starting the gateway (it applies the migrations)');
    const gateway = await startGatewayProcess(server.url, settings.poolSize, { env: GATEWAY_ENV });
    stops.push(() => gateway.stop());
    const db = await BenchDatabase.connect(server.url);
    stops.push(() => db.close());
    await db.enableStatements();
    const report = await benchmark(settings, gateway, db, server.url, postmaster);
    process.stdout.write(`${report}\n`);
  } finally {
    killWorkers();
    for (const stop of stops.reverse())
      await stop().catch((error: unknown) => progress(`clean-up failed: ${String(error)}`));
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    if (interrupted) progress('interrupted; everything it started is stopped');
    else if (error instanceof UsageError) progress(error.message);
    else console.error(error);
    process.exit(interrupted ? 130 : 1);
  },
);
