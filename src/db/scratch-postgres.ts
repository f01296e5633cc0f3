// A throw-away embedded PostgreSQL in a temporary folder, for tests and
// developer scripts that need a server but must not touch real data.
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../config.js';
import { startEmbeddedPostgres, type RunningPostgres } from './embedded-postgres.js';

export async function startScratchPostgres(settings: Readonly<Record<string, string>> = {}): Promise<RunningPostgres> {
  const folder = await mkdtemp(join(tmpdir(), 'fifo-gateway-pg-'));
  // Reachable by the server's OS user when running as root.
  await chmod(folder, 0o755);
  const { embedded } = loadConfig();
  const server = await startEmbeddedPostgres({
    dataDir: join(folder, 'data'),
    osUser: embedded.osUser,
    stageDir: embedded.stageDir,
    settings,
  });
  return {
    ...server,
    async stop() {
      await server.stop();
      await rm(folder, { recursive: true, force: true });
    },
  };
}
