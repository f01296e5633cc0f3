// GET /health: 200 when the database answers, 503 when it does not; for load
// balancers and orchestrators.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Database } from '../db/prisma-client.js';
import { sendJson } from './respond.js';

export function healthRoute(db: Database, _timeoutMs: number) {
  return async (_request: IncomingMessage, response: ServerResponse): Promise<void> => {
    try {
      await db.$queryRaw`SELECT 1`;
      sendJson(response, 200, { status: 'ok' });
    } catch {
      sendJson(response, 503, { status: 'unavailable', reason: 'database did not answer' });
    }
  };
}
