// The kiosk as a command: takes a ticket for a service, then prints where it
// stands until it is called.
//
//   npx tsx examples/kiosk/src/main.ts --url http://127.0.0.1:4000/graphql --service ENR
//
// --service takes the service's external reference (ENR, the README's
// example service) or its id (digits only, e.g. --service 1).
//
// A gateway that requires credentials wants a kiosk key: in the environment
// (KIOSK_API_KEY), where shell history and `ps` do not show it, or --key.
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { announce, enqueueCase, followCase, KioskError, type ServiceName } from './index.js';

const USAGE = `usage: [KIOSK_API_KEY=<key>] npx tsx examples/kiosk/src/main.ts [--url http://127.0.0.1:4000/graphql] --service <extRef or id> [--key <key>]

  --service       the service's external reference (e.g. ENR), or its id (digits only)

  KIOSK_API_KEY   the kiosk's API key (npm run keys -- create --role KIOSK --name "hall kiosk"),
                  for a gateway that requires credentials; --key overrides it, but a key on the
                  command line is kept in shell history and shown by ps`;

/** What to do when a key is missing or refused: where the command takes one. */
const KEY_HINT = 'give the kiosk key in KIOSK_API_KEY (or --key)';

interface Options {
  readonly url: string;
  readonly service: ServiceName;
  readonly apiKey: string | undefined;
}

/** Exit codes: 0 called or closed, 1 the gateway failed or refused, 2 bad arguments. */
async function main(args: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  let options: Options;
  try {
    options = parseOptions(args, env);
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
    return 2;
  }
  const { url, apiKey } = options;
  try {
    const ticket = await enqueueCase(url, { ...options.service, idempotencyKey: randomUUID() }, { apiKey });
    console.log(`Your ticket is ${ticket.ticket}.`);
    let last = '';
    for await (const update of followCase(url, ticket.caseId, { receipt: ticket.receipt, apiKey })) {
      // Updates that change nothing the person sees (an estimate moving by seconds) print nothing.
      const line = `${update.ticket}: ${announce(update)}`;
      if (line !== last) console.log(line);
      last = line;
    }
    return 0;
  } catch (error) {
    if (!(error instanceof KioskError)) throw error;
    const hint = error.code === 'UNAUTHENTICATED' || error.code === 'BAD_KEY' ? `: ${KEY_HINT}` : '';
    const codes = `${error.code}${error.gatewayCode === undefined || error.gatewayCode === error.code ? '' : ` ${error.gatewayCode}`}`;
    console.error(`${error.message}${hint} [${codes}]`);
    return 1;
  }
}

function parseOptions(args: readonly string[], env: NodeJS.ProcessEnv): Options {
  const { values } = parseArgs({
    args: [...args],
    options: {
      url: { type: 'string', default: 'http://127.0.0.1:4000/graphql' },
      service: { type: 'string' },
      key: { type: 'string' },
    },
  });
  const named = values.service?.trim() ?? '';
  if (named === '') throw new Error('--service must name a service: its external reference (ENR) or its id (1)');
  // Digits alone are an id (the older form, --service 1); anything else is an external reference.
  const service: ServiceName = /^\d+$/.test(named) ? { serviceId: Number(named) } : { serviceExtRef: named };
  if ('serviceId' in service && (!Number.isSafeInteger(service.serviceId) || service.serviceId < 1))
    throw new Error('--service: an id must be a positive integer');
  // A blank variable (KIOSK_API_KEY= in a unit file) means no key, as an absent one does.
  return { url: values.url, service, apiKey: values.key ?? env['KIOSK_API_KEY'] };
}

process.exitCode = await main(process.argv.slice(2), process.env);
