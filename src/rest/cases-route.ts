// POST /api/Cases and GET /api/Cases/{id}: the original queue REST API's
// enqueue and read, for its existing clients and for kiosks. Enqueues go
// through the same enqueuer as the GraphQL mutation (one group commit for
// both edges); reads through the same domain reads. A kiosk reads its case
// with the receipt the enqueue answered (case-receipt.ts). docs/rest.md
// describes the contract.
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { databaseUnavailable } from '../db/prisma-errors.js';
import type { QueueRuntime } from '../queue/runtime.js';
import { BodyAborted, BodyNotUtf8, BodyTooLarge, MAX_BODY_BYTES, readBody } from '../http/body.js';
import { quote } from '../http/respond.js';
import { recordOutcome } from '../http/request-report.js';
import type { Route } from '../http/server.js';
import { rateLimitedFailures, type Logger } from '../log.js';
import type { Actor } from '../queue/actor.js';
import type { EnqueuedCase } from '../queue/enqueue-case.js';
import { caseReader, restPrincipal, type RestAccess } from './rest-access.js';
import { GatewayError } from '../queue/errors.js';
import { findCase, historyByCase, propertiesByCase, servicesById } from '../queue/case-reads.js';
import { standings } from '../queue/queue-reads.js';
import { NOT_WAITING, type Standing } from '../queue/standing.js';
import { caseAnswer, caseStateAnswer, enqueueAnswer } from './case-answers.js';
import { receiptHolder } from './case-receipt.js';
import { bindCaseEnqueue, BODY_FIELD, restFieldName, restMessage } from './case-request.js';
import { JsonSyntaxError, parseJson, stringifyJson, type JsonOut, type JsonValue } from './ordered-json.js';
import { badRequest, fromGatewayError, RestError, restErrorBody, restErrorOf } from './rest-errors.js';

export const CASES_PATH = '/api/Cases';
const ALLOWED_ON_CASES = 'POST, OPTIONS';
const ALLOWED_ON_CASE = 'GET, HEAD, OPTIONS';
const INT32_MAX = 2 ** 31 - 1;

