// npm run bench
// How the gateway compares, in one run on one machine, with what the machine
// allows and with its peers (issue 19): beside its rows, the gateway's own
// floor ({ __typename }, no database), Apollo Server's startStandaloneServer
// on a trivial schema (the Apollo floor), PostGraphile v5's create mutation on
// the same database, and the same database work as raw SQL with no HTTP.
// Absolute numbers vary with the machine and its neighbours; the ratios,
// taken in the same run, are what the goals are about.
//
// Every party has a process of its own, so the CPU column of each is its own:
// a scratch embedded PostgreSQL, the gateway (built, then run as `npm start`
// runs it: `node dist/main.js`, which applies the migrations), the peers
// (scripts/bench/peers.ts: pinned in scripts/bench/peers/, installed on first
// use), and one load worker per row (autocannon over HTTP,
// scripts/bench/load.ts, or raw pg loops, scripts/bench/raw.ts). Each row
// warms up, then measures for a fixed time. Traffic goes to 127.0.0.1 only;
// every loop is bounded in time and every child is stopped at the end, on
// error and on Ctrl-C.
//
// The gateway runs open (AUTH_MODE=open): the unkeyed rows are callers
// without a credential, as before. One row sends a KIOSK API key with every
// request, which an open gateway still verifies, checks against the key's
// role and counts against the key's rate limit: the whole admission path. The
// limit (RATE_LIMIT_PER_CREDENTIAL) is set far above what a row sends, so it
// counts and never refuses. AUTH_MODE=open, not `auto`: in `auto` the key
// would close open access within seconds, and every later row would fail.
//
// After the rows, reads at scale (goal 3): one service's queue is filled to
// 1,000 waiting cases and another's to 1,000,000 (BENCH_LARGE_QUEUE), and
// scripts/bench/reads.ts times each read one request at a time on both.
//
// Last, memory (goal 4): the gateway's RSS idle before the rows, after the
// reads at scale, and after a mixed burst at 64 clients (BENCH_BURST_SECONDS)
// followed by a settle period, each beside V8's heap, external memory and
// malloc's heaps (scripts/bench/memory.ts).
//
// With BENCH_COMPARE_WORKERS=1, a second gateway with GATEWAY_WORKERS=2 is
// then started beside the first, on the same database, and the floor and the
// one-service enqueue rows run against each in turn, pair by pair
// (docs/performance.md, "Several gateway processes"). Its CPU is its
// primary's and its workers' together. Off by default: no goal needs it, and
// the run stays near seven and a half minutes without it.
//
// Environment:
//   BENCH_SECONDS         measured seconds per row (default 5)
//   BENCH_WARMUP_SECONDS  discarded warm-up seconds per row (default 1)
//   BENCH_POOL_SIZE       the gateway's DATABASE_POOL_SIZE, and the PostGraphile peer's pool (default 10)
//   BENCH_LARGE_QUEUE     waiting cases of the large queue of the reads at scale (default 1,000,000)
//   BENCH_BURST_SECONDS   length of the mixed burst before the last memory readings (default 60)
//   BENCH_COMPARE_WORKERS 1: end with the GATEWAY_WORKERS=2 against 1 rows (default 0)
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
import type { ReadsSettings } from './bench/reads.js';
import { kibAsMib, PeakWatch, type MemoryReading } from './bench/memory.js';
import { installPeers, peerVersion, startPeer, type PeerProcess } from './bench/peers.js';
import { runWorker } from './bench/run-worker.js';
import { readSettings, UsageError, type BenchSettings } from './bench/settings.js';
import {
  markdownTable,
  memoryTable,
  ratioLine,
  readsTable,
  statementTable,
  type ReadFigures,
  type RowFigures,
} from './bench/table.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const LOAD_WORKER = join(HERE, 'bench', 'load.ts');
const RAW_WORKER = join(HERE, 'bench', 'raw.ts');
const FAN_OUT_WORKER = join(HERE, 'bench', 'fan-out.ts');
const READS_WORKER = join(HERE, 'bench', 'reads.ts');

