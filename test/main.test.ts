// `npm start` as a person meets it, on real processes: a busy port is refused
// at once, before any PostgreSQL starts; readable lines (LOG_FORMAT=pretty,
// what a terminal gets) come with the banner, once, also from a primary and
// its workers; and a signal ends with a `stopped` line (one Ctrl-C, which
// npm start passes on as a second SIGINT, with no "still stopping" line).
import { existsSync } from 'node:fs';
import { once } from 'node:events';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { FIRST_KEY_COMMAND } from '../src/auth/auth-mode.js';
import { ServicesDocument } from '../src/generated/operations/graphql.js';
import { createTestDatabase, type TestDatabase } from './helpers/databases.js';
import { expectData, graphqlClient } from './helpers/graphql-client.js';
import {
  failingGatewayProcess,
  startGatewayProcess,
  stopAllGatewayProcesses,
  temporaryDataFolder,
  timeUntil,
} from './reliability/helpers/gateway-process.js';

const databases: TestDatabase[] = [];
const teardowns: (() => Promise<void>)[] = [];
const onTeardown = (step: () => Promise<void>): void => void teardowns.push(step);

afterAll(async () => {
  await stopAllGatewayProcesses();
  await Promise.all([...databases.map((database) => database.drop()), ...teardowns.map((step) => step())]);
});

async function database(): Promise<string> {
  const made = await createTestDatabase(inject('serverUrl'));
  databases.push(made);
  return made.url;
}

async function listening(port = 0): Promise<Server> {
  const server = createServer().listen(port, '127.0.0.1');
  await once(server, 'listening');
  return server;
}

/** A port that was free a moment ago. */
async function freePort(): Promise<number> {
  const server = await listening();
  const { port } = server.address() as AddressInfo;
  await new Promise((resolveClose) => server.close(resolveClose));
  return port;
}

/** A readable line: `[hh:mm:ss.mmm] LEVEL (pid): message`. */
const PRETTY_LINE = /^\[\d\d:\d\d:\d\d\.\d{3}\] [A-Z]+ \(\d+\): /;
const BANNER_END = 'Ctrl-C stops it.';

describe('a busy port', () => {
  it.each(['1', '2'])(
    'is refused at once, naming PORT, before the embedded PostgreSQL starts (GATEWAY_WORKERS=%s)',
    async (workers) => {
      const folder = await temporaryDataFolder();
      const taken = await listening();
      try {
        const { port } = taken.address() as AddressInfo;
        const started = performance.now();
        const failed = await failingGatewayProcess(
          { EMBEDDED_PG_DATA_DIR: folder.dataDir, PORT: String(port), GATEWAY_WORKERS: workers },
          30_000,
        );
        const tookMs = performance.now() - started;
        expect(failed.code, failed.output).toBe(1);
        expect(failed.output).toContain(
          `port ${port} is already in use on 127.0.0.1 (another gateway, or another program): stop it, or set PORT to a free port`,
        );
        // Nothing of the database: no line, no data folder, no password beside it.
        expect(failed.output).not.toContain('database:');
        expect(existsSync(folder.dataDir)).toBe(false);
        expect(existsSync(`${folder.dataDir}.password`)).toBe(false);
        // The process's own start (tsx compiling on 2 cores) is most of this; an embedded start and migrations would add seconds.
        expect(tookMs).toBeLessThan(15_000);
      } finally {
        taken.close();
        await folder.remove();
      }
    },
    60_000,
  );
});

describe('LOG_FORMAT=pretty (what a terminal gets)', () => {
  it('writes readable lines, the banner with the first key command as a shell takes it, and stopped', async () => {
    // As on a fresh clone: an embedded database, whose stop outlasts the echo of a Ctrl-C (below).
    const folder = await temporaryDataFolder();
    onTeardown(() => folder.remove());
    const gateway = await startGatewayProcess({ EMBEDDED_PG_DATA_DIR: folder.dataDir, LOG_FORMAT: 'pretty' });
    expect(await timeUntil(() => gateway.output().includes(BANNER_END), 5_000)).toBeDefined();
    const output = gateway.output();
    expect(output).toContain(
      [
        `  FIFO case gateway: ${gateway.url}`,
        '    open it in a browser for the explorer (GraphiQL)',
        '  auth: OPEN: no credentials needed, every caller is an administrator (no credentials configured, HOST=127.0.0.1 is loopback)',
        '    to require credentials, create the first admin key (in another terminal):',
        `    ${FIRST_KEY_COMMAND}`,
        `  ${BANNER_END}`,
      ].join('\n'),
    );
    expect(output).not.toContain('\\"first admin\\"');
    expectData(await graphqlClient(gateway.url)(ServicesDocument, {}));
    // One Ctrl-C under npm start: the terminal's SIGINT, and npm's copy of it a moment later.
    gateway.kill('SIGINT');
    await sleep(50);
    gateway.kill('SIGINT');
    const exit = await gateway.exited;
    expect(exit.code).toBe(0);
    await timeUntil(() => /\): stopped$/m.test(gateway.output()), 2_000);
    const lines = gateway.output().split('\n');
    expect(lines.filter((line) => line.startsWith('{'))).toEqual([]);
    expect(lines).toContainEqual(expect.stringMatching(/^\[[\d:.]+\] INFO \(\d+\): request \{"requestId":/));
    expect(lines).toContainEqual(expect.stringMatching(/^\[[\d:.]+\] INFO \(\d+\): SIGINT: stopping: no new requests/));
    expect(gateway.output()).not.toContain('still stopping');
    expect(lines).toContainEqual(
      expect.stringMatching(/INFO \(\d+\): database: embedded PostgreSQL \(pid \d+\) stopped/),
    );
    expect(lines.filter((line) => PRETTY_LINE.test(line)).at(-1)).toMatch(/INFO \(\d+\): stopped$/);
  }, 60_000);

  it('with GATEWAY_WORKERS=2 on a given port: the primary gives the port up, every process writes readable lines, one banner', async () => {
    const port = await freePort();
    const gateway = await startGatewayProcess({
      DATABASE_URL: await database(),
      LOG_FORMAT: 'pretty',
      GATEWAY_WORKERS: '2',
      PORT: String(port),
    });
    expect(gateway.url).toBe(`http://127.0.0.1:${port}/graphql`);
    expect(await timeUntil(() => gateway.output().includes(BANNER_END), 5_000)).toBeDefined();
    // The workers serve on the port the primary probed.
    const request = graphqlClient(gateway.url);
    for (let i = 0; i < 4; i++) expectData(await request(ServicesDocument, {}));
    const exit = await gateway.stop(45_000);
    expect(exit.code).toBe(0);
    await timeUntil(() => /\): stopped$/m.test(gateway.output()), 2_000);
    const output = gateway.output();
    expect(output.split(BANNER_END)).toHaveLength(2);
    expect(output).toContain(`  FIFO case gateway: ${gateway.url} (2 worker processes)\n`);
    const lines = output.split('\n');
    expect(lines.filter((line) => line.startsWith('{'))).toEqual([]);
    // A worker's lines name it; the primary's last line says it stopped.
    expect(lines).toContainEqual(expect.stringMatching(/^\[[\d:.]+\] INFO \(\d+\): request \{"worker":\d+,/));
    expect(lines.filter((line) => PRETTY_LINE.test(line)).at(-1)).toMatch(/INFO \(\d+\): stopped$/);
  }, 120_000);
});