function send(response: ServerResponse, status: number, body: JsonOut, headers: OutgoingHttpHeaders = {}): void {
  const text = stringifyJson(body);
  response.writeHead(status, {
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  response.end(text);
}

function sendError(response: ServerResponse, error: RestError): void {
  recordOutcome(response, { outcome: error.code });
  send(response, error.status, restErrorBody(error), error.headers);
}

/** The media types the original API read: `application/json`, `text/json` (and structured `+json` types), in UTF-8. */
function isJsonContentType(contentType: string | undefined): boolean {
  const [essence = '', ...parameters] = (contentType ?? '').split(';').map((part) => part.trim().toLowerCase());
  const json = essence === 'application/json' || essence === 'text/json' || /^application\/[^/]+\+json$/.test(essence);
  const charset = parameters.find((parameter) => parameter.startsWith('charset='))?.slice('charset='.length);
  return json && (charset === undefined || /^"?utf-?8"?$/.test(charset));
}

function methodNotAllowed(method: string, path: string, allowed: string): RestError {
  return new RestError(405, 'METHOD_NOT_ALLOWED', `${quote(method)} is not allowed on ${path}: use ${allowed}`, [], {
    allow: allowed,
  });
}

/** The request's body as JSON, or the RestError that explains why it is not; undefined when the client left. */
async function jsonBody(request: IncomingMessage): Promise<JsonValue | undefined> {
  const contentType = request.headers['content-type'];
  if (!isJsonContentType(contentType))
    throw new RestError(
      415,
      'UNSUPPORTED_MEDIA_TYPE',
      `Content-Type must be application/json or text/json in UTF-8, not "${quote(contentType ?? '')}"`,
    );
  let text: string;
  try {
    text = await readBody(request);
  } catch (error) {
    // The socket is gone (the client left, or timed out and was answered 408).
    if (error instanceof BodyAborted) return undefined;
    if (error instanceof BodyTooLarge)
      throw new RestError(413, 'PAYLOAD_TOO_LARGE', `Request body is too large: the limit is ${MAX_BODY_BYTES} bytes`);
    if (error instanceof BodyNotUtf8)
      throw badRequest([{ field: BODY_FIELD, rule: 'utf8', message: 'is not valid UTF-8' }]);
    throw error;
  }
  if (text.trim() === '')
    throw badRequest([{ field: BODY_FIELD, rule: 'required', message: 'a non-empty request body is required' }]);
  try {
    return parseJson(text);
  } catch (error) {
    if (error instanceof JsonSyntaxError)
      throw badRequest([{ field: BODY_FIELD, rule: 'json', message: `is not valid JSON: ${error.message}` }]);
    throw error;
  }
}

/** The `Idempotency-Key` header; sent twice, its values joined as Node joins them. */
function idempotencyKey(request: IncomingMessage): string | undefined {
  const value = request.headers['idempotency-key'];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** The id of `/api/Cases/{id}`: a positive 32-bit integer in decimal. */
function caseIdOf(text: string): number {
  const id = /^\d{1,10}$/.test(text) ? Number(text) : 0;
  if (id < 1 || id > INT32_MAX)
    throw badRequest([
      { field: 'id', rule: 'type', message: `must be a positive 32-bit integer, not "${quote(text)}"` },
    ]);
  return id;
}

/** Answers with what `handle` answers, or with the error it throws. */
function guarded(log: Logger, handle: Route): Route {
  const failures = rateLimitedFailures(log);
  return async (request, response, url) => {
    try {
      await handle(request, response, url);
    } catch (error) {
      const answer = restErrorOf(error, log, failures);
      if (response.headersSent) response.destroy();
      else sendError(response, answer);
    }
  };
}

async function enqueue(
  runtime: QueueRuntime,
  access: RestAccess,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const principal = await restPrincipal(access, request, response, access.enqueue);
  if (!principal) return;
  const body = await jsonBody(request);
  if (body === undefined) return;
  const bound = bindCaseEnqueue(body, idempotencyKey(request));
  if (!bound.ok) throw badRequest(bound.issues);
  const { request: enqueueRequest } = bound;
  let stored: EnqueuedCase;
  try {
    stored = await runtime.enqueuer.enqueue(enqueueRequest, principal);
  } catch (error) {
    if (!(error instanceof GatewayError)) throw error;
    throw fromGatewayError(error, { field: (field) => restFieldName(field, enqueueRequest), message: restMessage });
  }
  const answer = enqueueAnswer(stored, await standingAfterWrite(stored), access.receipts.sign(stored.id));
  send(response, 200, answer, { location: `${CASES_PATH}/${stored.id}` });
}

/**
 * Where the stored case stands: one read shared by its whole batch. The case
 * is written by now, so a database lost meanwhile leaves the place unknown
 * (null) rather than turning the answer into a 503 that a client would retry.
 */
async function standingAfterWrite(stored: EnqueuedCase): Promise<Standing> {
  if (stored.status !== 'WAITING') return NOT_WAITING;
  try {
    return await stored.standing();
  } catch (error) {
    if (databaseUnavailable(error) === undefined) throw error;
    return NOT_WAITING;
  }
}

const noCase = (id: number): RestError =>
  new RestError(404, 'NOT_FOUND', `id: no case has the id ${id}`, [
    { field: 'id', rule: 'exists', message: `no case has the id ${id}` },
  ]);

/** Where a case stands when it waits; a closed or called one has no place. */
const standingOf = (db: QueueRuntime['db'], id: number, status: string): Promise<Standing> =>
  status === 'WAITING'
    ? standings(db, [id]).then(([standing = NOT_WAITING]) => standing)
    : Promise.resolve(NOT_WAITING);

async function readCase(
  runtime: QueueRuntime,
  access: RestAccess,
  request: IncomingMessage,
  response: ServerResponse,
  idText: string,
): Promise<void> {
  const reader = await caseReader(access, request, response);
  if (!reader) return;
  const id = caseIdOf(idText);
  if (reader.view === 'receipt') {
    await readCaseState(runtime, receiptHolder(reader.principal, id, request, access.receipts), id, response);
    return;
  }
  const { db } = runtime;
  const row = await findCase(db, id, reader.principal);
  if (!row) throw noCase(id);
  const [[service], [properties = []], [history = []], standing] = await Promise.all([
    servicesById(db, [row.serviceId]),
    propertiesByCase(db, [id]),
    historyByCase(db, [id]),
    standingOf(db, id, row.status),
  ]);
  send(response, 200, caseAnswer({ row, serviceExtRef: service?.extRef ?? null, properties, history, standing }));
}

/** What the holder of the case's receipt sees: what `caseChanged` shows it, nothing personal. */
async function readCaseState(
  runtime: QueueRuntime,
  holder: Actor,
  id: number,
  response: ServerResponse,
): Promise<void> {
  const row = await findCase(runtime.db, id, holder);
  // Reached with a valid receipt only: its case is no longer stored.
  if (!row) throw noCase(id);
  send(response, 200, caseStateAnswer(row, await standingOf(runtime.db, id, row.status)));
}

function answerOptions(response: ServerResponse, allowed: string): void {
  response.writeHead(204, { allow: allowed });
  response.end();
}

/** `/api/Cases`: POST enqueues a case. */
export function casesRoute(runtime: QueueRuntime, access: RestAccess, log: Logger): Route {
  return guarded(log, async (request, response) => {
    const method = request.method ?? 'GET';
    if (method === 'OPTIONS') {
      answerOptions(response, ALLOWED_ON_CASES);
      return;
    }
    if (method !== 'POST') throw methodNotAllowed(method, CASES_PATH, ALLOWED_ON_CASES);
    await enqueue(runtime, access, request, response);
  });
}

/** `/api/Cases/{id}`: GET reads a case; `/api/Cases/` is `/api/Cases`, as ASP.NET routing has it. */
export function caseRoute(runtime: QueueRuntime, access: RestAccess, log: Logger): Route {
  const collection = casesRoute(runtime, access, log);
  return guarded(log, async (request, response, url) => {
    const idText = url.pathname.slice(CASES_PATH.length + 1);
    if (idText === '') return collection(request, response, url);
    if (idText.includes('/'))
      throw new RestError(404, 'NOT_FOUND', `Nothing at "${quote(url.pathname)}": a case is at ${CASES_PATH}/{id}`);
    const method = request.method ?? 'GET';
    if (method === 'OPTIONS') {
      answerOptions(response, ALLOWED_ON_CASE);
      return;
    }
    if (method !== 'GET' && method !== 'HEAD') throw methodNotAllowed(method, `${CASES_PATH}/{id}`, ALLOWED_ON_CASE);
    await readCase(runtime, access, request, response, idText);
  });
}