const CREATE_SERVICE = 'mutation($input: CreateServiceInput!) { createService(input: $input) { id } }';
const FLOOR_BODY = JSON.stringify({ query: '{ __typename }' });
const enqueueBody = (serviceId: number, fields: string) =>
  JSON.stringify({
    query: `mutation($input: CaseEnqueueInput!) { enqueueCase(input: $input) { ${fields} } }`,
    variables: { input: { serviceId, subject: 'bench' } },
  });
const CREATE_API_KEY = 'mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret } }';
const CREATE_WEBHOOK_ENDPOINT =
  'mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { endpoint { id } } }';
const DELETE_WEBHOOK_ENDPOINT = 'mutation($id: Int!) { deleteWebhookEndpoint(id: $id) { id } }';
const EVERY_WEBHOOK_EVENT = [
  'CASE_ENQUEUED',
  'CASE_CALLED',
  'CASE_RETURNED',
  'CASE_COMPLETED',
  'CASE_CANCELLED',
  'CASE_APPROACHING',
  'SERVICE_UPDATED',
];
const callNextBody = (serviceId: number, agent: string) =>
  JSON.stringify({
    query: 'mutation($input: CallNextInput!) { callNext(input: $input) { id ticket } }',
    variables: { input: { serviceIds: [serviceId], agent } },
  });
// The PostGraphile peer's table, in a schema of its own: it sees nothing of the gateway's.
const PEER_SCHEMA = 'peer_postgraphile';
// PostGraphile's create mutation for that table. Amber's `id` is a global
// Node id; `rowId` is the integer the gateway's `caseId` corresponds to.
const createCaseBody = (serviceId: number) =>
  JSON.stringify({
    query: 'mutation($input: CreateCaseInput!) { createCase(input: $input) { case { rowId } } }',
    variables: { input: { case: { serviceId, subject: 'bench' } } },
  });
const readBody = (query: string, variables: Record<string, unknown>) => JSON.stringify({ query, variables });

// The gateway's settings beyond the defaults: open access on purpose (see
// the header), and a per-credential limit (the most config.ts accepts, per
// 10 s window) that the keyed row counts against without ever reaching it.
// Every load client connects from 127.0.0.1 (the fan-out row holds 1,000 WebSockets): no per-address cap.
const GATEWAY_ENV = {
  AUTH_MODE: 'open',
  RATE_LIMIT_PER_CREDENTIAL: '10000000',
  HTTP_MAX_CONNECTIONS_PER_ADDRESS: '1024',
  // The webhook row measures what recording events costs an enqueue (the
  // outbox, in the enqueue's own statement), not a runner sending them on
  // the same two cores: another process would deliver.
  WEBHOOK_DELIVERY: 'off',
  WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
} as const;

const CLIENTS = [16, 64];
// The keyed enqueue row runs at this many clients only, beside the unkeyed one.
const KEYED_CLIENTS = 64;
const AGENTS = [8, 16];
// Claims per second a queue is filled for (several times what 2 cores do),
// for the whole row, warm-up included. Raw claims and callNext get queues of
// the same size; the error column shows a queue that ran dry all the same.
const CLAIMS_PER_SECOND = 15_000;
const FAILED_GRAPHQL = '"errors"';
const EMPTY_CALL = '"callNext":null';
// Fan-out: this many kiosks, each on a WebSocket of its own, follow their
// cases in one queue while an agent calls this many times.
const FAN_OUT_SUBSCRIBERS = 1_000;
const FAN_OUT_ROUNDS = 20;
// Reads at scale: the small queue, how many kiosks follow cases, and how
// each read is timed (sequential requests after a warm-up, at most so long).
const SMALL_QUEUE = 1_000;
const FOLLOWED_CASES = 1_000;
const SCREEN_FIRST = 20;
const READ_WARMUP_REQUESTS = 10;
const READ_REQUESTS = 200;
const READ_MAX_SECONDS = 8;
// Goal 3: each read grows at most this much from the small queue to the large one.
const READS_GROWTH_GOAL = 2;
// Memory: idle gateway waits this long before a reading (its idle collector
// runs GCs a few seconds after the load stops); goal 4's margin over idle.
const SETTLE_SECONDS = 20;
const MEMORY_MARGIN_MIB = 64;
const BURST_CLIENTS = 64;

