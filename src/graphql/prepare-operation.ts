// One admission path for every operation, whatever carried it (GraphQL over
// HTTP, a REST route, a WebSocket subscribe message), in one order:
//   1. rate limit: taken by the caller before any of this, so refused
//      messages count too (admission.ts for HTTP and REST, each subscribe
//      message in subscriptions-route.ts);
//   2. parse, at most MAX_DOCUMENT_TOKENS tokens;
//   3. validate: GraphQL's rules, the operation limits (depth, cost,
//      aliases, a mutation's root fields) and, when it is off, introspection;
//   4. pick the operation (`operationName`);
//   5. the channel's rule: no subscriptions over HTTP (only queries over GET),
//      only subscriptions over a WebSocket;
//   6. @auth: the fields the principal's roles may not use (operation-access.ts).
// Services are the domain's to check, where the data is read.
//
// Steps 2 and 3 depend on the text alone, not on who sent it: their outcome
// is remembered per query text in a bounded LRU, so a repeated query costs a
// map lookup, and a flood of one refused document is refused from the cache.
// Apollo executes the HTTP operations, from `documentStore`, which holds only
// documents prepared here (so Apollo neither parses nor validates again), and
// a plugin (apollo.ts) refuses any document that was not.
import { createHash } from 'node:crypto';
import {
  getOperationAST,
  GraphQLError,
  NoSchemaIntrospectionCustomRule,
  OperationTypeNode,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type ValidationRule,
} from 'graphql';
import { LRUCache } from 'lru-cache';
import { forbiddenError } from '../auth/field-rules.js';
import type { Principal } from '../auth/principal.js';
import type { GraphQLErrorCode } from '../queue/error-codes.js';
import { graphqlError } from './errors.js';
import type { OperationAccess } from './operation-access.js';
import { MAX_DOCUMENT_TOKENS, operationLimits } from './operation-limits.js';

/**
 * What carried the operation. `rest` is a REST route's own document
 * (`fixed`), whose operation the route chose.
 */
export type Channel = 'http-get' | 'http-post' | 'websocket' | 'rest';

export interface Prepared {
  readonly ok: true;
  readonly document: DocumentNode;
  readonly operation: OperationDefinitionNode;
  /** @internal The cache entry, for `hold`. */
  readonly compiled: Compiled;
}

export interface Refused {
  readonly ok: false;
  /** The HTTP status of the refusal; over a WebSocket only the errors are sent. */
  readonly status: 400 | 403 | 405;
  /** Coded (`GRAPHQL_PARSE_FAILED`, `GRAPHQL_VALIDATION_FAILED`, `BAD_REQUEST`, `FORBIDDEN`, ...). */
  readonly errors: readonly GraphQLError[];
  readonly headers?: Readonly<Record<string, string>>;
  /** The operation and its document, once one was picked (the request log names it and its root fields). */
  readonly operation?: OperationDefinitionNode;
  readonly document?: DocumentNode;
}

/** A query text after steps 2 and 3: its document, or why it has none. */
export interface Compiled {
  readonly document: DocumentNode | undefined;
  readonly errors: readonly GraphQLError[];
  /** The text's SHA-256 (hex), Apollo's key, once the document went to Apollo. */
  hash?: string;
  /** Requests Apollo runs from this entry now: it stays in `documentStore` until they are done. */
  holds: number;
  /** Out of the cache (or never in it): it leaves `documentStore` once nothing holds it. */
  evicted: boolean;
}

/** A REST route's document, compiled once at start-up. */
export interface FixedOperation {
  readonly compiled: Compiled;
  readonly document: DocumentNode;
  readonly operation: OperationDefinitionNode;
}

/** Apollo's `documentStore` (a KeyValueCache of documents), of which Apollo only reads. */
export interface DocumentStore {
  get(key: string): Promise<DocumentNode | undefined>;
  set(key: string, value: DocumentNode): Promise<void>;
  delete(key: string): Promise<boolean>;
}

