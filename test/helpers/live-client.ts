// Subscriptions over a real WebSocket with the graphql-ws client, as front
// ends use them. Each subscription's results are queued, so a test can wait
// for the next one, or for one that matches, with a deadline.
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print, type GraphQLFormattedError } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

/** One result of a subscription, as the server sent it. */
export interface LiveResult<TData> {
  readonly data?: TData | null | undefined;
  readonly errors?: readonly GraphQLFormattedError[] | undefined;
}

export interface Subscription<TData> {
  /** The next result, in order of arrival; fails after `timeoutMs`. */
  next(timeoutMs?: number): Promise<LiveResult<TData>>;
  /** Skips results until one whose data matches; fails after `timeoutMs`. */
  until(matches: (data: TData) => boolean, timeoutMs?: number): Promise<TData>;
  /** Resolves when the server completes the subscription. */
  readonly completed: Promise<void>;
  /** Results received and not yet taken. */
  queued(): number;
  stop(): void;
}

export interface LiveClient {
  subscribe<TData, TVariables extends Record<string, unknown>>(
    document: TypedDocumentNode<TData, TVariables>,
    variables: TVariables,
  ): Subscription<TData>;
  close(): Promise<void>;
}

/** The WebSocket URL of a gateway's GraphQL URL (same host, port and path). */
export const webSocketUrl = (graphqlUrl: string): string => graphqlUrl.replace(/^http/, 'ws');

/** `authorization`: sent in `connection_init` (`Bearer <API key or token>`). */
export function liveClient(
  graphqlUrl: string,
  options: { retryAttempts?: number; authorization?: string } = {},
): LiveClient {
  const client: Client = createClient({
    url: webSocketUrl(graphqlUrl),
    webSocketImpl: WebSocket,
    retryAttempts: options.retryAttempts ?? 0,
    lazy: true,
    ...(options.authorization ? { connectionParams: { authorization: options.authorization } } : {}),
  });
  return {
    subscribe<TData, TVariables extends Record<string, unknown>>(
      document: TypedDocumentNode<TData, TVariables>,
      variables: TVariables,
    ): Subscription<TData> {
      const results: LiveResult<TData>[] = [];
      let wake: (() => void) | undefined;
      let failure: unknown;
      let done = false;
      let markCompleted!: () => void;
      const completed = new Promise<void>((resolve) => (markCompleted = resolve));
      const notify = () => {
        const waiting = wake;
        wake = undefined;
        waiting?.();
      };
      const stop = client.subscribe<TData>(
        { query: print(document), variables },
        {
          next: (result) => {
            results.push(result);
            notify();
          },
          error: (error: unknown) => {
            failure = error;
            done = true;
            markCompleted();
            notify();
          },
          complete: () => {
            done = true;
            markCompleted();
            notify();
          },
        },
      );
      const next = async (timeoutMs = 10_000): Promise<LiveResult<TData>> => {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
          const result = results.shift();
          if (result) return result;
          if (done) throw new Error(`subscription ended with no further result: ${describe(failure)}`);
          const left = deadline - Date.now();
          if (left <= 0) throw new Error(`no result within ${timeoutMs} ms`);
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, left);
            wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
        }
      };
      return {
        next,
        async until(matches, timeoutMs = 10_000) {
          const deadline = Date.now() + timeoutMs;
          for (;;) {
            const result = await next(Math.max(1, deadline - Date.now()));
            if (result.errors) throw new Error(`subscription error: ${JSON.stringify(result.errors)}`);
            if (result.data && matches(result.data)) return result.data;
          }
        },
        completed,
        queued: () => results.length,
        stop,
      };
    },
    close: async () => {
      await client.dispose();
    },
  };
}

function describe(failure: unknown): string {
  if (failure === undefined) return 'completed';
  if (failure instanceof Error) return failure.message;
  if (Array.isArray(failure)) return JSON.stringify(failure);
  if (typeof failure === 'object' && failure !== null && 'code' in failure) {
    const { code, reason } = failure as { code: unknown; reason?: unknown };
    return `closed ${JSON.stringify(code)} ${typeof reason === 'string' ? reason : ''}`;
  }
  return JSON.stringify(failure);
}
