// npm run bench [-- <operations> <concurrency>]
// Throughput and latency through the whole gateway (HTTP, GraphQL,
// validation, Prisma, PostgreSQL) of enqueueCase and callNext, beside a raw
// INSERT baseline on the same server in the same run: compare the ratios,
// not the absolute numbers, on a shared machine. Traffic goes to 127.0.0.1
// only; the run is bounded.
import { performance } from 'node:perf_hooks';
import { print } from 'graphql';
import pg from 'pg';
import { loadConfig } from '../src/config.js';
import { startScratchPostgres } from '../src/db/scratch-postgres.js';
import { startGateway } from '../src/gateway.js';
import { CallNextDocument, CreateServiceDocument, EnqueueCaseDocument } from '../src/generated/operations/graphql.js';
import { silentLogger } from '../src/log.js';

const total = Number(process.argv[2] ?? 2000);
const concurrency = Number(process.argv[3] ?? 16);

interface Figures {
  readonly perSecond: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
}

async function measure(count: number, parallel: number, one: (index: number) => Promise<void>): Promise<Figures> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < count) {
        const index = next++;
        const begin = performance.now();
        await one(index);
        latencies.push(performance.now() - begin);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (quantile: number) => latencies[Math.min(latencies.length - 1, Math.floor(quantile * latencies.length))] ?? 0;
  return { perSecond: count / seconds, p50: at(0.5), p95: at(0.95), p99: at(0.99) };
}

const row = (name: string, figures: Figures) =>
  `${name.padEnd(44)} ${figures.perSecond.toFixed(0).padStart(7)}/s  p50 ${figures.p50.toFixed(1).padStart(6)} ms  p95 ${figures.p95.toFixed(1).padStart(6)} ms  p99 ${figures.p99.toFixed(1).padStart(6)} ms`;

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

async function main(): Promise<void> {
  const server = await startScratchPostgres();
  const gateway = await startGateway(loadConfig({ DATABASE_URL: server.url, PORT: '0', DATABASE_POOL_SIZE: String(concurrency) }), silentLogger);
  const raw = new pg.Pool({ connectionString: server.url, max: concurrency });
  try {
    const post = async (query: string, variables: unknown): Promise<unknown> => {
      const response = await fetch(gateway.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
      const body = (await response.json()) as { data?: unknown; errors?: unknown };
      if (body.errors) throw new Error(JSON.stringify(body.errors));
      return body.data;
    };
    const createService = async (name: string): Promise<number> =>
      ((await post(print(CreateServiceDocument), { input: { name, queueCode: 'B' } })) as { createService: { id: number } }).createService.id;
    const serviceId = await createService('Bench');
    const rawServiceId = await createService('Raw');
    const enqueueQuery = print(EnqueueCaseDocument);
    const enqueue = async (index: number) => {
      await post(enqueueQuery, { input: { serviceId, subject: `bench ${index}`, customProperties: [{ key: 'n', value: String(index) }] } });
    };
    // The same row an enqueue writes, less everything the gateway adds (no
    // lock, ticket counter, properties, history or validation).
    let rawTicket = 0;
    const insert = async (index: number) => {
      rawTicket += 1;
      await raw.query(`INSERT INTO cases (service_id, subject, ticket_day, ticket_number, ticket) VALUES ($1, $2, current_date, $3, $4)`, [
        rawServiceId,
        `raw ${index}`,
        rawTicket,
        `R${rawTicket}`,
      ]);
    };
    const callNextQuery = print(CallNextDocument);
    const callNext = async (index: number) => {
      const data = (await post(callNextQuery, { input: { serviceIds: [serviceId], agent: `agent-${index % concurrency}` } })) as { callNext: unknown };
      if (!data.callNext) throw new Error('the queue ran dry during the benchmark');
    };

    await measure(100, 4, enqueue); // warm-up: JIT, pools, plans
    const rssBefore = process.memoryUsage().rss;
    console.log(`${total} operations per line on one service, embedded PostgreSQL, this process is client and gateway\n`);
    const results: [string, Figures][] = [
      ['raw pg INSERT, 1 at a time', await measure(total, 1, insert)],
      [`raw pg INSERT, ${concurrency} concurrent`, await measure(total, concurrency, insert)],
      ['enqueueCase over HTTP, 1 at a time', await measure(total, 1, enqueue)],
      [`enqueueCase over HTTP, ${concurrency} concurrent`, await measure(total, concurrency, enqueue)],
      // The queue now holds the cases enqueued above, oldest first.
      ['callNext over HTTP, 1 agent', await measure(total, 1, callNext)],
      [`callNext over HTTP, ${concurrency} agents at once`, await measure(total, concurrency, callNext)],
    ];
    for (const [name, figures] of results) console.log(row(name, figures));
    const [, rawConcurrent, , enqueueConcurrent, , callConcurrent] = results;
    const ratio = (figures: [string, Figures] | undefined) => (figures![1].perSecond / rawConcurrent![1].perSecond).toFixed(2);
    console.log(`\nthroughput at ${concurrency} concurrent, relative to raw INSERT: enqueueCase ${ratio(enqueueConcurrent)}, callNext ${ratio(callConcurrent)}`);
    const memory = process.memoryUsage();
    console.log(`memory: rss ${mib(memory.rss)} (grew ${mib(memory.rss - rssBefore)} during the run), heap used ${mib(memory.heapUsed)}`);
  } finally {
    await raw.end();
    await gateway.stop();
    await server.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
