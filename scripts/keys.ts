// npm run keys -- <command>: API keys of devices and integrations, for an
// operator at the gateway's machine (the first admin key has to come from
// somewhere). The same store and rules as the createApiKey, rotateApiKey and
// revokeApiKey mutations; the audit log records the actor `script`.
//
// The database is the gateway's: DATABASE_URL's, or the embedded one in
// EMBEDDED_PG_DATA_DIR. When no gateway runs on that folder, the script starts
// the embedded server itself, as the gateway does (migrations included), and
// stops it at the end; when one does, a second server cannot start on the
// folder, so the script connects to the running one (its port is in
// postmaster.pid, its password beside the folder).
import { readFile, realpath } from 'node:fs/promises';
import { platform } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { API_KEY_LIMITS, type CreateApiKeyRequest } from '../src/auth/api-key-rules.js';
import { createApiKeyStore, type ApiKeyStore } from '../src/auth/api-keys.js';
import { loadConfig, type Config } from '../src/config.js';
import { openDatabaseServer } from '../src/db/database-server.js';
import { DataFolderInUseError } from '../src/db/data-folder-lock.js';
import { inspectDataDir, readPostmasterPid } from '../src/db/orphan-postgres.js';
import { createDatabaseClient, type Database } from '../src/db/prisma-client.js';
import type { ApiKey } from '../src/generated/prisma/client.js';
import type { Logger } from '../src/log.js';
import type { Actor } from '../src/queue/actor.js';
import { GatewayError } from '../src/queue/errors.js';

const USAGE = `usage: npm run keys -- <command>

  create --name <name> --role <KIOSK|SCREEN|AGENT|ADMIN> [--services <id>,<id>,...]
                  a new key; prints its secret, this once
  list            every key, newest first (no secrets)
  rotate <id>     a new secret for the key; the old one stops working
  revoke <id>     the key stops working, for good

The database is DATABASE_URL's, or the embedded one in EMBEDDED_PG_DATA_DIR
(.data/postgres), whether or not the gateway is running on it.
Exit codes: 0 done, 1 refused (a rule of the input, an unknown id),
2 bad arguments, 3 the database could not be opened or something else failed.`;

const ACTOR: Actor = { id: 'script', agent: null, services: null };
const EXIT = { done: 0, refused: 1, usage: 2, failed: 3 } as const;
const INT4_MAX = 2_147_483_647;
// The embedded server's superuser and database (src/db/embedded-postgres.ts).
const EMBEDDED_USER = 'postgres';
const EMBEDDED_DATABASE = 'postgres';

class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The database cannot be reached the way the script was asked to. */
class DatabaseOpenError extends Error {
  override readonly name = 'DatabaseOpenError';
}

type Command =
  | { readonly kind: 'help' }
  | { readonly kind: 'create'; readonly request: CreateApiKeyRequest }
  | { readonly kind: 'list' }
  | { readonly kind: 'rotate' | 'revoke'; readonly id: string };

function serviceIds(text: string): number[] {
  const parts = text.split(',').map((part) => part.trim());
  if (parts.some((part) => !/^\d{1,10}$/.test(part) || Number(part) < 1 || Number(part) > INT4_MAX))
    throw new UsageError(
      `--services: expected service ids separated by commas, such as 1,2 (got ${JSON.stringify(text)})`,
    );
  return parts.map(Number);
}

