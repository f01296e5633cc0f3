// Recognises the database errors the domain turns into typed results, so no
// Prisma message ever reaches a client. Errors of the query builder carry
// Prisma's codes; errors of raw SQL (P2010) carry the driver adapter's kind.
import { Prisma } from '../generated/prisma/client.js';

function adapterErrorKind(error: Prisma.PrismaClientKnownRequestError): unknown {
  const adapterError = error.meta?.['driverAdapterError'];
  if (typeof adapterError !== 'object' || adapterError === null || !('cause' in adapterError)) return undefined;
  const { cause } = adapterError;
  return typeof cause === 'object' && cause !== null && 'kind' in cause ? cause.kind : undefined;
}

function isViolation(error: unknown, prismaCode: string, adapterKind: string): boolean {
  if (!(error instanceof Prisma.PrismaClientKnownRequestError)) return false;
  return error.code === prismaCode || (error.code === 'P2010' && adapterErrorKind(error) === adapterKind);
}

/** A unique constraint was violated. */
export const isUniqueViolation = (error: unknown): boolean => isViolation(error, 'P2002', 'UniqueConstraintViolation');

/** A foreign key pointed at a row that does not exist. */
export const isForeignKeyViolation = (error: unknown): boolean => isViolation(error, 'P2003', 'ForeignKeyConstraintViolation');
