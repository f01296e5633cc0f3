// GET and HEAD /metrics: the Prometheus text exposition of the gateway's
// metrics. Answers 404 like any unknown path when metrics are off, and wants
// `Authorization: Bearer <METRICS_TOKEN>` when a token is set.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
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

export function metricsRoute({ settings, registry }: Pick<GatewayMetrics, 'settings' | 'registry'>) {
  return async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    if (!settings.enabled) {
      sendError(response, 404, 'NOT_FOUND', `Nothing at "${METRICS_PATH}": GraphQL is at ${GRAPHQL_PATH}`);
      return;
    }
    if (settings.token !== undefined && !bearerMatches(request.headers.authorization, settings.token)) {
      sendError(response, 401, 'UNAUTHENTICATED', 'Metrics want the header "Authorization: Bearer <METRICS_TOKEN>"', {
        'www-authenticate': 'Bearer realm="metrics"',
      });
      return;
    }
    if (!readOnly(request, response)) return;
    const text = await registry.metrics();
    response.writeHead(200, {
      'content-type': registry.contentType,
      'content-length': Buffer.byteLength(text),
      'cache-control': 'no-store',
    });
    response.end(text);
  };
}
