// The payload the database's trigger sends on `case_changes` for each
// changed case (prisma/migrations/*_case_change_notifications), checked on
// arrival: what a screen announces ("A042 to desk 3"), never personal data.
import { z } from 'zod';
import type { CaseAction, CaseStatus } from '../generated/prisma/enums.js';

export interface QueueChange {
  readonly serviceId: number;
  readonly caseId: number;
  readonly ticket: string;
  readonly action: CaseAction;
  readonly status: CaseStatus;
  readonly agent: string | null;
  readonly at: Date;
}

const payload = z.object({
  serviceId: z.number().int(),
  caseId: z.number().int(),
  ticket: z.string(),
  action: z.enum(['ENQUEUE', 'AUTO_CLOSE', 'CALL_NEXT', 'CALL_CASE', 'COMPLETE', 'RETURN_TO_QUEUE', 'CANCEL']),
  status: z.enum(['WAITING', 'IN_SERVICE', 'COMPLETED', 'CANCELLED']),
  agent: z.string().nullable(),
  at: z.coerce.date(),
}) satisfies z.ZodType<QueueChange>;

/** The change a notification announces, or undefined when its payload is not one. */
export function parseQueueChange(text: string): QueueChange | undefined {
  try {
    const parsed = payload.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
