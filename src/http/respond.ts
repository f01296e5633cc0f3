// JSON answers for the HTTP edge, including the ones written straight to a
// socket when Node rejects a request before any route sees it.
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { ErrorCode } from '../queue/error-codes.js';
import { recordOutcome } from './request-report.js';

/** Input quoted in an error message is cut to this many characters. */
export const QUOTE_LIMIT = 100;

/** `input` cut to `limit` characters with an ellipsis, so an error never echoes a large input. */
export function quote(input: string, limit = QUOTE_LIMIT): string {
  // Counted in code points; a head of 2 * limit + 2 UTF-16 units holds more
  // than `limit` of them whenever the input is longer than that head.
  const window = 2 * limit + 2;
  const head = Array.from(input.slice(0, window));
  if (head.length <= limit && input.length <= window) return input;
  return `${head.slice(0, limit).join('')}…`;
}

export function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: OutgoingHttpHeaders = {},
): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  response.end(text);
}

/** The body of every HTTP-level error: the shape GraphQL clients already read. */
export function errorBody(
  code: ErrorCode,
  message: string,
): { errors: { message: string; extensions: { code: string } }[] } {
  return { errors: [{ message, extensions: { code } }] };
}

export function sendError(
  response: ServerResponse,
  status: number,
  code: ErrorCode,
  message: string,
  headers: OutgoingHttpHeaders = {},
): void {
  recordOutcome(response, { outcome: code });
  sendJson(response, status, errorBody(code, message), headers);
}

/** A whole HTTP/1.1 error response as bytes, for a socket that has no ServerResponse. */
export function rawErrorResponse(status: number, code: ErrorCode, message: string): Buffer {
  const text = JSON.stringify(errorBody(code, message));
  return Buffer.from(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
      'Connection: close\r\n' +
      'Content-Type: application/json; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`,
  );
}
