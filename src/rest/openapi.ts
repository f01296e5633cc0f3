// The OpenAPI 3.1 description of the REST routes, served at
// GET /api/openapi.json. The request's properties come from the binder's
// table and the limits from the domain's LIMITS, so the document cannot drift
// from either; test/rest/cases.test.ts checks real answers against it.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Route } from '../http/server.js';
import { sendJson } from '../http/respond.js';
import { CaseAction, CaseStatus } from '../generated/prisma/enums.js';
import { LIMITS } from '../queue/input-rules.js';
import {
  CASE_ENQUEUE_PROPERTIES,
  IDEMPOTENCY_KEY_HEADER,
  type PropertyKind,
  type PropertyName,
} from './case-request.js';
import { RECEIPT_HEADER } from './case-receipt.js';
import { CASES_PATH } from './cases-route.js';

export const OPENAPI_PATH = '/api/openapi.json';

type Schema = Readonly<Record<string, unknown>>;

const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const nullable = (type: string): string[] => [type, 'null'];

const INT32 = { type: 'integer', format: 'int32' } as const;
const MAX_LENGTH: Partial<Record<PropertyName, number>> = {
  ServiceIdExtRef: LIMITS.case.serviceIdExtRef,
  ExtRef: LIMITS.case.extRef,
  Notes: LIMITS.case.notes,
  Subject: LIMITS.case.subject,
  ClassificationCode: LIMITS.case.classificationCode,
  ProcedureExtRef: LIMITS.case.procedureExtRef,
  ProcedureOptionExtRef: LIMITS.case.procedureOptionExtRef,
};

function propertySchema(kind: PropertyKind, name: PropertyName, description: string): Schema {
  const maxLength = MAX_LENGTH[name];
  switch (kind) {
    case 'int32':
      return { ...INT32, type: nullable('integer'), description };
    case 'boolean':
      return { type: nullable('boolean'), description };
    case 'string':
      return { type: nullable('string'), ...(maxLength === undefined ? {} : { maxLength }), description };
    case 'dictionary':
      return {
        type: nullable('object'),
        description: `${description} At most ${LIMITS.case.customProperties} entries; keys of 1 to ${LIMITS.case.propertyKey} characters, values of at most ${LIMITS.case.propertyValue}.`,
        maxProperties: LIMITS.case.customProperties,
        propertyNames: { minLength: 1, maxLength: LIMITS.case.propertyKey },
        additionalProperties: { type: 'string', maxLength: LIMITS.case.propertyValue },
      };
  }
}

const requestProperties = Object.fromEntries(
  Object.entries(CASE_ENQUEUE_PROPERTIES).map(([name, { kind, description }]) => [
    name,
    propertySchema(kind, name as PropertyName, description),
  ]),
);

const CASE_ID = { ...INT32, minimum: 1, description: 'The id of the case.' } as const;
const SERVICE_ID = { ...INT32, minimum: 1, description: 'The service whose queue the case joined.' } as const;

/** The answers echo every request property as stored: never absent, null when not set. */
const seedProperties: Record<string, Schema> = {
  ...requestProperties,
  CaseId: CASE_ID,
  ServiceId: SERVICE_ID,
  ServiceIdExtRef: { type: nullable('string'), description: "The service's external reference, however it was named." },
  AutoClose: { type: 'boolean', description: 'Whether the case was enqueued and closed at once.' },
  CustomProperties: {
    type: 'object',
    additionalProperties: { type: 'string' },
    description: 'The custom properties in the order given; {} when none.',
  },
};

const time = (description: string, canBeNull = false): Schema => ({
  type: canBeNull ? nullable('string') : 'string',
  format: 'date-time',
  description: `${description} ISO 8601, UTC, to the millisecond.`,
});

/** Where a case stands, as every answer about it says it. */
const standing = {
  Ticket: { type: 'string', description: 'The ticket shown to the person, e.g. A042.' },
  Position: {
    type: nullable('integer'),
    minimum: 1,
    description: 'Place in the queue from 1 (called next) while waiting; null otherwise.',
  },
  EstimatedWaitSeconds: {
    type: nullable('integer'),
    description:
      'Estimated seconds until called, from the agents serving now, their recent cases and the cases ahead; ' +
      'null when not waiting or unknown.',
  },
  EstimatedWaitRange: {
    type: ['object', 'null'],
    description:
      'Where the wait is expected to end, in seconds: about 1 wait in 5 is shorter than Low, 1 in 5 longer ' +
      'than High; null when EstimatedWaitSeconds is.',
    required: ['Low', 'High'],
    additionalProperties: false,
    properties: {
      Low: { type: 'integer', minimum: 0 },
      High: { type: 'integer', minimum: 0 },
    },
  },
} as const;