export interface OperationPreparer {
  /** Steps 2 to 6 for one operation of `principal` over `channel`. */
  prepare(
    query: string,
    operationName: string | null | undefined,
    principal: Principal,
    channel: Exclude<Channel, 'rest'>,
  ): Prepared | Refused;
  /** Step 6 for a REST route's document. */
  prepareFixed(fixed: FixedOperation, principal: Principal): Prepared | Refused;
  /** Steps 2 to 4 for a REST route's document, at start-up: throws when the schema does not have what it names. */
  fixed(query: string): FixedOperation;
  /** Keeps a prepared document in `documentStore` until the returned function is called (Apollo runs it meanwhile). */
  hold(prepared: Prepared): () => void;
  /** Whether `document` is one this preparer validated (Apollo's plugin refuses others). */
  validated(document: DocumentNode): boolean;
  readonly documentStore: DocumentStore;
  readonly schema: GraphQLSchema;
}

export interface PreparerOptions {
  /** Whether clients may query the schema (INTROSPECTION_ENABLED). */
  readonly introspection: boolean;
  /** Query text the cache holds, in characters (a parsed document takes ~90 bytes per character). */
  readonly cacheChars?: number;
}

/** ~25 MB of parsed documents: thousands of ordinary queries, a handful of the longest. */
const CACHE_CHARS = 300_000;

const PARSE_FAILED = 'GRAPHQL_PARSE_FAILED';
/** A SHA-256 in hex: the end of Apollo's document store keys. */
const SHA256_HEX_LENGTH = 64;
const VALIDATION_FAILED = 'GRAPHQL_VALIDATION_FAILED';

/** `error` with a code, as Apollo codes the errors of its own parse and validation. */
function coded(error: GraphQLError, code: GraphQLErrorCode): GraphQLError {
  return new GraphQLError(error.message, {
    nodes: error.nodes ?? null,
    source: error.source,
    positions: error.positions,
    originalError: error.originalError ?? undefined,
    extensions: { ...error.extensions, code },
  });
}

const badRequest = (message: string): GraphQLError => graphqlError(message, 'BAD_REQUEST');

/** The channel's rule (step 5), as Apollo and graphql-ws answered it before it moved here. */
function channelRefusal(
  channel: Channel,
  document: DocumentNode,
  operation: OperationDefinitionNode,
): Refused | undefined {
  const kind = operation.operation;
  switch (channel) {
    case 'http-get':
      if (kind === OperationTypeNode.QUERY) return undefined;
      return {
        ok: false,
        status: 405,
        headers: { allow: 'POST' },
        document,
        operation,
        errors: [badRequest(`GET requests only support query operations, not ${kind} operations`)],
      };
    case 'http-post':
      if (kind !== OperationTypeNode.SUBSCRIPTION) return undefined;
      return {
        ok: false,
        status: 400,
        document,
        operation,
        errors: [
          badRequest(
            'Subscription operations are not served over HTTP: open a WebSocket to this URL (graphql-ws protocol)',
          ),
        ],
      };
    case 'websocket':
      if (kind === OperationTypeNode.SUBSCRIPTION) return undefined;
      return {
        ok: false,
        status: 400,
        document,
        operation,
        errors: [badRequest(`Only subscriptions are served over WebSocket: send a ${kind} as an HTTP POST`)],
      };
    case 'rest':
      return undefined;
  }
}

/** Graphql-js's words when it cannot pick the operation (step 4), coded as Apollo codes them. */
function noOperation(operationName: string | null | undefined): Refused {
  const message = operationName
    ? `Unknown operation named "${operationName}".`
    : 'Must provide operation name if query contains multiple operations.';
  return {
    ok: false,
    status: 400,
    errors: [graphqlError(message, 'OPERATION_RESOLUTION_FAILURE')],
  };
}

