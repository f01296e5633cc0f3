// The PostGraphile peer: PostGraphile v5 with the Amber preset, served by
// grafserv over node's http, on the bench's scratch database. It sees one
// schema only (PEER_SCHEMA), whose table the bench creates shaped like a
// minimal case, and the bench sends it the `createXxx` mutation PostGraphile
// makes for it. Its packages are pinned in this folder's package.json and
// package-lock.json and installed by the bench (peers.ts); they are loaded by
// name at run time, so the project typechecks without them.
//   PORT          the port to listen on, on 127.0.0.1
//   DATABASE_URL  the scratch database
//   PEER_SCHEMA   the only schema it exposes
//   POOL_SIZE     its pg pool's size (the gateway's DATABASE_POOL_SIZE)
import { createServer } from 'node:http';

interface Serv {
  addTo(server: ReturnType<typeof createServer>): Promise<void>;
}
interface PostGraphileInstance {
  createServ(grafserv: unknown): Serv;
  release(): Promise<void>;
}

// Names in variables: TypeScript does not look for modules imported this way.
const packages = {
  postgraphile: 'postgraphile',
  grafserv: 'postgraphile/grafserv/node',
  amber: 'postgraphile/presets/amber',
  pg: 'postgraphile/adaptors/pg',
};
const { postgraphile } = (await import(packages.postgraphile)) as {
  postgraphile: (preset: unknown) => PostGraphileInstance;
};
const { grafserv } = (await import(packages.grafserv)) as { grafserv: unknown };
const { PostGraphileAmberPreset } = (await import(packages.amber)) as { PostGraphileAmberPreset: unknown };
const { makePgService } = (await import(packages.pg)) as { makePgService: (options: unknown) => unknown };

const port = Number(process.env.PORT);
const instance = postgraphile({
  extends: [PostGraphileAmberPreset],
  pgServices: [
    makePgService({
      connectionString: process.env.DATABASE_URL,
      schemas: [process.env.PEER_SCHEMA ?? 'peer_postgraphile'],
      poolConfig: { max: Number(process.env.POOL_SIZE ?? 10) },
    }),
  ],
  grafserv: { port, host: '127.0.0.1', graphiql: false, watch: false, websockets: false },
  grafast: { explain: false },
});
const server = createServer();
server.on('error', (error) => {
  process.stderr.write(`postgraphile peer: ${String(error)}\n`);
  process.exit(1);
});
await instance.createServ(grafserv).addTo(server);
server.listen(port, '127.0.0.1', () => process.stderr.write(`postgraphile peer: http://127.0.0.1:${port}/graphql\n`));
process.once('SIGTERM', () => {
  server.close();
  instance.release().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
