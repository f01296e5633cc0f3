// GET and HEAD /health: 200 when the database answers within the deadline,
// 503 with Retry-After when it does not; for load balancers and orchestrators.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Database } from '../db/prisma-client.js';
import { singleFlight, within } from '../deadline.js';
import { RETRY_AFTER_SECONDS } from '../queue/error-codes.js';
import { sendJson } from './respond.js';

const ALLOWED = 'GET, HEAD';

export function healthRoute(db: Database, timeoutMs: number) {
  // At most one check in flight, shared by the probes that arrive meanwhile:
  // while the database hangs, probes cannot pile statements up in the pool.
  const check = singleFlight(() => db.$queryRaw`SELECT 1`);
  return async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('allow', ALLOWED);
      sendJson(response, 405, { error: `${request.method ?? 'this method'} is not allowed; use ${ALLOWED}` });
      return;
    }
    if (await within(check(), timeoutMs)) {
      sendJson(response, 200, { status: 'ok' });
      return;
    }
    response.setHeader('retry-after', String(RETRY_AFTER_SECONDS));
    sendJson(response, 503, { status: 'unavailable', reason: `the database did not answer within ${timeoutMs} ms` });
  };
}
