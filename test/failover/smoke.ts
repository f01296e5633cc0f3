// The cluster helper on its own, without a gateway: `npx tsx test/failover/smoke.ts`.
// Brings the cluster up, writes through whichever node is primary while it
// kills the primary, rejoins it and switches over, checks with SQL that no
// acknowledged row is missing and that writes land on the new primary, and
// tears everything down. Prints each step's time.
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { startFailoverCluster, type ClusterNode, type FailoverCluster } from './cluster.js';

/** One insert on the first node that takes it; undefined when none does. */
async function insertOnce(cluster: FailoverCluster, value: number): Promise<ClusterNode | undefined> {
  for (const node of cluster.nodes) {
    const client = new pg.Client({ connectionString: node.url, connectionTimeoutMillis: 1_000, query_timeout: 2_000 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      const [{ ok } = { ok: false }] = (
        await client.query<{ ok: boolean }>(
          `SELECT NOT pg_is_in_recovery() AND NOT current_setting('transaction_read_only')::bool AS ok`,
        )
      ).rows;
      if (!ok) continue;
      await client.query('INSERT INTO smoke (value) VALUES ($1)', [value]);
      return node;
    } catch {
      // The next node, or nothing this time.
    } finally {
      await client.end().catch(() => undefined);
    }
  }
  return undefined;
}

async function main(): Promise<void> {
  const cluster = await startFailoverCluster();
  try {
    console.log(`URL: ${cluster.url}\nformation URI: ${cluster.formationUri}`);
    const first = await cluster.waitForPrimary();
    await cluster.query(first, 'CREATE TABLE smoke (value int PRIMARY KEY)');
    const acknowledged: number[] = [];
    let next = 0;
    const writeUntil = async (node: ClusterNode, since: number): Promise<number> => {
      for (;;) {
        const value = next++;
        const on = await insertOnce(cluster, value);
        if (on) acknowledged.push(value);
        if (on?.name === node.name) return performance.now() - since;
        if (performance.now() - since > 60_000) throw new Error(`no write on ${node.name} within 60 s`);
        if (!on) await sleep(50);
      }
    };
    for (let round = 1; round <= 2; round++) {
      const kill = await cluster.killPrimary();
      const survivor = cluster.nodes.find((node) => node !== kill.node)!;
      const resumed = await writeUntil(survivor, kill.at);
      console.log(`round ${round}: first write on ${survivor.name} ${Math.round(resumed)} ms after the kill`);
      await cluster.rejoin(kill.node);
    }
    const switched = await cluster.switchover();
    const resumed = await writeUntil(switched.to, switched.at);
    console.log(`switchover: first write on ${switched.to.name} ${Math.round(resumed)} ms after the command started`);
    const primary = await cluster.waitForPrimary();
    const rows = await cluster.query<{ value: number }>(primary, 'SELECT value FROM smoke');
    const stored = new Set(rows.map((row) => row.value));
    const lost = acknowledged.filter((value) => !stored.has(value));
    console.log(`${acknowledged.length} acknowledged, ${rows.length} stored, lost: ${lost.length}`);
    if (lost.length > 0) throw new Error(`lost ${lost.join(', ')}`);
    console.log(JSON.stringify(await cluster.state()));
  } finally {
    await cluster.stop();
  }
}

await main();
