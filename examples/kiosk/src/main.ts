// The kiosk as a command: takes a ticket for a service, then prints where it
// stands until it is called.
//
//   npx tsx examples/kiosk/src/main.ts --url http://127.0.0.1:4000/graphql --service 1
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { announce, enqueueCase, followCase, KioskError } from './index.js';

const USAGE = 'usage: npx tsx examples/kiosk/src/main.ts [--url http://127.0.0.1:4000/graphql] --service <id>';

/** Exit codes: 0 called or closed, 1 the gateway failed or refused, 2 bad arguments. */
async function main(args: readonly string[]): Promise<number> {
  let options: { url: string; serviceId: number };
  try {
    options = parseOptions(args);
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
    return 2;
  }
  try {
    const ticket = await enqueueCase(options.url, { serviceId: options.serviceId, idempotencyKey: randomUUID() });
    console.log(`Your ticket is ${ticket.ticket}.`);
    let last = '';
    for await (const update of followCase(options.url, ticket.caseId)) {
      // Updates that change nothing the person sees (an estimate moving by seconds) print nothing.
      const line = `${update.ticket}: ${announce(update)}`;
      if (line !== last) console.log(line);
      last = line;
    }
    return 0;
  } catch (error) {
    if (!(error instanceof KioskError)) throw error;
    console.error(`${error.message} [${error.code}${error.gatewayCode === undefined ? '' : ` ${error.gatewayCode}`}]`);
    return 1;
  }
}

function parseOptions(args: readonly string[]): { url: string; serviceId: number } {
  const { values } = parseArgs({
    args: [...args],
    options: {
      url: { type: 'string', default: 'http://127.0.0.1:4000/graphql' },
      service: { type: 'string' },
    },
  });
  const serviceId = Number(values.service);
  if (values.service === undefined || !Number.isSafeInteger(serviceId) || serviceId < 1)
    throw new Error('--service must be a service id, a positive integer');
  return { url: values.url, serviceId };
}

process.exitCode = await main(process.argv.slice(2));
