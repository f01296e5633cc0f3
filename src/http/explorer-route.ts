// The API explorer at the GraphQL URL: a browser that opens /graphql (asks
// for HTML, sends no operation) gets GraphiQL; API clients never do. Its
// files are served by explorer-assets.ts, the page by explorer-page.ts.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { explorerPage, sendExplorerPage, type ExplorerPage } from './explorer-page.js';
import { sendError } from './respond.js';
import { GRAPHQL_PATH } from './server.js';

export { EXPLORER_ASSETS_PREFIX, explorerAssetsRoute } from './explorer-assets.js';

/** How much an Accept header wants `type` (`text/html`): the q of its most specific matching range. */
function quality(accept: string, type: string): number {
  const [major] = type.split('/');
  let best = { specificity: -1, q: 0 };
  for (const part of accept.split(',')) {
    const [range = '', ...parameters] = part.split(';').map((piece) => piece.trim().toLowerCase());
    const specificity = range === type ? 2 : range === `${major}/*` ? 1 : range === '*/*' ? 0 : -1;
    if (specificity <= best.specificity) continue;
    const q = parameters.find((parameter) => parameter.startsWith('q='));
    const value = q === undefined ? 1 : Number(q.slice(2));
    best = { specificity, q: Number.isFinite(value) ? value : 0 };
  }
  return best.q;
}

/**
 * Whether a request to the GraphQL URL is a browser opening it: a GET with
 * no `query` parameter that prefers HTML to JSON. `curl` (`*\/*`) and GraphQL
 * clients (JSON) get the GraphQL answer.
 */
export function wantsExplorer(request: IncomingMessage, url: URL): boolean {
  if (request.method !== 'GET' || url.searchParams.has('query')) return false;
  const accept = request.headers.accept ?? '';
  const html = quality(accept, 'text/html');
  return html > 0 && html > quality(accept, 'application/json');
}

/** Answers a browser at the GraphQL URL: the explorer, or a short coded refusal when it is turned off. */
export function explorerPageRoute(enabled: boolean) {
  let page: ExplorerPage | undefined;
  return (response: ServerResponse): void => {
    if (!enabled) {
      sendError(
        response,
        404,
        'NOT_FOUND',
        `The API explorer is turned off on this gateway (EXPLORER_ENABLED=false). Send GraphQL operations to ` +
          `${GRAPHQL_PATH}: POST with a JSON body, or GET with a query parameter.`,
        { vary: 'Accept, Origin' },
      );
      return;
    }
    page ??= explorerPage(GRAPHQL_PATH);
    sendExplorerPage(response, page);
  };
}