const enqueueProperties: Record<string, Schema> = {
  ...seedProperties,
  ...standing,
  Position: {
    ...standing.Position,
    description:
      'Place in the queue from 1 (called next); null for an AutoClose case, or when it could not be read after ' +
      'the case was stored (the case is stored: GET it).',
  },
  Receipt: {
    type: 'string',
    description:
      `Lets a KIOSK credential read this case (\`GET ${CASES_PATH}/{id}\` with the \`${RECEIPT_HEADER}\` header) and ` +
      "follow it (GraphQL's `caseChanged(caseId, receipt)`); it names this case alone and does not expire. " +
      'Print it on the ticket, e.g. as a QR code.',
  },
};

/** What the holder of a case's receipt sees: GraphQL's `caseChanged`, nothing personal. */
const caseStateProperties: Record<string, Schema> = {
  CaseId: CASE_ID,
  Ticket: standing.Ticket,
  ServiceId: SERVICE_ID,
  Status: ref('CaseStatus'),
  LastAction: ref('CaseAction'),
  LastAgent: {
    type: nullable('string'),
    description: 'Who did the last action (for a called case, who calls it); null for enqueues.',
  },
  Position: standing.Position,
  EstimatedWaitSeconds: standing.EstimatedWaitSeconds,
  EstimatedWaitRange: standing.EstimatedWaitRange,
  CalledAt: time('When it was last called.', true),
  ClosedAt: time('When it was completed or cancelled.', true),
};

const caseProperties: Record<string, Schema> = {
  ...seedProperties,
  Ticket: standing.Ticket,
  Status: ref('CaseStatus'),
  LastAction: ref('CaseAction'),
  LastAgent: { type: nullable('string'), description: 'Who did the last action; null for enqueues.' },
  Position: standing.Position,
  EstimatedWaitSeconds: standing.EstimatedWaitSeconds,
  EstimatedWaitRange: standing.EstimatedWaitRange,
  EnqueuedAt: time('When the case was enqueued.'),
  QueuedAt: time('The time that orders it in the queue.'),
  CalledAt: time('When it was last called.', true),
  ClosedAt: time('When it was completed or cancelled.', true),
  UpdatedAt: time('When anything last changed.'),
  History: {
    type: 'array',
    items: ref('CaseEvent'),
    maxItems: LIMITS.history.last,
    description: `What happened to the case, oldest first: the last ${LIMITS.history.last} events.`,
  },
};

/** An answer: every property listed is always there; later versions may add others, which clients ignore. */
const objectOf = (properties: Record<string, Schema>, description: string): Schema => ({
  type: 'object',
  description,
  properties,
  required: Object.keys(properties),
});

const errorResponse = (description: string, headers: Record<string, Schema> = {}): Schema => ({
  description,
  headers,
  content: { 'application/json': { schema: ref('Error') } },
});
const retryAfter = { 'Retry-After': { $ref: '#/components/headers/RetryAfter' } };
const allow = { Allow: { $ref: '#/components/headers/Allow' } };
const commonErrors = {
  '401': errorResponse(
    'No credential, or one that is not accepted (`UNAUTHENTICATED`); `WWW-Authenticate` says which. ' +
      'Not sent by a gateway that runs open (development).',
    { 'WWW-Authenticate': { $ref: '#/components/headers/WwwAuthenticate' } },
  ),
  '403': errorResponse(
    "The credential's roles do not allow this call, or this use of it: a `KIOSK` naming a customer (`FORBIDDEN`).",
  ),
  '429': errorResponse(
    'Over the rate limit of the credential, or of the client address without one (`RATE_LIMITED`); try again after `Retry-After` seconds.',
    retryAfter,
  ),
  '405': errorResponse('Another method: the `Allow` header lists the ones this path takes.', allow),
  '500': errorResponse('An unexpected error; it is logged, and the answer carries no details.'),
  '503': errorResponse(
    'The database is unavailable or did not answer in time (`DATABASE_UNAVAILABLE`); try again after `Retry-After` seconds.',
    retryAfter,
  ),
};

