// The kiosk library: take a ticket, follow it, say where it stands.
export { announce } from './announce.js';
export type { Credentials } from './credentials.js';
export { enqueueCase, type ServiceName, type Ticket, type TicketRequest } from './enqueue.js';
export { KioskError, type KioskErrorCode } from './errors.js';
export { followCase, type CaseUpdate, type FollowOptions } from './follow-case.js';
