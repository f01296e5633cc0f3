// What the fuzz sent and what it was told: every answer is checked on the
// spot (no 5xx, no INTERNAL_SERVER_ERROR, every error coded), and the
// answers that acknowledge a write are kept for the SQL checks afterwards.
import type { Prepared, RootField } from './render.js';
import type { Json } from './values.js';

export interface Answer {
  readonly status: number;
  readonly text: string;
}

/** A request the gateway answered wrongly, with everything needed to send it again. */
export interface Finding {
  readonly problem: string;
  readonly request: Prepared;
  readonly answer: Answer | null;
}

export interface EnqueueAck {
  readonly caseId: number;
  readonly input: Readonly<Record<string, Json>>;
}

export interface TransitionAck {
  readonly caseId: number;
  readonly action: string;
  readonly agent: string;
}

const TRANSITIONS: Readonly<Record<string, string>> = {
  callNext: 'CALL_NEXT',
  callCase: 'CALL_CASE',
  completeCase: 'COMPLETE',
  returnToQueue: 'RETURN_TO_QUEUE',
  cancelCase: 'CANCEL',
};

/** Codes by which the gateway says a request was refused, so it wrote nothing. */
const REFUSALS = new Set(['BAD_USER_INPUT', 'NOT_FOUND', 'CONFLICT', 'ILLEGAL_TRANSITION']);

interface GraphQLBody {
  readonly data?: Record<string, unknown> | null;
  readonly errors?: readonly unknown[];
}

function asRecord(value: unknown): Record<string, unknown> | null {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : null;
}

const errorCode = (error: unknown): unknown => asRecord(asRecord(error)?.['extensions'])?.['code'];
const errorPath = (error: unknown): readonly unknown[] => {
  const path = asRecord(error)?.['path'];
  return Array.isArray(path) ? path : [];
};

export class Ledger {
  sent = 0;
  readonly findings: Finding[] = [];
  readonly statuses = new Map<number, number>();
  readonly codes = new Map<string, number>();
  readonly enqueueAcks: EnqueueAck[] = [];
  readonly transitionAcks: TransitionAck[] = [];
  /** Cases acknowledged by raw requests, whose input is not compared. */
  readonly rawCaseIds = new Set<number>();
  /** Enqueues refused with a key; checked against the database when their key was sent only once. */
  readonly refusedKeys: string[] = [];
  /** How often each idempotency key was sent. */
  readonly keyUses = new Map<string, number>();
  /** Enqueues whose outcome the answer does not tell (a failure after the write, inside the answer). */
  unknownEnqueues = 0;
  /** Acknowledged single-enqueue requests, for idempotent replays. */
  readonly replayable: Prepared[] = [];
  slowestMs = 0;
  /** Time spent answering, by request label (its root fields, or the raw case). */
  readonly timeByLabel = new Map<string, { count: number; ms: number }>();

  /** Notes the idempotency keys a request carries, before it is sent. */
  sending(request: Prepared): void {
    this.sent += 1;
    for (const field of request.fields) {
      const key = enqueueKey(field);
      if (key !== null) this.keyUses.set(key, (this.keyUses.get(key) ?? 0) + 1);
    }
  }

  /** Enqueues sent with a key that had been sent before: each may leave one ticket number unused. */
  keyReuses(): number {
    let reuses = 0;
    for (const uses of this.keyUses.values()) reuses += uses - 1;
    return reuses;
  }

  failed(request: Prepared, problem: string, answer: Answer | null = null): void {
    this.findings.push({ problem, request, answer });
  }