export const openApiDocument = {
  openapi: '3.1.0',
  info: {
    title: 'FIFO case queue: REST compatibility API',
    version: '1.1.0',
    description:
      'The enqueue and read of the original queue REST API, served by the GraphQL gateway for existing clients. ' +
      'Request property names match case-insensitively and unknown properties are ignored. ' +
      'Answers may gain properties (1.1 added `Ticket`, `Position`, `EstimatedWaitSeconds`, `EstimatedWaitRange` and ' +
      "`Receipt` to the enqueue's, and `EstimatedWaitRange` to a case's): clients must ignore properties they do not know. " +
      'Errors name the field at fault as the client spells it: `Subject`, `CustomProperties["key"]` ' +
      '(`.Key` after it when the key itself is at fault), `$` for the whole body, `id` for the path, ' +
      `\`Idempotency-Key\` and \`${RECEIPT_HEADER}\` for the headers.`,
  },
  // Every call needs a credential unless the gateway runs open (development): an API key
  // (`fcq_...`) of a KIOSK, AGENT or ADMIN to enqueue; AGENT or ADMIN to read a case whole,
  // a KIOSK with the case's receipt to read where it stands.
  security: [{ bearer: [] }],
  paths: {
    [CASES_PATH]: {
      post: {
        operationId: 'Cases_Enqueue',
        summary: 'Case Enqueue for FIFO',
        description:
          'Enqueues a case at the back of its service queue, through the same domain code as the GraphQL ' +
          'mutation `enqueueCase`. `CaseId` in the body is ignored.',
        parameters: [
          {
            name: IDEMPOTENCY_KEY_HEADER,
            in: 'header',
            required: false,
            description:
              'Makes retries safe: the same key with the same body answers the case the first request created; ' +
              'with a different body it is a 409. Keys belong to the credential that sends them; use a UUID.',
            schema: { type: 'string', minLength: 1, maxLength: LIMITS.case.idempotencyKey },
          },
        ],
        requestBody: {
          required: true,
          content: {
            'application/json': { schema: ref('CaseEnqueue') },
            'text/json': { schema: ref('CaseEnqueue') },
          },
        },
        responses: {
          '200': {
            description:
              'The case as stored, with its ticket, place, estimated wait and receipt (also for a retry with the ' +
              'same `Idempotency-Key`).',
            headers: { Location: { $ref: '#/components/headers/Location' } },
            content: { 'application/json': { schema: ref('CaseEnqueueResult') } },
          },
          '400': errorResponse(
            'The body is not a JSON object, a property has the wrong type, breaks a rule (`BAD_USER_INPUT`), or ' +
              'names a service, customer, classification or procedure that does not exist, or none the ' +
              "credential's service limit lets it see (`NOT_FOUND`, the same answer).",
          ),
          '409': errorResponse(
            'The `Idempotency-Key` was used before for a different body, or a reference changed while the case was written (`CONFLICT`).',
          ),
          '413': errorResponse('The body is larger than 1 MiB (`PAYLOAD_TOO_LARGE`).'),
          '415': errorResponse(
            'The body is not `application/json` or `text/json` in UTF-8 (`UNSUPPORTED_MEDIA_TYPE`).',
          ),
          ...commonErrors,
        },
      },
    },
    [`${CASES_PATH}/{id}`]: {
      get: {
        operationId: 'Cases_Get',
        summary: 'A case, where it stands and its history',
        description:
          'To an AGENT or ADMIN credential, the whole case (`Case`). To a KIOSK credential, with the receipt ' +
          "`POST /api/Cases` answered, where the case stands (`CaseState`, what GraphQL's `caseChanged` shows): " +
          "nothing personal. The receipt is the right to that case, whatever the kiosk's service limit.",
        parameters: [
          {
            name: 'id',
            in: 'path',
            required: true,
            description: 'The case id (`CaseId`).',
            schema: { ...INT32, minimum: 1 },
          },
          {
            name: RECEIPT_HEADER,
            in: 'header',
            required: false,
            description:
              "The case's `Receipt`, as `POST /api/Cases` answered it: required of a KIOSK credential, ignored for others.",
            schema: { type: 'string' },
          },
        ],
        responses: {
          '200': {
            description: 'The case whole (AGENT, ADMIN), or where it stands (KIOSK with the receipt).',
            content: { 'application/json': { schema: { anyOf: [ref('Case'), ref('CaseState')] } } },
          },
          '400': errorResponse('The id is not a positive 32-bit integer (`BAD_USER_INPUT`, field `id`).'),
          '404': errorResponse(
            "No case has the id, or none the credential's service limit lets it see (`NOT_FOUND`, field `id`).",
          ),
          ...commonErrors,
          '403': errorResponse(
            'A credential that may not read cases (`SCREEN`), or a `KIOSK` without the receipt of this case in ' +
              `\`${RECEIPT_HEADER}\` (\`FORBIDDEN\`, field \`${RECEIPT_HEADER}\`): one answer for a missing, wrong or ` +
              "another case's receipt, whether the case exists or not.",
          ),
        },
      },
    },
  },
  components: {
    securitySchemes: {
      bearer: {
        type: 'http',
        scheme: 'bearer',
        description:
          "An API key (`fcq_<id>_<secret>`) or a person's token (JWT) from the identity provider. " +
          `POST needs the KIOSK, AGENT or ADMIN role; GET, AGENT or ADMIN, or KIOSK with the case's \`${RECEIPT_HEADER}\`.`,
      },
    },
    schemas: {
      CaseEnqueue: {
        type: 'object',
        description:
          'A case to enqueue. `ServiceId` or `ServiceIdExtRef` is required (when both are given they must name ' +
          'the same service); `ProcedureOptionExtRef` requires `ProcedureExtRef`. null means not given. Names ' +
          'match case-insensitively; other properties are ignored.',
        properties: requestProperties,
      },
      CaseEnqueueResult: objectOf(
        enqueueProperties,
        'The case as stored, in the request shape, then its ticket, place, estimated wait and receipt.',
      ),
      Case: objectOf(caseProperties, 'A case: the enqueue fields as stored, where it stands, and its history.'),
      CaseState: objectOf(
        caseStateProperties,
        "Where a case stands, as its receipt's holder (a KIOSK) sees it: no personal data.",
      ),
      CaseEvent: objectOf(
        {
          Action: ref('CaseAction'),
          At: time('When, by the database clock.'),
          Agent: { type: nullable('string'), description: 'Who did it; null for enqueues.' },
          Reason: { type: nullable('string'), description: 'Why, for returns and cancellations.' },
          FromStatus: { anyOf: [ref('CaseStatus'), { type: 'null' }], description: 'null for the enqueue.' },
          ToStatus: ref('CaseStatus'),
        },
        'One step of a case history.',
      ),
      CaseStatus: { type: 'string', enum: Object.values(CaseStatus) },
      CaseAction: { type: 'string', enum: Object.values(CaseAction) },
      Error: {
        type: 'object',
        description:
          '`Field`, `Rule` and `Issues` are present when fields are at fault; `Field` and `Rule` are the first of `Issues`.',
        properties: {
          Message: { type: 'string' },
          Code: {
            type: 'string',
            description:
              'BAD_USER_INPUT, NOT_FOUND, CONFLICT, UNAUTHENTICATED, FORBIDDEN, RATE_LIMITED, METHOD_NOT_ALLOWED, ' +
              'UNSUPPORTED_MEDIA_TYPE, PAYLOAD_TOO_LARGE, DATABASE_UNAVAILABLE or INTERNAL_SERVER_ERROR.',
          },
          Field: { type: 'string' },
          Rule: { type: 'string', description: 'e.g. type, json, required, maxLength, exists, unique.' },
          Issues: { type: 'array', items: ref('ErrorIssue') },
        },
        required: ['Message', 'Code'],
      },
      ErrorIssue: objectOf(
        { Field: { type: 'string' }, Rule: { type: 'string' }, Message: { type: 'string' } },
        'One field at fault.',
      ),
    },
    headers: {
      Location: { description: 'The case: `/api/Cases/{CaseId}`.', schema: { type: 'string' } },
      RetryAfter: { description: 'Seconds to wait before trying again.', schema: { type: 'integer' } },
      Allow: { description: 'The methods this path takes.', schema: { type: 'string' } },
      WwwAuthenticate: {
        description: '`Bearer realm="fifo-case-gateway"`, with `error="invalid_token"` when a credential was refused.',
        schema: { type: 'string' },
      },
    },
  },
} as const;

export function openApiRoute(): Route {
  return (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      sendJson(
        response,
        405,
        {
          Message: `${request.method ?? 'this method'} is not allowed on ${OPENAPI_PATH}: use GET`,
          Code: 'METHOD_NOT_ALLOWED',
        },
        { allow: 'GET, HEAD' },
      );
    } else {
      sendJson(response, 200, openApiDocument);
    }
    return Promise.resolve();
  };
}
