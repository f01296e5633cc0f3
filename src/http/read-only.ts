// Routes that only answer reads (probes, metrics): GET and HEAD.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { quote, sendError } from './respond.js';

const ALLOWED = 'GET, HEAD';

/** True for GET and HEAD; anything else is answered 405 with Allow here. */
export function readOnly(request: IncomingMessage, response: ServerResponse): boolean {
  if (request.method === 'GET' || request.method === 'HEAD') return true;
  sendError(
    response,
    405,
    'METHOD_NOT_ALLOWED',
    `${quote(request.method ?? 'this method')} is not allowed here; use ${ALLOWED}`,
    { allow: ALLOWED },
  );
  return false;
}
