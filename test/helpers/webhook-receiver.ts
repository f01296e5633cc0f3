// A webhook receiver on loopback for the delivery tests: it records every
// request and answers each as its policy says (a status, with headers or not,
// or never), or holds them all until released; it verifies signatures as a
// receiver would, with the standardwebhooks package.
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface ReceivedWebhook {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  /** What it was answered; `held` until release(), `hung` for never. */
  status: number | 'held' | 'hung';
}

/** How a request is answered: a status, a status with headers, or never. */
export type ReceiverAnswer = number | { readonly status: number; readonly headers: Record<string, string> } | 'hang';

export class WebhookReceiver {
  readonly received: ReceivedWebhook[] = [];
  /** How request number `index` (from 0) is answered. */
  policy: (index: number) => ReceiverAnswer = () => 204;
  /** While true, requests are held unanswered; release() answers them 503. */
  holding = false;
  private readonly held: ServerResponse[] = [];
  private readonly server = createServer((request, response) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (body += chunk));
    request.on('end', () => {
      const entry: ReceivedWebhook = { headers: request.headers, body, status: 'held' };
      const index = this.received.push(entry) - 1;
      if (this.holding) {
        this.held.push(response);
        return;
      }
      const answer = this.policy(index);
      if (answer === 'hang') {
        entry.status = 'hung';
        return;
      }
      const { status, headers } = typeof answer === 'number' ? { status: answer, headers: {} } : answer;
      entry.status = status;
      response.writeHead(status, headers).end();
    });
  });

  /** Listens on a free loopback port; the URL to register. */
  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`;
  }

  /** Stops holding, and answers the held requests 503. */
  release(): void {
    this.holding = false;
    for (const response of this.held.splice(0)) if (!response.destroyed) response.writeHead(503).end();
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  /** The first 2xx receipt of each webhook-id, in arrival order. */
  delivered(): ReceivedWebhook[] {
    const seen = new Set<string>();
    return this.received.filter((entry) => {
      const id = String(entry.headers['webhook-id']);
      if (typeof entry.status !== 'number' || entry.status < 200 || entry.status >= 300 || seen.has(id)) return false;
      seen.add(id);
      return true;
    });
  }

  /** The requests whose signature does not verify with `secret`, as the standardwebhooks package checks it. */
  unverified(secret: string): ReceivedWebhook[] {
    const verifier = new Webhook(secret);
    return this.received.filter((entry) => {
      try {
        verifier.verify(entry.body, {
          'webhook-id': String(entry.headers['webhook-id']),
          'webhook-timestamp': String(entry.headers['webhook-timestamp']),
          'webhook-signature': String(entry.headers['webhook-signature']),
        });
        return false;
      } catch {
        return true;
      }
    });
  }
}