export function createOperationPreparer(
  schema: GraphQLSchema,
  access: OperationAccess,
  { introspection, cacheChars = CACHE_CHARS }: PreparerOptions,
): OperationPreparer {
  const rules: readonly ValidationRule[] = [
    ...specifiedRules,
    operationLimits(),
    ...(introspection ? [] : [NoSchemaIntrospectionCustomRule]),
  ];
  const validatedDocuments = new WeakSet<DocumentNode>();
  /** Apollo's key (the text's SHA-256) → the entry whose document Apollo runs. */
  const byHash = new Map<string, Compiled>();
  const unindex = (entry: Compiled): void => {
    if (entry.hash !== undefined && byHash.get(entry.hash) === entry) byHash.delete(entry.hash);
  };
  const compiledTexts = new LRUCache<string, Compiled>({
    maxSize: cacheChars,
    // At least 1: lru-cache refuses a size of 0 (the empty text).
    sizeCalculation: (_entry, query) => Math.max(query.length, 1),
    // A document Apollo is about to run stays in `byHash` until released.
    dispose: (entry) => {
      entry.evicted = true;
      if (entry.holds === 0) unindex(entry);
    },
  });

  function compile(query: string): Compiled {
    let document: DocumentNode;
    try {
      document = parse(query, { maxLexicalTokens: MAX_DOCUMENT_TOKENS });
    } catch (error) {
      if (!(error instanceof GraphQLError)) throw error;
      return { document: undefined, errors: [coded(error, PARSE_FAILED)], holds: 0, evicted: false };
    }
    const errors = validate(schema, document, rules);
    if (errors.length > 0)
      return {
        document: undefined,
        errors: errors.map((error) => coded(error, VALIDATION_FAILED)),
        holds: 0,
        evicted: false,
      };
    validatedDocuments.add(document);
    return { document, errors: [], holds: 0, evicted: false };
  }

  function compiled(query: string): Compiled {
    let entry = compiledTexts.get(query);
    if (!entry) {
      entry = compile(query);
      // A text longer than the whole cache is compiled for this request alone.
      if (query.length <= cacheChars) compiledTexts.set(query, entry);
      else entry.evicted = true;
    }
    return entry;
  }

  function authorize(
    entry: Compiled,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    principal: Principal,
  ): Prepared | Refused {
    const forbidden = access(document, operation, principal);
    if (forbidden.length > 0)
      return { ok: false, status: 403, document, operation, errors: [forbiddenError(forbidden)] };
    return { ok: true, document, operation, compiled: entry };
  }

  return {
    prepare(query, operationName, principal, channel) {
      const entry = compiled(query);
      const { document } = entry;
      if (!document) return { ok: false, status: 400, errors: entry.errors };
      const operation = getOperationAST(document, operationName);
      if (!operation) return noOperation(operationName);
      return channelRefusal(channel, document, operation) ?? authorize(entry, document, operation, principal);
    },
    prepareFixed({ compiled: entry, document, operation }, principal) {
      return authorize(entry, document, operation, principal);
    },
    fixed(query) {
      const entry = compile(query);
      const { document } = entry;
      const operation = document ? getOperationAST(document) : null;
      if (!document || !operation)
        throw new Error(
          `a REST route's GraphQL document does not fit schema.graphql: ${
            entry.errors.map((error) => error.message).join('; ') || 'it must have exactly one operation'
          }`,
        );
      return { compiled: entry, document, operation };
    },
    hold({ compiled: entry, document }) {
      // Hashed once per text (Apollo hashes each request's text to look it up).
      entry.hash ??= createHash('sha256').update(query(document)).digest('hex');
      if (byHash.get(entry.hash) !== entry) byHash.set(entry.hash, entry);
      entry.holds += 1;
      return () => {
        entry.holds -= 1;
        if (entry.holds === 0 && entry.evicted) unindex(entry);
      };
    },
    validated: (document) => validatedDocuments.has(document),
    schema,
    documentStore: {
      // Apollo's key is a prefix (its schema's hash and a colon), then the text's SHA-256.
      get: (key) => Promise.resolve(byHash.get(key.slice(-SHA256_HEX_LENGTH))?.document),
      // Apollo stores what it parsed itself; this store holds prepared documents only.
      set: () => Promise.resolve(),
      delete: () => Promise.resolve(false),
    },
  };
}

/** The text a document was parsed from (each prepared document keeps its source). */
function query(document: DocumentNode): string {
  const body = document.loc?.source.body;
  if (body === undefined) throw new Error('a prepared document has no source text');
  return body;
}