function parseCommand(args: readonly string[]): Command {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      options: {
        name: { type: 'string' },
        role: { type: 'string' },
        services: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const { values, positionals } = parsed;
  const [command, ...rest] = positionals;
  if (values.help || command === 'help') return { kind: 'help' };
  const given = Object.keys(values).map((option) => `--${option}`);
  const noOptions = (): void => {
    if (given.length > 0) throw new UsageError(`${command} takes no options (got ${given.join(', ')})`);
  };
  switch (command) {
    case undefined:
      throw new UsageError('a command is needed');
    case 'create': {
      if (rest.length > 0)
        throw new UsageError(`create takes no arguments besides its options (got ${rest.join(' ')})`);
      if (values.name === undefined) throw new UsageError('create needs --name <name>');
      if (values.role === undefined) throw new UsageError('create needs --role <KIOSK|SCREEN|AGENT|ADMIN>');
      return {
        kind: 'create',
        request: {
          name: values.name,
          role: values.role.toUpperCase(),
          serviceIds: values.services === undefined ? null : serviceIds(values.services),
        },
      };
    }
    case 'list':
      noOptions();
      if (rest.length > 0) throw new UsageError(`list takes no arguments (got ${rest.join(' ')})`);
      return { kind: 'list' };
    case 'rotate':
    case 'revoke': {
      noOptions();
      const [id, ...more] = rest;
      if (id === undefined || more.length > 0) throw new UsageError(`${command} takes one key id`);
      return { kind: command, id };
    }
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  }
}

/** Where the script says which database it uses: stderr, so stdout holds only the answer. */
const stderrLog: Logger = {
  info: (message) => void process.stderr.write(`${message}\n`),
  warn: (message) => void process.stderr.write(`${message}\n`),
  error: (message) => void process.stderr.write(`${message}\n`),
};

/** The embedded server running on `dataDir`, as its postmaster.pid says; undefined when none is. */
async function serverOn(dataDir: string): Promise<{ folder: string; pid: number; port: number } | undefined> {
  const folder = await realpath(resolve(dataDir)).catch(() => undefined);
  if (folder === undefined) return undefined;
  const state = await inspectDataDir(folder);
  // `unknown`: a live process holds the pid on a system without /proc (macOS).
  const port =
    state.kind === 'running'
      ? state.port
      : state.kind === 'unknown'
        ? (await readPostmasterPid(folder))?.port
        : undefined;
  return port === undefined || state.kind === 'none' ? undefined : { folder, pid: state.pid, port };
}

/** The URL of the embedded server a running gateway started on `dataDir`. */
async function runningServerUrl(dataDir: string): Promise<string> {
  const server = await serverOn(dataDir);
  if (server === undefined)
    throw new DatabaseOpenError(
      `a gateway holds the data folder ${dataDir} but its PostgreSQL server is not running yet; try again in a moment`,
    );
  const passwordFile = `${resolve(dataDir)}.password`;
  const password = await readFile(passwordFile, 'utf8').catch(() => {
    throw new DatabaseOpenError(`cannot read ${passwordFile}, the password of the embedded database`);
  });
  stderrLog.info(
    `database: the running gateway's embedded PostgreSQL (PostgreSQL pid ${server.pid}) on 127.0.0.1:${server.port}, data in ${server.folder}`,
  );
  return `postgresql://${EMBEDDED_USER}:${encodeURIComponent(password.trim())}@127.0.0.1:${server.port}/${EMBEDDED_DATABASE}`;
}

interface OpenedDatabase {
  readonly db: Database;
  close(): Promise<void>;
}

async function openDatabase(config: Config): Promise<OpenedDatabase> {
  let url: string;
  let stopServer = (): Promise<void> => Promise.resolve();
  // Elsewhere than Linux the data folder has no lock (data-folder-lock.ts):
  // a server found on it is taken to be the running gateway's.
  const unlocked = platform() !== 'linux' && !config.databaseUrl;
  if (unlocked && (await serverOn(config.embedded.dataDir)) !== undefined) {
    url = await runningServerUrl(config.embedded.dataDir);
  } else {
    try {
      const server = await openDatabaseServer(config, stderrLog);
      url = server.url;
      stopServer = () => server.stop();
    } catch (error) {
      // Linux: the data folder's lock is held, so a gateway runs on it.
      if (!(error instanceof DataFolderInUseError)) throw error;
      url = await runningServerUrl(config.embedded.dataDir);
    }
  }
  const db = createDatabaseClient(url, 2, { timeouts: config.timeouts });
  return {
    db,
    async close() {
      await db.$disconnect();
      await stopServer();
    },
  };
}

const minute = (time: Date | null): string =>
  time === null ? '-' : `${time.toISOString().slice(0, 16).replace('T', ' ')}Z`;
const services = (key: ApiKey): string => (key.serviceIds.length === 0 ? 'all' : key.serviceIds.join(','));
const described = (key: ApiKey): string =>
  `${key.id} (${JSON.stringify(key.name)}, ${key.role}, ${key.serviceIds.length === 0 ? 'every service' : `services ${key.serviceIds.join(', ')}`})`;

/** Columns padded to their widest cell; the last (the name, free text) is left as it is. */
function table(rows: readonly (readonly string[])[]): string {
  const widths = rows.reduce<number[]>(
    (most, row) => row.map((cell, index) => Math.max(most[index] ?? 0, cell.length)),
    [],
  );
  return rows
    .map((row) =>
      row.map((cell, index) => (index === row.length - 1 ? cell : cell.padEnd(widths[index] ?? 0))).join('  '),
    )
    .join('\n');
}

async function everyKey(keys: ApiKeyStore): Promise<ApiKey[]> {
  const all: ApiKey[] = [];
  for (let after: string | null = null; ;) {
    const page = await keys.list({ first: API_KEY_LIMITS.page, after }, ACTOR);
    all.push(...page);
    const last = page.at(-1);
    if (page.length < API_KEY_LIMITS.page || last === undefined) return all;
    after = last.id;
  }
}

function printSecret(secret: string): void {
  console.log(`\nIts secret, shown this once (the gateway keeps only a hash of it):\n\n    ${secret}\n`);
  console.log('The device or integration sends it with every request, as the header');
  console.log('    Authorization: Bearer <secret>');
}

async function run(command: Exclude<Command, { kind: 'help' }>, keys: ApiKeyStore, cacheMs: number): Promise<void> {
  // The script's environment may not be the gateway's: its value is a hint.
  const cache = `AUTH_KEY_CACHE_MS (${cacheMs} ms in this environment)`;
  switch (command.kind) {
    case 'create': {
      const { key, secret } = await keys.create(command.request, ACTOR);
      console.log(`Created API key ${described(key)}.`);
      printSecret(secret);
      return;
    }
    case 'list': {
      const all = await everyKey(keys);
      if (all.length === 0) {
        console.log('No API keys. Create one with: npm run keys -- create --name <name> --role ADMIN');
        return;
      }
      const header = ['ID', 'ROLE', 'SERVICES', 'STATUS', 'CREATED', 'BY', 'ROTATED', 'LAST USED', 'NAME'];
      const rows = all.map((key) => [
        key.id,
        key.role,
        services(key),
        key.revokedAt === null ? 'active' : `revoked ${minute(key.revokedAt)}`,
        minute(key.createdAt),
        key.createdBy,
        minute(key.rotatedAt),
        minute(key.lastUsedAt),
        key.name,
      ]);
      console.log(table([header, ...rows]));
      return;
    }
    case 'rotate': {
      const { key, secret } = await keys.rotate(command.id, ACTOR);
      console.log(`Rotated API key ${described(key)}.`);
      console.log(
        `Running gateways refuse its old secret and close the WebSockets opened with it within a second (within ${cache} if one was cut off from the database meanwhile), and take the new one within a second.`,
      );
      printSecret(secret);
      return;
    }
    case 'revoke': {
      const before = await keys.find(command.id);
      const key = await keys.revoke(command.id, ACTOR);
      if (before?.revokedAt != null) {
        console.log(`API key ${described(key)} was already revoked on ${minute(key.revokedAt)}: nothing changed.`);
        return;
      }
      console.log(`Revoked API key ${described(key)}.`);
      console.log(
        `Running gateways refuse it and close the WebSockets opened with it within a second (within ${cache} if one was cut off from the database meanwhile).`,
      );
      return;
    }
  }
}

async function main(args: readonly string[]): Promise<number> {
  const command = parseCommand(args);
  if (command.kind === 'help') {
    console.log(USAGE);
    return EXIT.done;
  }
  const config = loadConfig();
  const opened = await openDatabase(config);
  try {
    await run(command, createApiKeyStore(opened.db, { cacheMs: 0 }), config.auth.keyCacheMs);
    return EXIT.done;
  } finally {
    await opened.close();
  }
}

/** Runs the command; reports what went wrong on stderr and answers the exit code. */
async function exitCodeOf(args: readonly string[]): Promise<number> {
  try {
    return await main(args);
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`keys: ${error.message}\n\n${USAGE}`);
      return EXIT.usage;
    }
    if (error instanceof GatewayError) {
      console.error(`keys: refused (${error.code}):`);
      for (const issue of error.issues) console.error(`  ${issue.field}: ${issue.message} [${issue.rule}]`);
      return EXIT.refused;
    }
    // An operator's tool: the message is for the person running it (a connection refused, a config problem).
    console.error(`keys: failed: ${error instanceof Error ? error.message : String(error)}`);
    return EXIT.failed;
  }
}

// Exits once the output is written, without waiting for the event loop to
// empty: applying migrations (Prisma's schema engine) leaves a timer behind
// that would keep the process alive for some 10 s more.
const code = await exitCodeOf(process.argv.slice(2));
await Promise.all(
  [process.stdout, process.stderr].map((stream) => new Promise<void>((written) => stream.write('', () => written()))),
);
process.exit(code);
