// The Apollo floor peer: Apollo Server's own startStandaloneServer with a
// trivial schema and every default, in a process of its own (so the CPU
// column is its own). The bench sends it `{ __typename }`, as it sends the
// gateway's floor row. @apollo/server comes from the project's own
// dependencies (the version the gateway runs on). Started by peers.ts, which
// transpiles this file and runs it with plain node: no TypeScript loader.
//   PORT  the port to listen on, on 127.0.0.1
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';

const server = new ApolloServer({
  typeDefs: 'type Query { hello: String }',
  resolvers: { Query: { hello: () => 'world' } },
});
const { url } = await startStandaloneServer(server, {
  listen: { port: Number(process.env.PORT), host: '127.0.0.1' },
});
process.stderr.write(`apollo floor peer: ${url}\n`);
process.once('SIGTERM', () => {
  server.stop().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
