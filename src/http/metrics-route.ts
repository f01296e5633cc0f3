// GET and HEAD /metrics: the Prometheus text exposition of the gateway's
// metrics. Answers 404 like any unknown path when metrics are off. With
// METRICS_TOKEN set, it wants `Authorization: Bearer <METRICS_TOKEN>`; without
// one, it answers only while the gateway is open (development) and 401 once
// credentials are required, which may begin at run time (the first API key).
// The API's credentials, ADMIN included, do not open it: one token, one
// check, and no second path into the admission (docs/operations.md, "Metrics").
// With GATEWAY_WORKERS > 1 the worker that got the scrape checks it and
// answers for every worker, or 503 when the primary has no answer in time
// (src/metrics/cluster-metrics.ts): never for itself alone.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Authenticator } from '../auth/authenticate.js';
import type { Logger } from '../log.js';
import { MetricsUnavailableError } from '../metrics/cluster-metrics.js';
import type { GatewayMetrics } from '../metrics/gateway-metrics.js';
import { readOnly } from './read-only.js';
import { sendError } from './respond.js';
import { GRAPHQL_PATH } from './server.js';

export const METRICS_PATH = '/metrics';

const BEARER = /^Bearer +(\S+) *$/i;

/** Digests of equal length, compared in constant time, so the comparison tells nothing of the token. */
const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

function bearerMatches(header: string | undefined, token: string): boolean {
  const given = header === undefined ? undefined : BEARER.exec(header)?.[1];
  return given !== undefined && timingSafeEqual(digest(given), digest(token));
}

/**
 * `authenticator` is asked, on every scrape without METRICS_TOKEN, whether it
 * admits a request without credentials now: the question an anonymous request
 * asks, which also notices the first API key. Its `mode` alone would not: it
 * changes only once an anonymous request has asked, and with clients that all
 * send credentials, none does.
 */
export function metricsRoute(
  { settings, registry, scrape }: Pick<GatewayMetrics, 'settings' | 'registry' | 'scrape'>,
  authenticator: Pick<Authenticator, 'authenticate'>,
  log: Logger,
) {
  let warned = false;
  /** Without a token, only an open gateway shows its metrics; a check that fails (database down) counts as closed. */
  const closedWithoutToken = async (): Promise<boolean> => {
    const open = await authenticator.authenticate(undefined).then(
      (authentication) => authentication.ok,
      () => undefined,
    );
    // Once: a gateway that requires credentials never opens again.
    if (open === false && !warned) {
      warned = true;
      log.warn('metrics: /metrics answers 401 while credentials are required and METRICS_TOKEN is unset');
    }
    return open !== true;
  };
  return async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    if (!settings.enabled) {
      sendError(response, 404, 'NOT_FOUND', `Nothing at "${METRICS_PATH}": GraphQL is at ${GRAPHQL_PATH}`);
      return;
    }
    const refused =
      settings.token === undefined
        ? await closedWithoutToken()
        : !bearerMatches(request.headers.authorization, settings.token);
    if (refused) {
      // The same answer with and without a token set: it tells a caller nothing of the configuration.
      sendError(response, 401, 'UNAUTHENTICATED', 'Metrics want the header "Authorization: Bearer <METRICS_TOKEN>"', {
        'www-authenticate': 'Bearer realm="metrics"',
      });
      return;
    }
    if (!readOnly(request, response)) return;
    let text: string;
    try {
      text = await scrape();
    } catch (error) {
      if (!(error instanceof MetricsUnavailableError)) throw error;
      const message = `Metrics for all the gateway's workers are not available now: ${error.message}`;
      sendError(response, 503, 'METRICS_UNAVAILABLE', message);
      return;
    }
    response.writeHead(200, {
      'content-type': registry.contentType,
      'content-length': Buffer.byteLength(text),
      'cache-control': 'no-store',
    });
    response.end(text);
  };
}
