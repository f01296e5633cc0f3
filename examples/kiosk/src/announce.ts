// What the kiosk says to the person holding the ticket.
import type { CaseUpdate } from './follow-case.js';

/** "you are number 3, about 4 minutes", "please go to desk 7", ... */
export function announce(
  update: Pick<CaseUpdate, 'status' | 'position' | 'estimatedWaitSeconds' | 'lastAgent'>,
): string {
  switch (update.status) {
    case 'WAITING': {
      const place = update.position === null ? 'you are in the queue' : `you are number ${update.position}`;
      return update.estimatedWaitSeconds === null ? place : `${place}, about ${minutes(update.estimatedWaitSeconds)}`;
    }
    case 'IN_SERVICE':
      return `please go to ${update.lastAgent ?? 'the counter'}`;
    case 'COMPLETED':
      return 'your case is completed';
    case 'CANCELLED':
      return 'your case was cancelled';
  }
}

/** Whole minutes, rounded up: a wait is never announced as shorter than it is, nor as 0. */
function minutes(seconds: number): string {
  const count = Math.max(1, Math.ceil(seconds / 60));
  return count === 1 ? '1 minute' : `${count} minutes`;
}
