// Stored cases in the REST family's shape: the seed's CaseEnqueue fields in
// PascalCase, CustomProperties as an object in stored order (a Map, written
// by ordered-json.ts), times as ISO 8601 UTC strings as GraphQL's DateTime.
// Answers only ever gain fields; clients ignore the ones they do not know.
import type { Case, CaseEvent, CaseProperty } from '../generated/prisma/client.js';
import type { EnqueuedCase } from '../queue/enqueue-case.js';
import { NOT_WAITING, type Standing } from '../queue/standing.js';

/** The seed's response: every request field as stored, with CaseId filled in. */
export type SeedAnswer = {
  readonly CaseId: number;
  readonly ServiceId: number;
  readonly ServiceIdExtRef: string | null;
  readonly CustomerId: number | null;
  readonly ExtRef: string | null;
  readonly Notes: string | null;
  readonly Subject: string | null;
  readonly ClassificationCode: string | null;
  readonly AutoClose: boolean;
  readonly CustomProperties: ReadonlyMap<string, string>;
  readonly ProcedureExtRef: string | null;
  readonly ProcedureOptionExtRef: string | null;
};

/** An estimated wait's range, in seconds (GraphQL's WaitRange). */
export type WaitRangeAnswer = { readonly Low: number; readonly High: number };

/** Its place and estimated wait while it waits (null otherwise), as every answer about a case shows them. */
export type PlaceAnswer = {
  readonly Position: number | null;
  readonly EstimatedWaitSeconds: number | null;
  readonly EstimatedWaitRange: WaitRangeAnswer | null;
};

/** Where a case stands: its ticket, status, last action and place. */
type ProgressAnswer = PlaceAnswer & {
  readonly Ticket: string;
  readonly Status: string;
  readonly LastAction: string;
  readonly LastAgent: string | null;
  readonly CalledAt: string | null;
  readonly ClosedAt: string | null;
};

/** `POST /api/Cases`: the seed's response, then what a kiosk shows the person (GraphQL's `enqueueCase` payload). */
export type EnqueueAnswer = SeedAnswer &
  PlaceAnswer & {
    readonly Ticket: string;
    /** Lets a KIOSK read this case (GET /api/Cases/{id}) and follow it (`caseChanged`). */
    readonly Receipt: string;
  };

export type HistoryAnswer = {
  readonly Action: string;
  readonly At: string;
  readonly Agent: string | null;
  readonly Reason: string | null;
  readonly FromStatus: string | null;
  readonly ToStatus: string;
};

/** `GET /api/Cases/{id}`: the seed's fields, then where the case stands and what happened to it. */
export type CaseAnswer = SeedAnswer &
  ProgressAnswer & {
    readonly EnqueuedAt: string;
    readonly QueuedAt: string;
    readonly UpdatedAt: string;
    readonly History: readonly HistoryAnswer[];
  };

const time = (date: Date | null): string | null => date?.toISOString() ?? null;

/** The properties in their stored order (position), whatever order they were read in. */
function dictionary(properties: readonly CaseProperty[]): ReadonlyMap<string, string> {
  const ordered = [...properties].sort((a, b) => a.position - b.position);
  return new Map(ordered.map((property) => [property.key, property.value]));
}

/**
 * `GET /api/Cases/{id}` by a KIOSK with the case's receipt: what `caseChanged`
 * shows it (CaseUpdate's fields), so nothing personal: no subject, notes,
 * references, customer, properties or history.
 */
export type CaseStateAnswer = ProgressAnswer & {
  readonly CaseId: number;
  readonly ServiceId: number;
};

function seedFields(row: Case, serviceExtRef: string | null, properties: readonly CaseProperty[]): SeedAnswer {
  return {
    CaseId: row.id,
    ServiceId: row.serviceId,
    ServiceIdExtRef: serviceExtRef,
    CustomerId: row.customerId,
    ExtRef: row.extRef,
    Notes: row.notes,
    Subject: row.subject,
    ClassificationCode: row.classificationCode,
    AutoClose: row.autoClose,
    CustomProperties: dictionary(properties),
    ProcedureExtRef: row.procedureExtRef,
    ProcedureOptionExtRef: row.procedureOptionExtRef,
  };
}

/** Position and estimate, shown only while the case waits, as GraphQL's resolvers show them. */
function place(row: Case, standing: Standing): PlaceAnswer {
  const {
    position,
    estimatedWaitSeconds,
    estimatedWaitRange: range,
  } = row.status === 'WAITING' ? standing : NOT_WAITING;
  return {
    Position: position,
    EstimatedWaitSeconds: estimatedWaitSeconds,
    EstimatedWaitRange: range === null ? null : { Low: range.low, High: range.high },
  };
}

/** `standing`: read after the commit (EnqueuedCase.standing); `receipt`: the case's, signed. */
export function enqueueAnswer(stored: EnqueuedCase, standing: Standing, receipt: string): EnqueueAnswer {
  return {
    ...seedFields(stored, stored.serviceExtRef, stored.customProperties),
    Ticket: stored.ticket,
    ...place(stored, standing),
    Receipt: receipt,
  };
}

function historyAnswer(event: CaseEvent): HistoryAnswer {
  return {
    Action: event.action,
    At: event.at.toISOString(),
    Agent: event.agent,
    Reason: event.reason,
    FromStatus: event.fromStatus,
    ToStatus: event.toStatus,
  };
}

export interface CaseParts {
  readonly row: Case;
  readonly serviceExtRef: string | null;
  readonly properties: readonly CaseProperty[];
  /** Oldest first. */
  readonly history: readonly CaseEvent[];
  readonly standing: Standing;
}

export function caseAnswer({ row, serviceExtRef, properties, history, standing }: CaseParts): CaseAnswer {
  return {
    ...seedFields(row, serviceExtRef, properties),
    Ticket: row.ticket,
    Status: row.status,
    LastAction: row.lastAction,
    LastAgent: row.lastAgent,
    ...place(row, standing),
    EnqueuedAt: row.enqueuedAt.toISOString(),
    QueuedAt: row.queuedAt.toISOString(),
    CalledAt: time(row.calledAt),
    ClosedAt: time(row.closedAt),
    UpdatedAt: row.updatedAt.toISOString(),
    History: history.map(historyAnswer),
  };
}

export function caseStateAnswer(row: Case, standing: Standing): CaseStateAnswer {
  return {
    CaseId: row.id,
    Ticket: row.ticket,
    ServiceId: row.serviceId,
    Status: row.status,
    LastAction: row.lastAction,
    LastAgent: row.lastAgent,
    ...place(row, standing),
    CalledAt: time(row.calledAt),
    ClosedAt: time(row.closedAt),
  };
}
