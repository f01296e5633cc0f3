// One webhook attempt: a POST to an endpoint, answered by an outcome the
// delivery log records, never by an exception for what the network does.
//
// node:http(s) rather than fetch, because the address checks after DNS live
// in an http.Agent (request-filtering-agent), which fetch (undici) cannot use.
// Redirects are never followed (a 3xx could point anywhere, and Standard
// Webhooks senders treat it as a failure). One timer covers the whole attempt:
// DNS, connect, TLS, request, response headers and body. The status line is
// the verdict: a 2xx that arrived in time is DELIVERED whatever its body, even
// one then cut short. The body is read and thrown away, at most
// `maxBodyBytes` of it, so a well-behaved receiver's connection can be reused;
// past that (or when Content-Length says it will be), the response is
// destroyed, which closes the connection, and `truncated` says so. Nothing of
// the URL, the answer or the error message is returned: they may carry tokens
// or personal data, and what is returned is what gets logged.
//
// The timer and the caller's signal are joined by hand rather than with
// AbortSignal.any: on Node 20 a signal made by AbortSignal.any stays reachable
// from a long-lived source signal (≈1.2 KB per call, measured), and a
// worker's abort signal lives as long as the process.
import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressPolicy } from './address-policy.js';

export type AttemptOutcome =
  'DELIVERED' | 'HTTP_ERROR' | 'REDIRECT_REFUSED' | 'TIMEOUT' | 'ADDRESS_REFUSED' | 'NETWORK_ERROR';

export interface AttemptResult {
  readonly outcome: AttemptOutcome;
  /** The response's status; null when no response came. */
  readonly status: number | null;
  /** From the call to the outcome, in whole milliseconds. */
  readonly latencyMs: number;
  /** Whether the response body was left unread past some point (the size cap, the timeout, a reset). */
  readonly truncated: boolean;
  /** A 429's or 503's `Retry-After` header, as sent; null otherwise. */
  readonly retryAfter: string | null;
}

export interface SenderOptions {
  /** The whole attempt, DNS to the body's end. */
  readonly timeoutMs: number;
  /** Response bytes read (and discarded) at most; 64 KiB unless given. */
  readonly maxBodyBytes?: number;
}

/**
 * POSTs `body` with exactly `headers` (plus what node:http adds: host,
 * content-length, connection) and resolves with the outcome. Rejects only
 * when `signal` aborts (with its reason: the caller gave up, there is nothing
 * to record) or for a programming error such as a header value with a line
 * break.
 */
export type Send = (
  url: string,
  headers: Readonly<Record<string, string>>,
  body: string,
  signal?: AbortSignal,
) => Promise<AttemptResult>;

export const DEFAULT_MAX_BODY_BYTES = 65_536;

/**
 * request-filtering-agent refuses an address with a plain Error whose text is
 * all there is to recognise it by: `DNS lookup 127.0.0.1(family:4,
 * host:localhost) is not allowed. Because, It is private IP address.`
 * test/webhooks/ssrf.test.ts pins it, so an upgrade that rewords it fails there.
 */
const AGENT_REFUSAL = /^DNS lookup .* is not allowed\. Because/;

/** Whether an error (or one it wraps: a cause, an AggregateError's errors) is the agent's refusal. */
export function isAddressRefusal(error: unknown, depth = 0): boolean {
  if (!(error instanceof Error) || depth > 3) return false;
  if (AGENT_REFUSAL.test(error.message)) return true;
  if (isAddressRefusal(error.cause, depth + 1)) return true;
  return error instanceof AggregateError && error.errors.some((each) => isAddressRefusal(each, depth + 1));
}

/** What a rejection carries: the caller's abort reason, or an Error wrapping a reason that is not one. */
const abandoned = (reason: unknown): Error =>
  reason instanceof Error ? reason : new Error('webhook attempt abandoned', { cause: reason });

const verdict = (status: number): AttemptOutcome =>
  status >= 200 && status < 300 ? 'DELIVERED' : status >= 300 && status < 400 ? 'REDIRECT_REFUSED' : 'HTTP_ERROR';

export function createSender(
  policy: AddressPolicy,
  { timeoutMs, maxBodyBytes = DEFAULT_MAX_BODY_BYTES }: SenderOptions,
): Send {
  return (url, headers, body, signal) =>
    new Promise<AttemptResult>((resolve, reject) => {
      if (signal?.aborted === true) {
        reject(abandoned(signal.reason));
        return;
      }
      const started = performance.now();
      const result = (
        outcome: AttemptOutcome,
        status: number | null,
        truncated = false,
        retryAfter: string | null = null,
      ): AttemptResult => ({
        outcome,
        status,
        latencyMs: Math.round(performance.now() - started),
        truncated,
        retryAfter,
      });
      // Checked again at send: the rules or WEBHOOK_ALLOWED_HOSTS may have changed since the URL was stored.
      if (policy.urlProblem(url) !== null) {
        resolve(result('ADDRESS_REFUSED', null));
        return;
      }
      const target = new URL(url);

      const controller = new AbortController();
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        controller.abort();
      }, timeoutMs);
      const onCallerAbort = (): void => controller.abort();
      signal?.addEventListener('abort', onCallerAbort, { once: true });

      let settled = false;
      const settle = (): boolean => {
        if (settled) return false;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onCallerAbort);
        return true;
      };
      const finish = (answer: AttemptResult): void => {
        if (settle()) resolve(answer);
      };
      const fail = (reason: unknown): void => {
        if (settle()) reject(abandoned(reason));
      };

      let response: IncomingMessage | undefined;
      const onResponse = (res: IncomingMessage): void => {
        response = res;
        const status = res.statusCode ?? 0;
        const retryAfter = status === 429 || status === 503 ? (res.headers['retry-after'] ?? null) : null;
        let read = 0;
        let cut = false;
        const stop = (): void => {
          cut = true;
          res.destroy();
        };
        // Whatever ends the body (its end, the cap, the timer, a reset), `close` follows.
        res.on('error', () => undefined);
        res.once('close', () => {
          if (signal?.aborted === true) fail(signal.reason);
          else finish(result(verdict(status), status, cut || !res.complete, retryAfter));
        });
        if (Number(res.headers['content-length']) > maxBodyBytes) {
          stop();
          return;
        }
        res.on('data', (chunk: Buffer) => {
          read += chunk.length;
          if (read > maxBodyBytes) stop();
        });
      };

      const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
      let request: ClientRequest;
      try {
        request = send(target, { method: 'POST', agent: policy.agentFor(target), headers, signal: controller.signal });
      } catch (error) {
        // A header value node:http refuses (a line break): the caller's mistake, not the network's.
        fail(error);
        return;
      }
      request.once('response', onResponse);
      request.on('error', (error) => {
        // Once the response has begun, its `close` decides: the status has been seen.
        if (response !== undefined) return;
        if (signal?.aborted === true) fail(signal.reason);
        else if (timedOut) finish(result('TIMEOUT', null));
        else if (isAddressRefusal(error)) finish(result('ADDRESS_REFUSED', null));
        else finish(result('NETWORK_ERROR', null));
      });
      request.end(body);
    });
}
