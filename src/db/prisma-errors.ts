// Recognises the database errors the domain turns into typed results, so no
// Prisma message ever reaches a client. Errors of the query builder carry
// Prisma's codes; errors of raw SQL (P2010) carry the driver adapter's kind.
import { Prisma } from '../generated/prisma/client.js';

function adapterErrorCause(error: Prisma.PrismaClientKnownRequestError): object | undefined {
  const adapterError = error.meta?.['driverAdapterError'];
  if (typeof adapterError !== 'object' || adapterError === null || !('cause' in adapterError)) return undefined;
  const { cause } = adapterError;
  return typeof cause === 'object' && cause !== null ? cause : undefined;
}

function adapterErrorKind(error: Prisma.PrismaClientKnownRequestError): unknown {
  const cause = adapterErrorCause(error);
  return cause && 'kind' in cause ? cause.kind : undefined;
}

function isViolation(error: unknown, prismaCode: string, adapterKind: string): boolean {
  if (!(error instanceof Prisma.PrismaClientKnownRequestError)) return false;
  return error.code === prismaCode || (error.code === 'P2010' && adapterErrorKind(error) === adapterKind);
}

/** A unique constraint was violated. */
export const isUniqueViolation = (error: unknown): boolean => isViolation(error, 'P2002', 'UniqueConstraintViolation');

/** A foreign key pointed at a row that does not exist. */
export const isForeignKeyViolation = (error: unknown): boolean =>
  isViolation(error, 'P2003', 'ForeignKeyConstraintViolation');

/**
 * PostgreSQL itself answered the statement with an error (it carries a
 * SQLSTATE: a broken constraint, a deadlock, a cancelled statement): a
 * statement run on its own was then rolled back, and nothing of it is
 * committed. A lost connection carries none, and may have come after a commit.
 */
export function refusedByDatabase(error: unknown): boolean {
  if (!(error instanceof Prisma.PrismaClientKnownRequestError)) return false;
  const cause = adapterErrorCause(error);
  return cause !== undefined && 'originalCode' in cause && typeof cause.originalCode === 'string';
}
