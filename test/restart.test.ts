// The gateway with no DATABASE_URL: it starts its own PostgreSQL on a data
// folder, and what it stored is there again after a restart.
import { chmod, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { startGateway } from '../src/gateway.js';
import { silentLogger } from '../src/log.js';
import { CreateServiceDocument, EnqueueCaseDocument, ServicesDocument } from '../src/generated/operations/graphql.js';
import { expectData, graphqlClient } from './helpers/graphql-client.js';

const folders: string[] = [];

afterAll(async () => {
  await Promise.all(folders.map((folder) => rm(folder, { recursive: true, force: true })));
});

async function embeddedConfig() {
  const folder = await mkdtemp(join(tmpdir(), 'gateway-restart-'));
  await chmod(folder, 0o755);
  folders.push(folder);
  // Exactly what `npm start` sees on a fresh clone, but for the data folder's place.
  return loadConfig({ PORT: '0', EMBEDDED_PG_DATA_DIR: join(folder, 'postgres') });
}

interface CaseRow {
  readonly id: number;
  readonly subject: string | null;
  readonly status: string;
}

async function caseRow(databaseUrl: string, id: number): Promise<CaseRow | undefined> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return (await client.query<CaseRow>('SELECT id, subject, status FROM cases WHERE id = $1', [id])).rows[0];
  } finally {
    await client.end();
  }
}

describe('embedded PostgreSQL across a restart', () => {
  it('keeps services and cases in the data folder', async () => {
    const config = await embeddedConfig();
    const first = await startGateway(config, silentLogger);
    let caseId: number;
    try {
      const request = graphqlClient(first.url);
      const { createService } = expectData(
        await request(CreateServiceDocument, { input: { name: 'Survivor', extRef: 'SURV' } }),
      );
      caseId = expectData(
        await request(EnqueueCaseDocument, { input: { serviceIdExtRef: 'SURV', subject: 'still here?' } }),
      ).enqueueCase.caseId;
      expect(createService.id).toBeGreaterThan(0);
    } finally {
      await first.stop();
    }
    expect((await stat(join(config.embedded.dataDir, 'PG_VERSION'))).isFile()).toBe(true);

    const second = await startGateway(config, silentLogger);
    try {
      const { services } = expectData(await graphqlClient(second.url)(ServicesDocument, {}));
      expect(services.map((service) => service.extRef)).toEqual(['SURV']);
      expect(await caseRow(second.databaseUrl, caseId)).toEqual({
        id: caseId,
        subject: 'still here?',
        status: 'WAITING',
      });
    } finally {
      await second.stop();
    }
  });
});
