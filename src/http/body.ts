// Reads a request body with a size limit, so one client cannot exhaust memory,
// and as strict UTF-8, so a malformed byte is refused rather than stored as U+FFFD.
import type { IncomingMessage } from 'node:http';

export const MAX_BODY_BYTES = 1024 * 1024;

export class BodyTooLarge extends Error {
  override readonly name = 'BodyTooLarge';
}

export class BodyNotUtf8 extends Error {
  override readonly name = 'BodyNotUtf8';
}

/** The client went away (or was timed out) before sending the whole body: nobody to answer. */
export class BodyAborted extends Error {
  override readonly name = 'BodyAborted';
}

export async function readBody(request: IncomingMessage, limit = MAX_BODY_BYTES): Promise<string> {
  const declared = Number(request.headers['content-length'] ?? 0);
  if (declared > limit) throw new BodyTooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of request as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > limit) throw new BodyTooLarge();
      chunks.push(chunk);
    }
  } catch (error) {
    if (error instanceof BodyTooLarge) throw error;
    throw new BodyAborted('request body ended early', { cause: error });
  }
  try {
    // fatal: a malformed sequence throws instead of becoming U+FFFD.
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks));
  } catch {
    throw new BodyNotUtf8();
  }
}
