// The explorer's page: GraphiQL (Yoga's build of GraphiQL 5, with the
// explorer plugin) from the gateway's own files, started with the example
// tabs, under a Content-Security-Policy that lets it reach nothing but this
// gateway.
import { createHash } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { EXAMPLE_TABS } from './explorer-examples.js';
import { assetPath } from './explorer-assets.js';

export interface ExplorerPage {
  readonly html: string;
  readonly contentSecurityPolicy: string;
}

/** JSON for a `<script>` element: nothing in it can end the element or start a comment. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replaceAll('<', '\\u003c')
    .replaceAll('>', '\\u003e')
    .replaceAll('&', '\\u0026')
    .replaceAll('\u2028', '\\u2028')
    .replaceAll('\u2029', '\\u2029');
}

/** The page for a GraphQL endpoint at `graphqlPath` (same origin). */
export function explorerPage(graphqlPath: string): ExplorerPage {
  const [firstTab] = EXAMPLE_TABS;
  // renderYogaGraphiQL's options: the url-loader's (endpoint, protocol) and GraphiQL's props.
  const options = {
    title: 'FIFO case gateway',
    endpoint: graphqlPath,
    // Subscriptions go over WebSocket, graphql-ws protocol, at the same URL
    // (the url-loader's SubscriptionProtocol.WS; Yoga's default is SSE).
    subscriptionsProtocol: 'WS',
    defaultTabs: EXAMPLE_TABS,
    // Yoga passes its welcome text as the first editor's content unless told
    // otherwise; this keeps the first tab's example in it instead.
    initialQuery: firstTab?.query ?? '',
    initialVariables: firstTab?.variables ?? '',
  };
  // Monaco asks for a worker by label; these are the package's bundles, from
  // this origin, so no blob: URLs are needed (Yoga's CDN page needs them).
  const workers = {
    editorWorkerService: assetPath('monacoeditorwork/editor.worker.bundle.js'),
    json: assetPath('monacoeditorwork/json.worker.bundle.js'),
    // The package's file name has the double dot.
    graphql: assetPath('monacoeditorwork/graphql.worker..bundle.js'),
  };
  const start = `'use strict';
(function () {
  var options = ${scriptJson(options)};
  var workers = ${scriptJson(workers)};
  self.MonacoEnvironment = {
    globalAPI: false,
    getWorkerUrl: function (_moduleId, label) {
      return workers[label] || workers.editorWorkerService;
    },
  };
  // The schema's documentation is open on a first visit; later, GraphiQL
  // remembers what the visitor had open.
  try {
    if (localStorage.getItem('graphiql:visiblePlugin') === null) {
      localStorage.setItem('graphiql:visiblePlugin', 'Documentation Explorer');
    }
  } catch (ignored) {}
  // Yoga writes the query into the page's URL as ?query=...; a reload would
  // then send it to the endpoint instead of opening the explorer.
  options.onEditQuery = function () {};
  // GraphiQL sends the Headers pane with each HTTP request, but a browser's
  // WebSocket cannot carry headers: the pane's Authorization goes in
  // connection_init's payload instead, where the gateway reads it. The pane's
  // text as last edited (the open tab's), else as GraphiQL stored it.
  var headersText = null;
  options.onEditHeaders = function (text) {
    headersText = text;
  };
  options.connectionParams = function () {
    try {
      var headers = JSON.parse(headersText !== null ? headersText : localStorage.getItem('graphiql:headers') || '{}');
      var authorization = headers.Authorization || headers.authorization;
      return typeof authorization === 'string' ? { authorization: authorization } : {};
    } catch (ignored) {
      return {};
    }
  };
  YogaGraphiQL.renderYogaGraphiQL(document.getElementById('explorer'), options);
})();`;
  const startHash = createHash('sha256').update(start).digest('base64');

  const contentSecurityPolicy = [
    // Anything not allowed below is refused.
    "default-src 'none'",
    // GraphiQL's bundle from this origin, and the one inline start-up script
    // above by its hash: no other inline script, no eval.
    `script-src 'self' 'sha256-${startHash}'`,
    // Monaco's editor, JSON and GraphQL workers, served from this origin.
    "worker-src 'self'",
    // graphiql.css from this origin; Monaco and GraphiQL also write <style>
    // elements and style attributes at run time, which only 'unsafe-inline'
    // allows (styles cannot run code).
    "style-src 'self' 'unsafe-inline'",
    // graphiql.css embeds its fonts and icons as data: URLs.
    "font-src 'self' data:",
    "img-src 'self' data:",
    // Queries and introspection (fetch) and subscriptions (WebSocket) go to
    // this origin only; 'self' covers ws: and wss: to it (CSP Level 3).
    "connect-src 'self'",
    // No <base>, no form posts, no framing by other sites.
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');

  const html = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>FIFO case gateway · GraphiQL</title>
    <link rel="icon" href="data:," />
    <link rel="stylesheet" href="${assetPath('graphiql.css')}" />
  </head>
  <body>
    <noscript>The API explorer (GraphiQL) needs JavaScript. GraphQL requests go to ${graphqlPath} (POST, JSON).</noscript>
    <div id="explorer"></div>
    <script src="${assetPath('yoga-graphiql.umd.js')}"></script>
    <script>${start}</script>
  </body>
</html>
`;
  return { html, contentSecurityPolicy };
}

/** Sends the page; it may change with every deployment, so browsers revalidate it each time. */
export function sendExplorerPage(response: ServerResponse, page: ExplorerPage): void {
  const body = Buffer.from(page.html);
  response.writeHead(200, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': body.length,
    'cache-control': 'no-cache',
    'content-security-policy': page.contentSecurityPolicy,
    // The same URL answers JSON to API clients: caches must keep them apart.
    vary: 'Accept, Origin',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
  });
  response.end(body);
}