const progress = (message: string) => process.stderr.write(`bench: ${message}\n`);
const sleep = (seconds: number) => new Promise((resolveWait) => setTimeout(resolveWait, seconds * 1000));

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
  const benchStarted = performance.now();
  const rows: RowFigures[] = [];
  const windowSeconds = settings.warmupSeconds + settings.seconds;
  const idleMemory = await gateway.memory();

  /**
   * `on`: the process whose CPU the row counts as the server's (the one the
   * load goes to: the gateway or a peer); `into`: the table the row goes in.
   */
  const measure = async (
    label: string,
    clients: number,
    worker: string,
    workerSettings: LoadSettings | RawSettings | FanOutSettings,
    { on = gateway, into = rows }: { on?: { readonly pid: number }; into?: RowFigures[] } = {},
  ): Promise<RowFigures> => {
    if (interrupted) throw new Error('interrupted');
    progress(`${label}, ${clients} clients`);
    let before: CpuSnapshot | undefined;
    let after: CpuSnapshot | undefined;
    let reset: Promise<void> = Promise.resolve();
    const rowSeconds =
      'seconds' in workerSettings ? workerSettings.seconds + workerSettings.warmupSeconds : windowSeconds;
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
      rowSeconds * 1000 + 60_000,
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
  const fills: string[] = [];
  const filledService = async (cases: number): Promise<number> => {
    const serviceId = await newService();
    const started = performance.now();
    await db.fillQueue(serviceId, cases);
    const took = `filled a queue with ${cases.toLocaleString('en-US')} waiting cases in ${((performance.now() - started) / 1000).toFixed(1)} s`;
    progress(took);
    fills.push(took);
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
    url = gateway.url,
  ): LoadSettings => ({
    url,
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
  /** Runs `use` with a peer started, and stops the peer after, whatever happens. */
  const withPeer = async (peer: Promise<PeerProcess>, use: (peer: PeerProcess) => Promise<void>) => {
    const started = await peer;
    try {
      await use(started);
    } finally {
      await started.stop();
    }
  };

  // A fresh service (and so an empty queue) for every row: no row inherits
  // the queue, index or counter state another row left behind. A gateway row
  // and its peer's run back to back, so that both see the same machine.
  const peakWatch = new PeakWatch(() => gateway.memory());
  const FLOOR = 'floor: { __typename }, no database';
  const APOLLO_FLOOR = "peer: Apollo Server's startStandaloneServer, { __typename }";
  const ENQUEUE_ONE = 'enqueueCase, one service';
  const POSTGRAPHILE_ONE = "peer: PostGraphile's createCase, one service";
  const ENQUEUE_KEYED = 'enqueueCase, one service, KIOSK API key';
  const ENQUEUE_WEBHOOK = 'enqueueCase, one service, a webhook endpoint on every event';
  const ENQUEUE_16 = 'enqueueCase, 16 services';
  const POSTGRAPHILE_16 = "peer: PostGraphile's createCase, 16 services";
  const RAW_CLAIM = 'raw SKIP LOCKED claim, no HTTP (clients = agents)';
  const CALL_NEXT = 'callNext, one full queue (clients = agents)';
  const KIOSK = 'kiosk: enqueueCase + ticket, position, wait';

  await withPeer(startPeer('apollo-floor', FLOOR_BODY), async (apollo) => {
    for (const clients of CLIENTS) {
      await measure(FLOOR, clients, LOAD_WORKER, http(clients, [FLOOR_BODY], 'rotate'));
      await measure(
        APOLLO_FLOOR,
        clients,
        LOAD_WORKER,
        http(clients, [FLOOR_BODY], 'rotate', undefined, undefined, apollo.url),
        {
          on: apollo,
        },
      );
    }
  });
  for (const clients of CLIENTS)
    await measure('raw INSERT, no HTTP', clients, RAW_WORKER, raw(clients, 'insert', await newService()));

  await db.createPeerTable(PEER_SCHEMA);
  await withPeer(
    startPeer('postgraphile', FLOOR_BODY, {
      DATABASE_URL: databaseUrl,
      PEER_SCHEMA,
      POOL_SIZE: String(settings.poolSize),
    }),
    async (postgraphile) => {
      const peerHttp = (clients: number, bodies: string[]) =>
        http(clients, bodies, 'rotate', undefined, undefined, postgraphile.url);
      const sixteen = Array.from({ length: 16 }, (_, k) => createCaseBody(k + 1));
      for (const clients of CLIENTS) {
        await measure(
          ENQUEUE_ONE,
          clients,
          LOAD_WORKER,
          http(clients, [enqueueBody(await newService(), 'caseId')], 'rotate'),
        );
        await measure(POSTGRAPHILE_ONE, clients, LOAD_WORKER, peerHttp(clients, [createCaseBody(1)]), {
          on: postgraphile,
        });
      }
      for (const clients of CLIENTS) {
        const bodies: string[] = [];
        for (let i = 0; i < 16; i++) bodies.push(enqueueBody(await newService(), 'caseId'));
        await measure(ENQUEUE_16, clients, LOAD_WORKER, http(clients, bodies, 'rotate'));
        await measure(POSTGRAPHILE_16, clients, LOAD_WORKER, peerHttp(clients, sixteen), { on: postgraphile });
      }
    },
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
  // Each right beside a plain one-service row of its own, at the same
  // number of clients, so that the ratio compares neighbours in time.
  for (const clients of CLIENTS) {
    const endpoint = await gateway.post<{ createWebhookEndpoint: { endpoint: { id: number } } }>(
      CREATE_WEBHOOK_ENDPOINT,
      { input: { url: 'http://127.0.0.1:9/bench', events: EVERY_WEBHOOK_EVENT } },
    );
    await measure(
      ENQUEUE_WEBHOOK,
      clients,
      LOAD_WORKER,
      http(clients, [enqueueBody(await newService(), 'caseId')], 'rotate'),
    );
    await gateway.post(DELETE_WEBHOOK_ENDPOINT, { id: endpoint.createWebhookEndpoint.endpoint.id });
    await measure(
      `${ENQUEUE_ONE}, beside the webhook row`,
      clients,
      LOAD_WORKER,
      http(clients, [enqueueBody(await newService(), 'caseId')], 'rotate'),
    );
  }
  for (const clients of CLIENTS) {
    await measure(
      KIOSK,
      clients,
      LOAD_WORKER,
      http(clients, [enqueueBody(await newService(), 'caseId ticket position estimatedWaitSeconds')], 'rotate'),
    );
  }
  const queueSize = Math.ceil(CLAIMS_PER_SECOND * windowSeconds);
  for (const agents of AGENTS) {
    const rawService = await filledService(queueSize);
    await measure(RAW_CLAIM, agents, RAW_WORKER, raw(agents, 'claim', rawService));
    await leftover(rawService);
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
  const rowsMinutes = (performance.now() - benchStarted) / 60_000;

  // Reads at scale (goal 3): both queues are filled first, so that both are
  // read with the same table, indexes and counters around them.
  progress('reads at scale: filling the queues');
  const scale = [
    { label: '1k', size: SMALL_QUEUE, serviceId: await filledService(SMALL_QUEUE) },
    {
      label: settings.largeQueue === 1_000_000 ? '1M' : `${settings.largeQueue / 1000}k`,
      size: settings.largeQueue,
      serviceId: await filledService(settings.largeQueue),
    },
  ];
  const readsAt: { label: string; reads: ReadFigures[] }[] = [];
  let smallMiddleCase = 0;
  for (const { label, size, serviceId } of scale) {
    const [firstCaseId = 0, middleCaseId = 0, lastCaseId = 0] = await db.waitingCaseIds(serviceId, [
      0,
      Math.floor(size / 2),
      size - 1,
    ]);
    if (size === SMALL_QUEUE) smallMiddleCase = middleCaseId;
    const followedCaseIds = await db.waitingCaseIds(
      serviceId,
      Array.from({ length: FOLLOWED_CASES }, (_, k) => Math.floor(((k + 1) * size) / FOLLOWED_CASES) - 1),
    );
    // Kiosks follow the cases they just printed: the 1,000 newest.
    const newestCaseIds = await db.waitingCaseIds(
      serviceId,
      Array.from({ length: FOLLOWED_CASES }, (_, k) => size - FOLLOWED_CASES + k),
    );
    progress(`reads at scale: ${label} waiting`);
    const readsSettings: ReadsSettings = {
      url: gateway.url,
      databaseUrl,
      serviceId,
      firstCaseId,
      middleCaseId,
      lastCaseId,
      followedCaseIds,
      newestCaseIds,
      screenFirst: SCREEN_FIRST,
      warmupRequests: READ_WARMUP_REQUESTS,
      requests: READ_REQUESTS,
      maxSeconds: READ_MAX_SECONDS,
    };
    const result = await runWorker(
      READS_WORKER,
      readsSettings,
      { onStart: () => undefined, onEnd: () => undefined },
      20 * 60_000,
    );
    readsAt.push({ label, reads: result.reads ?? [] });
  }
  progress(`memory: ${SETTLE_SECONDS} s idle after the reads`);
  await sleep(SETTLE_SECONDS);
  const afterReads = await gateway.memory();

  // Memory (goal 4): a mixed burst, enqueues beside reads of the small queue,
  // then the same settle period.
  const burstRows: RowFigures[] = [];
  const [small] = scale;
  const burstBodies = [
    enqueueBody(await newService(), 'caseId ticket position'),
    readBody('query($id: Int!) { case(id: $id) { position } }', { id: smallMiddleCase }),
    readBody('query($id: Int!) { service(id: $id) { statistics { waitingCount enqueuedToday } } }', {
      id: small?.serviceId,
    }),
    readBody(
      'query($id: Int!) { service(id: $id) { queue(first: 10) { totalCount edges { position node { id ticket } } } } }',
      {
        id: small?.serviceId,
      },
    ),
  ];
  await measure(
    `memory burst: enqueueCase + position, statistics, a page of 10 (${SMALL_QUEUE} waiting), ${settings.burstSeconds} s`,
    BURST_CLIENTS,
    LOAD_WORKER,
    { ...http(BURST_CLIENTS, burstBodies, 'rotate'), seconds: settings.burstSeconds, warmupSeconds: 0 },
    { into: burstRows },
  );
  const rightAfterBurst = await gateway.memory();
  progress(`memory: ${SETTLE_SECONDS} s idle after the burst`);
  await sleep(SETTLE_SECONDS);
  const afterBurst = await gateway.memory();
  const peakMemory = await peakWatch.stop();
  const memoryRows = [
    { when: 'idle, before the rows', reading: idleMemory },
    { when: 'peak during the run (1 s samples)', reading: peakMemory },
    { when: `after the reads at scale, then ${SETTLE_SECONDS} s idle`, reading: afterReads },
    { when: 'right after the burst', reading: rightAfterBurst },
    { when: `after the burst, then ${SETTLE_SECONDS} s idle`, reading: afterBurst },
  ];
  const highWater = afterBurst.resident?.peak;

  // GATEWAY_WORKERS=2 against 1 (BENCH_COMPARE_WORKERS=1): the floor and the
  // one-service enqueue, each pair back to back. The one-worker gateway is
  // measured again rather than its rows above, so that both of a pair see
  // the same machine and database.
  const workersRows: RowFigures[] = [];
  if (settings.compareWorkers) {
    progress('starting a gateway with GATEWAY_WORKERS=2 beside it');
    const twoWorkers = await startGatewayProcess(databaseUrl, settings.poolSize, {
      env: { ...GATEWAY_ENV, GATEWAY_WORKERS: '2' },
    });
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
  const [smallReads, largeReads] = readsAt;
  return [
    markdownTable(rows),
    '',
    'Goal 1, the floor (same run):',
    ...CLIENTS.map((clients) =>
      ratioLine(
        `floor ÷ Apollo floor, ${clients} clients`,
        ratio(row(FLOOR, clients), row(APOLLO_FLOOR, clients), rate),
        {
          atLeast: 1,
        },
      ),
    ),
    ...CLIENTS.map((clients) =>
      ratioLine(
        `floor p99 ÷ Apollo floor p99, ${clients} clients (lower is better)`,
        ratio(row(FLOOR, clients), row(APOLLO_FLOOR, clients), p99),
      ),
    ),
    '',
    'Goal 2, enqueue (same run):',
    ...[
      [ENQUEUE_ONE, POSTGRAPHILE_ONE, 'one service'],
      [ENQUEUE_16, POSTGRAPHILE_16, '16 services'],
    ].flatMap(([enqueue = '', peer = '', what = '']) =>
      CLIENTS.map((clients) =>
        ratioLine(
          `enqueueCase ÷ PostGraphile createCase, ${what}, ${clients} clients`,
          ratio(row(enqueue, clients), row(peer, clients), rate),
          { atLeast: clients === 16 ? 1.5 : 2 },
        ),
      ),
    ),
    ratioLine(
      'enqueueCase p99, one service, 16 clients ÷ floor p99',
      ratio(row(ENQUEUE_ONE, 16), row(FLOOR, 16), p99),
      { atMost: 3 },
    ),
    '',
    `Goal 3, reads at scale: one service's queue with ${scale.map((each) => each.size.toLocaleString('en-US')).join(' and ')} waiting cases ` +
      `(${READ_WARMUP_REQUESTS} warm-up requests, then ${READ_REQUESTS} one at a time or ${READ_MAX_SECONDS} s, whichever ends first; ` +
      'HTTP through the gateway, the live reads through its own code from a worker process):',
    '',
    smallReads && largeReads ? readsTable(smallReads, largeReads) : 'n/a',
    '',
    readsLine(smallReads, largeReads),
    ...fills.slice(-2).map((fill) => `- ${fill}`),
    '',
    'Goal 4, memory (the gateway process; readings below):',
    memoryLine(idleMemory, [
      ['after the reads at scale', afterReads],
      [`after a ${settings.burstSeconds} s burst at ${BURST_CLIENTS} clients`, afterBurst],
    ]),
    '',
    'Other ratios (same run):',
    ratioLine('callNext, 8 agents ÷ raw claim, 8 connections', ratio(row(CALL_NEXT, 8), row(RAW_CLAIM, 8), rate), {
      atLeast: 0.8,
    }),
    ratioLine('callNext, 16 agents ÷ raw claim, 16 connections', ratio(row(CALL_NEXT, 16), row(RAW_CLAIM, 16), rate)),
    ...CLIENTS.map((clients) =>
      ratioLine(
        `enqueueCase, one service, ${clients} clients ÷ floor`,
        ratio(row(ENQUEUE_ONE, clients), row(FLOOR, clients), rate),
      ),
    ),
    ...CLIENTS.map((clients) =>
      ratioLine(
        `enqueueCase, 16 services, ${clients} clients ÷ floor`,
        ratio(row(ENQUEUE_16, clients), row(FLOOR, clients), rate),
      ),
    ),
    ratioLine(
      `enqueueCase with an API key ÷ without, ${KEYED_CLIENTS} clients`,
      ratio(row(ENQUEUE_KEYED, KEYED_CLIENTS), row(ENQUEUE_ONE, KEYED_CLIENTS), rate),
    ),
    ...CLIENTS.map((clients) =>
      ratioLine(`kiosk, ${clients} clients ÷ floor`, ratio(row(KIOSK, clients), row(FLOOR, clients), rate)),
    ),
    ...CLIENTS.map((clients) =>
      ratioLine(
        `enqueueCase with a webhook endpoint on every event ÷ without, ${clients} clients (issue 20: at least 0.90)`,
        ratio(row(ENQUEUE_WEBHOOK, clients), row(`${ENQUEUE_ONE}, beside the webhook row`, clients), rate),
      ),
    ),
    fanOutLine(row(FAN_OUT, FAN_OUT_SUBSCRIBERS), fanOutReads),
    '',
    'Where PostgreSQL spent its time in each row (pg_stat_statements, the two statements that took most):',
    '',
    statementTable([...rows, ...burstRows, ...workersRows].filter((each) => each.statements.length > 0)),
    '',
    'The memory burst (mixed requests, no warm-up):',
    '',
    markdownTable(burstRows),
    '',
    memoryTable(memoryRows),
    '',
    `Gateway RSS high-water mark (VmHWM, start-up included): ${kibAsMib(highWater)} MiB.`,
    '',
    ...(workersRows.length > 0
      ? [
          "GATEWAY_WORKERS=2 against 1 (each pair back to back; a gateway's CPU is its primary and workers together, " +
            'and each worker has pools of its own):',
          '',
          markdownTable(workersRows),
          '',
          ...[FLOOR, ENQUEUE_ONE].flatMap((label) => CLIENTS.map((clients) => workersRatio(label, clients))),
          '',
        ]
      : []),
    `Machine: ${nproc()} cores (nproc), Node.js ${process.version}, PostgreSQL ${facts.version} (embedded), fsync ${facts.fsync}, synchronous_commit ${facts.synchronousCommit}; ` +
      `gateway pool ${settings.poolSize} connections, ` +
      Object.entries(GATEWAY_ENV)
        .map(([name, value]) => `${name}=${value}`)
        .join(', ') +
      `; ${settings.seconds} s per row after ${settings.warmupSeconds} s of warm-up. ` +
      `Peers: @apollo/server ${peerVersion('@apollo/server') ?? '?'} (the project's), postgraphile ${peerVersion('postgraphile') ?? '?'} ` +
      `(scripts/bench/peers, Amber preset, pool ${settings.poolSize}). ` +
      'CPU % is of one core over the measured window; "server" is the process the load went to (the gateway, or the peer on ' +
      'the peers\' rows); "other" is the rest of the machine (kernel, anything else running). ' +
      `The rows took ${rowsMinutes.toFixed(1)} min, the whole run ${((performance.now() - benchStarted) / 60_000).toFixed(1)} min.`,
  ].join('\n');
}

/** Goal 3 in one line: the read that grew most, and whether every read stayed within the goal. */
function readsLine(
  small: { label: string; reads: ReadFigures[] } | undefined,
  large: { label: string; reads: ReadFigures[] } | undefined,
): string {
  if (!small || !large) return '- reads at scale: n/a';
  const growth = small.reads.map((read) => {
    const other = large.reads.find((each) => each.name === read.name);
    return { name: read.name, ratio: other ? other.p50Ms / read.p50Ms : Number.NaN };
  });
  const worst = growth.reduce((a, b) => (!(a.ratio >= b.ratio) ? b : a), { name: 'none', ratio: 0 });
  const met = growth.every((each) => each.ratio <= READS_GROWTH_GOAL);
  return (
    `- every read's median, ${large.label} ÷ ${small.label}: at most ${worst.ratio.toFixed(2)}× (${worst.name}) ` +
    `(goal ≤ ${READS_GROWTH_GOAL}× for each: ${met ? 'met' : 'not met'})`
  );
}

/** Goal 4 in one line: each reading's RSS against idle. */
function memoryLine(idle: MemoryReading, readings: [string, MemoryReading][]): string {
  const rss = (reading: MemoryReading) => (reading.resident ? reading.resident.rss / 1024 : Number.NaN);
  const parts = readings.map(([when, reading]) => {
    const over = rss(reading) - rss(idle);
    return `${when} and ${SETTLE_SECONDS} s idle ${rss(reading).toFixed(0)} MiB (${over >= 0 ? '+' : ''}${over.toFixed(0)})`;
  });
  const back = readings.every(([, reading]) => rss(reading) - rss(idle) <= MEMORY_MARGIN_MIB);
  return (
    `- RSS idle before the rows ${rss(idle).toFixed(0)} MiB; ${parts.join('; ')}. ` +
    `Back within ${MEMORY_MARGIN_MIB} MiB of idle: ${back ? 'yes' : 'no'} (goal: yes)`
  );
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
    // Before anything starts: a failed install then costs nothing to clean up.
    await installPeers(progress);
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
