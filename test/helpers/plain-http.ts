// One HTTP request over a connection of its own through node:http, for what
// fetch may not send: a Host header of the test's choosing, a local address
// other than 127.0.0.1 (on Linux all of 127/8 is this machine).
import { request as httpRequest, type OutgoingHttpHeaders } from 'node:http';

export interface PlainAnswer {
  readonly status: number;
  readonly body: string;
}

export interface PlainRequest {
  /** The address the request comes from; 127.0.0.1 unless given. */
  readonly localAddress?: string;
  readonly method?: string;
  /** `host` here replaces the one node:http would send. */
  readonly headers?: OutgoingHttpHeaders;
  readonly body?: string;
}

/** Sends a request to 127.0.0.1:`port` and resolves with the answer; fails after 10 s without one. */
export function plainRequest(
  port: number,
  path: string,
  { localAddress = '127.0.0.1', method = 'GET', headers = {}, body }: PlainRequest = {},
): Promise<PlainAnswer> {
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(
      { host: '127.0.0.1', port, path, method, localAddress, headers, agent: false, timeout: 10_000 },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
        response.on('error', reject);
      },
    );
    outgoing.on('timeout', () => outgoing.destroy(new Error(`no answer to ${method} ${path} within 10 s`)));
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}
