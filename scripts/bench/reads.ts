// Reads worker (goal 3 of issue 19): the latency of the reads a queue's size
// could make dearer, each request sent alone (one at a time, after a
// warm-up), so that the median is the read's own cost and not a queue's.
//   - over HTTP through the gateway: a case's position (the first, middle and
//     last waiting case), the queue's totalCount, statistics' waitingCount,
//     the whole of statistics, a page of 10 with positions;
//   - the state read live subscribers cost per change, through the gateway's
//     own code (readServiceState, over the project's Prisma client, from this
//     process): a screen's queueChanged (the head of the queue and the
//     counts) and caseChanged for 1,000 followed cases: the 1,000 newest (kiosks
//     following the tickets they just printed) and 1,000 spread evenly over the
//     queue (phones following theirs), the last waiting case among both. Measuring it through
//     WebSockets would time the fan-out too; this is the statement one change
//     costs, whatever the number of subscribers.
// Each read runs `requests` times, or for `maxSeconds`, whichever ends first.
import { z } from 'zod';
import { createDatabaseClient } from '../../src/db/prisma-client.js';
import { readServiceState } from '../../src/queue/live-reads.js';
import { latency } from './stats.js';
import { measuredWindowClosed, readyAndWaitForGo, sendResultAndExit, workerSettings } from './protocol.js';

const settingsSchema = z.object({
  url: z.string(),
  databaseUrl: z.string(),
  serviceId: z.number().int(),
  /** The waiting cases at the head, the middle and the back of the queue. */
  firstCaseId: z.number().int(),
  middleCaseId: z.number().int(),
  lastCaseId: z.number().int(),
  /** Cases 1,000 phones follow: spread evenly over the queue, the last waiting case among them. */
  followedCaseIds: z.array(z.number().int()),
  /** The cases 1,000 kiosks follow: the 1,000 newest, the tickets they just printed. */
  newestCaseIds: z.array(z.number().int()),
  /** The screen's `first` (queueChanged's default). */
  screenFirst: z.number().int().min(0),
  warmupRequests: z.number().int().min(0),
  requests: z.number().int().min(1),
  maxSeconds: z.number().positive(),
});
export type ReadsSettings = z.infer<typeof settingsSchema>;

const STATISTICS =
  'waitingCount inServiceCount longestWaitSeconds averageWaitSeconds servedInWindow enqueuedToday closedToday autoClosedToday ' +
  'estimateAccuracy { estimatesRealised meanAbsoluteErrorSeconds withinRangeShare } windowMinutes';

interface Read {
  readonly name: string;
  /** One request; the number it answered (a position, a count), if any. */
  readonly once: () => Promise<number | null>;
}

async function main(): Promise<void> {
  const settings = workerSettings(settingsSchema);
  const graphql = async (query: string, variables: Record<string, unknown>): Promise<unknown> => {
    const response = await fetch(settings.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query, variables }),
      signal: AbortSignal.timeout(60_000),
    });
    const body = (await response.json()) as { data?: unknown; errors?: unknown };
    if (!response.ok || body.errors !== undefined || body.data === undefined)
      throw new Error(`${query}: HTTP ${response.status} ${JSON.stringify(body.errors ?? body)}`);
    return body.data;
  };
  const number = (value: unknown): number | null => (typeof value === 'number' ? value : null);
  const db = createDatabaseClient(settings.databaseUrl, 2);
  const casePosition = (name: string, id: number): Read => ({
    name,
    once: async () => {
      const data = (await graphql('query($id: Int!) { case(id: $id) { position } }', { id })) as {
        case: { position: number | null } | null;
      };
      return data.case?.position ?? null;
    },
  });
  const service = (name: string, selection: string, pick: (service: Record<string, unknown>) => unknown): Read => ({
    name,
    once: async () => {
      const data = (await graphql(`query($id: Int!) { service(id: $id) { ${selection} } }`, {
        id: settings.serviceId,
      })) as { service: Record<string, unknown> | null };
      return data.service ? number(pick(data.service)) : null;
    },
  });
  const field = (value: unknown, key: string): unknown =>
    typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
  const reads: Read[] = [
    casePosition('position of the first waiting case: case(id) { position }', settings.firstCaseId),
    casePosition('position of the middle waiting case', settings.middleCaseId),
    casePosition('position of the last waiting case', settings.lastCaseId),
    service('queue(first: 1) { totalCount }', 'queue(first: 1) { totalCount }', (s) => field(s.queue, 'totalCount')),
    service('statistics { waitingCount }', 'statistics { waitingCount }', (s) => field(s.statistics, 'waitingCount')),
    service('statistics, every field', `statistics { ${STATISTICS} }`, (s) => field(s.statistics, 'waitingCount')),
    service(
      'a page of 10: queue(first: 10) { edges { position node { id ticket } } }',
      'queue(first: 10) { edges { position node { id ticket } } pageInfo { hasNextPage endCursor } }',
      (s) => {
        const edges = field(s.queue, 'edges');
        return Array.isArray(edges) ? field(edges.at(-1), 'position') : null;
      },
    ),
    {
      name: `live: a screen's queueChanged state read (first: ${settings.screenFirst})`,
      once: async () =>
        (await readServiceState(db, settings.serviceId, settings.screenFirst, []))?.waitingCount ?? null,
    },
    ...(
      [
        [`the ${settings.newestCaseIds.length} newest cases`, settings.newestCaseIds],
        [`${settings.followedCaseIds.length} cases spread over the queue`, settings.followedCaseIds],
      ] as const
    ).map(([which, caseIds]) => ({
      name: `live: the state read behind caseChanged for ${which}`,
      once: async () => {
        const state = await readServiceState(db, settings.serviceId, 0, caseIds);
        // The last followed case's position: the ranking reached the back of the queue.
        return state?.cases.get(caseIds.at(-1) ?? -1)?.position ?? null;
      },
    })),
  ];

  await readyAndWaitForGo();
  const results = [];
  for (const read of reads) {
    for (let i = 0; i < settings.warmupRequests; i++) await read.once();
    const samples: number[] = [];
    let answer: number | null = null;
    const deadline = performance.now() + settings.maxSeconds * 1000;
    while (samples.length < settings.requests && (samples.length < 5 || performance.now() < deadline)) {
      const begin = performance.now();
      answer = await read.once();
      samples.push(performance.now() - begin);
    }
    results.push({ name: read.name, samples: samples.length, ...latency(samples), answer });
  }
  await measuredWindowClosed();
  await db.$disconnect();
  sendResultAndExit({ operations: 0, seconds: 0, p50Ms: 0, p99Ms: 0, errors: 0, cpuSeconds: 0, reads: results });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
