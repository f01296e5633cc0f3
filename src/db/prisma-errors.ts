// Recognises the database errors the domain turns into typed results, so no
// Prisma message ever reaches a client.
import { Prisma } from '../generated/prisma/client.js';

const known = (error: unknown, code: string): error is Prisma.PrismaClientKnownRequestError =>
  error instanceof Prisma.PrismaClientKnownRequestError && error.code === code;

/** A unique constraint was violated (P2002). */
export const isUniqueViolation = (error: unknown): boolean => known(error, 'P2002');

/** A foreign key pointed at a row that does not exist (P2003). */
export const isForeignKeyViolation = (error: unknown): boolean => known(error, 'P2003');