  /** Checks one answer and records what it acknowledges; returns its data for the pools. */
  answered(request: Prepared, answer: Answer, elapsedMs: number): unknown {
    this.slowestMs = Math.max(this.slowestMs, elapsedMs);
    const spent = this.timeByLabel.get(request.label) ?? { count: 0, ms: 0 };
    this.timeByLabel.set(request.label, { count: spent.count + 1, ms: spent.ms + elapsedMs });
    this.statuses.set(answer.status, (this.statuses.get(answer.status) ?? 0) + 1);
    if (answer.status >= 500) this.failed(request, `HTTP ${answer.status}`, answer);
    if (answer.text.includes('INTERNAL_SERVER_ERROR')) this.failed(request, 'INTERNAL_SERVER_ERROR', answer);
    let body: GraphQLBody;
    try {
      body = JSON.parse(answer.text) as GraphQLBody;
    } catch {
      this.failed(request, `HTTP ${answer.status} with a body that is not JSON`, answer);
      return null;
    }
    const errors = Array.isArray(body.errors) ? body.errors : [];
    for (const error of errors) {
      const code = errorCode(error);
      if (typeof code !== 'string') this.failed(request, 'an error without extensions.code', answer);
      else this.codes.set(code, (this.codes.get(code) ?? 0) + 1);
    }
    if (answer.status !== 200 && errors.length === 0)
      this.failed(request, `HTTP ${answer.status} without errors`, answer);
    if (request.operation === 'raw') {
      const caseId = asRecord(asRecord(body.data)?.['enqueueCase'])?.['caseId'];
      if (typeof caseId === 'number') this.rawCaseIds.add(caseId);
    } else {
      this.acknowledgements(request, body, errors);
    }
    return body.data;
  }

  private acknowledgements(request: Prepared, body: GraphQLBody, errors: readonly unknown[]): void {
    // No `data` at all: the operation never ran (parse, validation or variable errors).
    const ran = body.data !== undefined;
    for (const field of request.fields) {
      const answer = asRecord(asRecord(body.data)?.[field.key]);
      const input = asRecord(field.args['input']);
      if (field.name === 'enqueueCase') {
        const caseId = answer?.['caseId'];
        const key = enqueueKey(field);
        if (typeof caseId === 'number') {
          this.enqueueAcks.push({ caseId, input: (input ?? {}) as Record<string, Json> });
          if (request.fields.length === 1 && request.operation === 'mutation') this.replayable.push(request);
          continue;
        }
        const refused =
          !ran ||
          errors.some((error) => {
            const path = errorPath(error);
            return path.length === 1 && path[0] === field.key && REFUSALS.has(String(errorCode(error)));
          });
        if (!refused) this.unknownEnqueues += 1;
        else if (key !== null) this.refusedKeys.push(key);
        continue;
      }
      const action = TRANSITIONS[field.name];
      const caseId = answer?.['id'];
      const agent = input?.['agent'];
      if (action && typeof caseId === 'number' && typeof agent === 'string')
        this.transitionAcks.push({ caseId, action, agent });
    }
  }
}

function enqueueKey(field: RootField): string | null {
  if (field.name !== 'enqueueCase') return null;
  const key = asRecord(field.args['input'])?.['idempotencyKey'];
  return typeof key === 'string' ? key : null;
}

/** Control characters and lone surrogates as \uXXXX escapes, so the text can be copied into a request. */
const visible = (text: string): string =>
  text.replace(
    // eslint-disable-next-line no-control-regex -- finding control characters is the point
    /[\u0000-\u001f\u007f]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g,
    (unit) => `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );

/** The answer's start, and the error that names INTERNAL_SERVER_ERROR when one does. */
function excerpt(text: string): string {
  const start = text.length > 600 ? `${text.slice(0, 600)}… (${text.length} chars)` : text;
  const at = text.indexOf('INTERNAL_SERVER_ERROR');
  if (at < 600) return start;
  return `${start} …${text.slice(Math.max(0, at - 400), at + 200)}…`;
}

/** A finding as text: the exact request (body cut at 1,500 characters) and the answer's start. */
export function describeFinding({ problem, request, answer }: Finding): string {
  const body = request.body === null ? '' : request.body.toString('utf8');
  const cut = (text: string, max: number) =>
    text.length > max ? `${text.slice(0, max)}… (${text.length} chars)` : text;
  return [
    `${problem} — ${request.label}`,
    `  ${request.method} /graphql${request.search ? `?${cut(request.search, 500)}` : ''} ${JSON.stringify(request.headers)}`,
    ...(body ? [`  body: ${cut(visible(body), 1500)}`] : []),
    answer ? `  answer: HTTP ${answer.status} ${excerpt(answer.text)}` : '  answer: none',
  ].join('\n');
}
