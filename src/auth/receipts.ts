// Receipts: a token per case that lets a kiosk (or the person's phone, via
// the kiosk) follow that one case and nothing else. A receipt is an HMAC of
// the case id under a secret every gateway process on the database shares,
// so any process can check one without storing anything per case.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Database } from '../db/prisma-client.js';

const SECRET_NAME = 'receipt-hmac';
/** 128 bits of the MAC: unguessable, and short enough for a QR code. */
const RECEIPT_BYTES = 16;

export interface Receipts {
  sign(caseId: number): string;
  verify(caseId: number, receipt: string): boolean;
}

/** The shared secret, made by whichever process starts first. */
async function sharedSecret(db: Database): Promise<Buffer> {
  await db.gatewaySecret.createMany({ data: [{ name: SECRET_NAME, value: randomBytes(32) }], skipDuplicates: true });
  const row = await db.gatewaySecret.findUniqueOrThrow({ where: { name: SECRET_NAME } });
  return Buffer.from(row.value);
}

export async function loadReceipts(db: Database): Promise<Receipts> {
  const secret = await sharedSecret(db);
  const mac = (caseId: number): Buffer =>
    createHmac('sha256', secret).update(`case:${caseId}`).digest().subarray(0, RECEIPT_BYTES);
  return {
    sign: (caseId) => mac(caseId).toString('base64url'),
    verify(caseId, receipt) {
      const given = Buffer.from(receipt, 'base64url');
      // base64url decoding is lenient: compare the canonical text too.
      return (
        given.length === RECEIPT_BYTES && given.toString('base64url') === receipt && timingSafeEqual(given, mac(caseId))
      );
    },
  };
}
