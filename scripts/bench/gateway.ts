// The gateway under test, in its own process exactly as `npm start` runs it
// (built, then the command of the start script), so its CPU and memory are
// its own and not the benchmark's.
import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import ts from 'typescript';
import { PROJECT_ROOT } from '../../src/config.js';
import { freePort } from '../../src/db/embedded-postgres.js';
import { supervise, track } from './children.js';
import { readMemory, type MemoryReading } from './memory.js';

const START_TIMEOUT_MS = 90_000;
const STOP_TIMEOUT_MS = 15_000;

export interface GatewayProcess {
  readonly pid: number;
  /** The GraphQL endpoint, on 127.0.0.1. */
  readonly url: string;
  /** One GraphQL request; throws on a transport or GraphQL error. */
  post<T>(query: string, variables?: Record<string, unknown>): Promise<T>;
  /** Its memory: /proc's view and its own (memory-report.ts); `collect` runs a full GC first if it can. */
  memory(collect?: boolean): Promise<MemoryReading>;
  /** SIGTERM (the gateway's clean shutdown), SIGKILL if it lingers. */
  stop(): Promise<void>;
}

export interface GatewayOptions {
  /** Options for node before the script (e.g. --expose-gc, --max-semi-space-size=16). */
  readonly nodeArgs?: readonly string[];
  /** Added to the environment (e.g. MALLOC_ARENA_MAX). */
  readonly env?: Readonly<Record<string, string>>;
}

/** Answers the parent's memory questions from inside the gateway, without touching its code. */
const MEMORY_REPORT = join(PROJECT_ROOT, 'scripts', 'bench', 'memory-report.ts');

/** The start script's command: the variables it sets, node's options and the script node runs. */
export interface StartCommand {
  readonly env: Readonly<Record<string, string>>;
  readonly nodeArgs: readonly string[];
  readonly script: string;
}

/**
 * Reads `npm start`'s last command (`[build &&] VAR=value exec node
 * [options] script`), so the gateway under test runs as `npm start` runs it.
 */
export function startCommand(start: string): StartCommand {
  const words = (start.split('&&').at(-1) ?? '').trim().split(/\s+/);
  const env: Record<string, string> = {};
  let word = words.shift();
  for (; word !== undefined && /^\w+=/.test(word); word = words.shift())
    env[word.slice(0, word.indexOf('='))] = word.slice(word.indexOf('=') + 1);
  if (word === 'exec') word = words.shift();
  const script = words.pop();
  if (word !== 'node' || script === undefined || script.startsWith('-'))
    throw new Error(`the start script does not end in "node [options] script": ${start}`);
  return { env, nodeArgs: words, script };
}

function packageStartScript(): string {
  const manifest = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as {
    scripts?: { start?: string };
  };
  return manifest.scripts?.start ?? '';
}

/** `npm run build`, as `npm start` runs it first; its output goes to stderr (stdout is the report's). */
async function build(): Promise<void> {
  try {
    await promisify(execFile)('npm', ['run', 'build', '--silent'], { cwd: PROJECT_ROOT });
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    process.stderr.write(`${stdout}${stderr}`);
    throw new Error('npm run build failed', { cause: error });
  }
}

/**
 * memory-report.ts as JavaScript in a temporary folder: the gateway runs
 * without tsx, whose loader would otherwise sit in every module lookup.
 */
async function memoryReportModule(): Promise<{ file: string; remove: () => Promise<void> }> {
  const { outputText } = ts.transpileModule(await readFile(MEMORY_REPORT, 'utf8'), {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2023 },
  });
  const folder = await mkdtemp(join(tmpdir(), 'fifo-bench-'));
  const file = join(folder, 'memory-report.mjs');
  await writeFile(file, outputText);
  return { file, remove: () => rm(folder, { recursive: true, force: true }) };
}

async function post<T>(url: string, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
    signal: AbortSignal.timeout(10_000),
  });
  const body = (await response.json()) as { data?: T; errors?: unknown };
  if (!response.ok || body.errors || body.data === undefined)
    throw new Error(`${response.status} ${JSON.stringify(body)}`);
  return body.data;
}

export async function startGatewayProcess(
  databaseUrl: string,
  poolSize: number,
  options: GatewayOptions = {},
): Promise<GatewayProcess> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/graphql`;
  const command = startCommand(packageStartScript());
  await build();
  const memoryReport = await memoryReportModule();
  const child = track(
    spawn(
      process.execPath,
      [...command.nodeArgs, ...(options.nodeArgs ?? []), '--import', memoryReport.file, command.script],
      {
        cwd: PROJECT_ROOT,
        env: {
          ...process.env,
          ...command.env,
          ...options.env,
          DATABASE_URL: databaseUrl,
          PORT: String(port),
          HOST: '127.0.0.1',
          DATABASE_POOL_SIZE: String(poolSize),
        },
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      },
    ),
    'service',
  );
  // Kept for the error message when the gateway does not come up.
  const supervised = supervise(child, STOP_TIMEOUT_MS);
  const stop = supervised.stop;

  const deadline = Date.now() + START_TIMEOUT_MS;
  try {
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null)
        throw new Error(`the gateway exited while starting:\n${supervised.output()}`);
      const ready = await post<{ __typename: string }>(url, '{ __typename }').then(
        () => true,
        () => false,
      );
      if (ready) break;
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`the gateway did not answer within ${START_TIMEOUT_MS / 1000} s:\n${supervised.output()}`);
      }
      await new Promise((resolveWait) => setTimeout(resolveWait, 200));
    }
  } finally {
    // Loaded by now (it is preloaded), or no longer needed.
    await memoryReport.remove();
  }
  if (child.pid === undefined) throw new Error('the gateway has no PID');
  return {
    pid: child.pid,
    url,
    post: (query, variables) => post(url, query, variables),
    memory: (collect = false) => readMemory(child, collect),
    stop,
  };
}
