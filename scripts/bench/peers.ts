// The peers the gateway is compared with (issue 19): Apollo Server's own
// startStandaloneServer on a trivial schema (the floor any Apollo-based server
// starts from) and PostGraphile v5 on the same scratch database (a create
// mutation). Each runs in a process of its own on 127.0.0.1, as the gateway
// does, so that the CPU columns are theirs, and is stopped by the bench.
//
// PostGraphile is pinned in scripts/bench/peers/package.json and
// package-lock.json (exact versions, like scripts/postgres-versions) and
// installed here, with `npm ci --ignore-scripts`, when missing or older than
// the lock file. @apollo/server is the project's own dependency.
//
// The peers' sources (peers/*.ts) are transpiled to JavaScript under
// peers/node_modules/.bench/ and run with plain node, like the gateway's
// compiled build: no TypeScript loader in any measured process. From there
// node finds the peers' packages first, then the project's.
import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import ts from 'typescript';
import { PROJECT_ROOT } from '../../src/config.js';
import { freePort } from '../../src/db/embedded-postgres.js';
import { supervise, track } from './children.js';

export const PEERS_DIR = join(PROJECT_ROOT, 'scripts', 'bench', 'peers');
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 10_000;

export interface PeerProcess {
  readonly name: string;
  readonly pid: number;
  /** Its GraphQL endpoint, on 127.0.0.1. */
  readonly url: string;
  /** SIGTERM, SIGKILL if it lingers. */
  stop(): Promise<void>;
}

/** The version of a package as the peers (or, failing that, the project) resolve it, or undefined. */
export function peerVersion(name: string): string | undefined {
  for (const root of [PEERS_DIR, PROJECT_ROOT]) {
    const manifest = join(root, 'node_modules', name, 'package.json');
    if (existsSync(manifest))
      return (JSON.parse(readFileSync(manifest, 'utf8')) as { version?: string }).version ?? undefined;
  }
  return undefined;
}

/**
 * Installs the pinned peers (`npm ci --ignore-scripts`: none of them needs an
 * install script) unless node_modules is already as new as the lock file.
 */
export async function installPeers(progress: (message: string) => void): Promise<void> {
  const lock = join(PEERS_DIR, 'package-lock.json');
  const installed = join(PEERS_DIR, 'node_modules', '.package-lock.json');
  if (existsSync(installed) && statSync(installed).mtimeMs >= statSync(lock).mtimeMs) return;
  progress('installing the pinned peers (npm ci --prefix scripts/bench/peers --ignore-scripts)');
  try {
    await promisify(execFile)(
      'npm',
      ['ci', '--prefix', PEERS_DIR, '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel', 'error'],
      { cwd: PROJECT_ROOT, maxBuffer: 16 * 1024 * 1024 },
    );
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    process.stderr.write(`${stdout}${stderr}`);
    throw new Error('installing the peers failed (npm ci --prefix scripts/bench/peers)', { cause: error });
  }
}

/** peers/<name>.ts as JavaScript under peers/node_modules/.bench/, where node resolves the peers' packages. */
async function compiled(name: string): Promise<string> {
  const { outputText } = ts.transpileModule(await readFile(join(PEERS_DIR, `${name}.ts`), 'utf8'), {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2023 },
  });
  const folder = join(PEERS_DIR, 'node_modules', '.bench');
  await mkdir(folder, { recursive: true });
  const file = join(folder, `${name}.mjs`);
  await writeFile(file, outputText);
  return file;
}

/**
 * Starts peers/<name>.ts with `env` (PORT is added) and waits until `probe`
 * (a GraphQL request body) is answered with data and no errors.
 */
export async function startPeer(
  name: string,
  probe: string,
  env: Readonly<Record<string, string>> = {},
): Promise<PeerProcess> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/graphql`;
  const script = await compiled(name);
  const child = track(
    spawn(process.execPath, [script], {
      cwd: PEERS_DIR,
      env: { ...process.env, ...env, PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
    'service',
  );
  const supervised = supervise(child, STOP_TIMEOUT_MS);
  const stop = supervised.stop;
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`the ${name} peer exited while starting:\n${supervised.output()}`);
    const last = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: probe,
      signal: AbortSignal.timeout(5_000),
    }).then(
      (response) => response.text(),
      (error: unknown) => String(error),
    );
    if (last.startsWith('{"data"') && !last.includes('"errors"')) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(
        `the ${name} peer did not answer within ${START_TIMEOUT_MS / 1000} s: ${last}\n${supervised.output()}`,
      );
    }
    await new Promise((resolveWait) => setTimeout(resolveWait, 200));
  }
  if (child.pid === undefined) throw new Error(`the ${name} peer has no PID`);
  return { name, pid: child.pid, url, stop };
}
