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

/** Strict UTF-8; one for every request (each `decode` without `stream` starts afresh). */
const UTF8 = new TextDecoder('utf-8', { fatal: true });

function decoded(bytes: Uint8Array): string {
  try {
    // fatal: a malformed sequence throws instead of becoming U+FFFD.
    return UTF8.decode(bytes);
  } catch {
    throw new BodyNotUtf8();
  }
}

export async function readBody(request: IncomingMessage, limit = MAX_BODY_BYTES): Promise<string> {
  const declared = Number(request.headers['content-length'] ?? 0);
  if (declared > limit) throw new BodyTooLarge();
  // The usual small body came with its headers: all of it waits already, and is read at once.
  const whole = wholeBody(request, declared);
  if (whole !== undefined) return decoded(whole);
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
  return decoded(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks));
}

/**
 * The body, when all `declared` bytes (its Content-Length) have arrived and
 * wait unread; otherwise undefined, and it is read as it comes.
 */
function wholeBody(request: IncomingMessage, declared: number): Buffer | undefined {
  if (
    declared === 0 ||
    request.readableLength !== declared ||
    request.readableDidRead ||
    request.readableFlowing ||
    request.destroyed
  )
    return undefined;
  const body = request.read() as Buffer | null;
  // What is left is the end of the message: let it come, so the request ends
  // (and is cleaned up) as it does when read to its end.
  request.resume();
  return body ?? undefined;
}
