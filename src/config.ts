// Configuration from environment variables, validated once at start-up.
import { availableParallelism } from 'node:os';
import { isIP } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { parseRoleMap } from './auth/role-claims.js';
import { isDatabaseUrl } from './db/database-url.js';
import { listedHost } from './webhooks/address-policy.js';

/** The project's root folder (this file is src/config.ts). */
export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const PRISMA_SCHEMA_FILE = join(PROJECT_ROOT, 'prisma', 'schema.prisma');
export const MIGRATIONS_DIR = join(PROJECT_ROOT, 'prisma', 'migrations');
/** The datamodel the migrations produce; `migrate:new` diffs from it. */
export const MIGRATED_SCHEMA_FILE = join(MIGRATIONS_DIR, 'schema.snapshot.prisma');
export const SCHEMA_FILE = join(PROJECT_ROOT, 'schema.graphql');

/** `auto`: readable lines when stdout is a terminal, JSON lines otherwise (src/log-format.ts). */
export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;

const port = z.coerce.number().int().min(0).max(65535);
/** `https://host[:port]` exactly as a browser sends it in `Origin`. */
const isOrigin = (value: string): boolean =>
  URL.canParse(value) && /^https?:$/.test(new URL(value).protocol) && new URL(value).origin === value;
/** An IPv4 or IPv6 address, or a network in CIDR notation (`10.0.0.0/8`, `fd00::/8`). */
const isProxyAddress = (value: string): boolean => {
  const [address = '', bits, ...rest] = value.split('/');
  const version = isIP(address);
  if (version === 0 || rest.length > 0) return false;
  if (bits === undefined) return true;
  return /^\d{1,3}$/.test(bits) && Number(bits) <= (version === 4 ? 32 : 128);
};
/** A host name or address as it appears in a Host header, without the port (IPv6 in brackets). */
const isHostName = (value: string): boolean =>
  /^\[[0-9a-f:.]+\]$/i.test(value)
    ? isIP(value.slice(1, -1)) === 6
    : /^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/i.test(value);
/** `true`/`false` (also `1`/`0`, `yes`/`no`, `on`/`off`), `fallback` when unset. */
const flag = (fallback: boolean) =>
  z.preprocess(
    blankAsAbsent,
    z
      .enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'], { error: 'must be true or false' })
      .transform((value) => ['true', '1', 'yes', 'on'].includes(value))
      .default(fallback),
  );
const blankAsAbsent = (value: unknown) => (value === '' ? undefined : value);
/** `a, b,c` → `['a', 'b', 'c']`: items trimmed, empty ones dropped. */
const commaList = z.string().transform((value) =>
  value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== ''),
);
/** A duration in milliseconds from `min` to `max`, `fallback` when unset. */
const millis = (fallback: number, min = 1, max = 3_600_000) =>
  z.preprocess(blankAsAbsent, z.coerce.number().int().min(min).max(max).default(fallback));

/** A whole number from `min` to `max`, `fallback` when unset. */
const count = (fallback: number, min: number, max: number) =>
  z.preprocess(blankAsAbsent, z.coerce.number().int().min(min).max(max).default(fallback));

/** A WEBHOOK_ALLOWED_HOSTS entry: a bare host name or IP address, as the address policy reads it. */
const isListableHost = (entry: string): boolean => {
  try {
    listedHost(entry);
    return true;
  } catch {
    return false;
  }
};

const DAY_MS = 86_400_000;

/** A libpq connection URL, one host or several (db/database-url.ts). */
const databaseUrl = z
  .string()
  .refine(
    isDatabaseUrl,
    'must be a postgresql:// connection URL (several hosts as host1:port1,host2:port2, target_session_attrs one of any, read-write, read-only, primary, standby, prefer-standby)',
  );

const environment = z
  .object({
    PORT: z.preprocess(blankAsAbsent, port.default(4000)),
    HOST: z.preprocess(blankAsAbsent, z.string().min(1).default('127.0.0.1')),
    DATABASE_URL: z.preprocess(blankAsAbsent, databaseUrl.optional()),
    DATABASE_READ_URL: z.preprocess(blankAsAbsent, databaseUrl.optional()),
    READ_MAX_LAG_MS: millis(1_000, 0, 600_000),
    DATABASE_OUTCOME_TIMEOUT_MS: millis(30_000, 1_000),
    GATEWAY_WORKERS: z.preprocess(
      blankAsAbsent,
      z.union([z.literal('auto'), z.coerce.number().int().min(1).max(256)]).default(1),
    ),
    DATABASE_POOL_SIZE: z.preprocess(blankAsAbsent, z.coerce.number().int().min(1).max(500).default(10)),
    DATABASE_HOT_POOL_SIZE: z.preprocess(blankAsAbsent, z.coerce.number().int().min(1).max(100).default(4)),
    SHUTDOWN_GRACE_MS: z.preprocess(blankAsAbsent, z.coerce.number().int().min(0).max(600_000).default(10_000)),
    DATABASE_STATEMENT_TIMEOUT_MS: millis(10_000),
    DATABASE_LOCK_TIMEOUT_MS: millis(5_000),
    DATABASE_ACQUIRE_TIMEOUT_MS: millis(5_000),
    HEALTH_TIMEOUT_MS: millis(1_000),
    HTTP_HEADERS_TIMEOUT_MS: millis(10_000),
    HTTP_REQUEST_TIMEOUT_MS: millis(30_000),
    HTTP_KEEP_ALIVE_TIMEOUT_MS: millis(5_000),
    HTTP_IDLE_TIMEOUT_MS: millis(120_000),
    HTTP_MAX_CONNECTIONS: z.preprocess(blankAsAbsent, z.coerce.number().int().min(1).max(1_000_000).default(1_024)),
    HTTP_MAX_CONNECTIONS_PER_ADDRESS: z.preprocess(
      blankAsAbsent,
      z.coerce.number().int().min(1).max(1_000_000).default(128),
    ),
    HTTP_FIRST_BYTE_TIMEOUT_MS: millis(5_000),
    TRUST_PROXY: z.preprocess(
      blankAsAbsent,
      commaList
        .refine(
          (entries) => entries.every(isProxyAddress),
          'must be a comma-separated list of proxy addresses or networks such as 10.0.0.0/8, 192.0.2.7, fd00::/8',
        )
        .default([]),
    ),
    ALLOWED_HOSTS: z.preprocess(
      blankAsAbsent,
      commaList
        .refine(
          (hosts) => hosts.every((host) => host === '*' || isHostName(host)),
          'must be `*` or a comma-separated list of host names as clients send them in Host, such as gateway.example.org or 10.0.0.5 (no scheme, no port)',
        )
        .default([]),
    ),
    EXPLORER_ENABLED: flag(true),
    INTROSPECTION_ENABLED: flag(true),
    LIVE_MAX_SUBSCRIPTIONS_PER_CONNECTION: z.preprocess(
      blankAsAbsent,
      z.coerce.number().int().min(1).max(1_000).default(20),
    ),
    LIVE_MAX_BUFFERED_BYTES: z.preprocess(
      blankAsAbsent,
      z.coerce
        .number()
        .int()
        .min(1_024)
        .max(1024 ** 3)
        .default(1024 ** 2),
    ),
    LIVE_KEEP_ALIVE_MS: millis(12_000, 100),
    LIVE_CONNECTION_INIT_TIMEOUT_MS: millis(5_000, 100),
    LIVE_MIN_INTERVAL_MS: millis(50, 0, 60_000),
    CORS_ORIGINS: z.preprocess(
      blankAsAbsent,
      commaList
        .refine(
          (origins) => origins.every((origin) => origin === '*' || isOrigin(origin)),
          'must be `*` or a comma-separated list of origins such as https://kiosk.example.org (scheme, host, port; no path)',
        )
        .default([]),
    ),
    LOG_LEVEL: z.preprocess(
      blankAsAbsent,
      z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    ),
    LOG_FORMAT: z.preprocess(
      blankAsAbsent,
      z.enum(LOG_FORMATS, { error: `must be one of ${LOG_FORMATS.join(', ')}` }).default('auto'),
    ),
    METRICS_ENABLED: flag(true),
    METRICS_TOKEN: z.preprocess(blankAsAbsent, z.string().min(16, 'must be at least 16 characters').optional()),
    METRICS_OPERATION_NAMES: z.preprocess(
      blankAsAbsent,
      commaList
        .refine(
          (names) => names.every((name) => /^[_A-Za-z][_0-9A-Za-z]{0,99}$/.test(name)),
          'must be a comma-separated list of GraphQL operation names',
        )
        .default([]),
    ),
    AUTH_MODE: z.preprocess(blankAsAbsent, z.enum(['auto', 'open', 'required']).default('auto')),
    AUTH_KEY_CACHE_MS: millis(5_000, 0, 600_000),
    AUTH_JWT_ISSUER: z.preprocess(blankAsAbsent, z.string().optional()),
    AUTH_JWT_AUDIENCE: z.preprocess(blankAsAbsent, z.string().optional()),
    AUTH_JWT_JWKS_URL: z.preprocess(
      blankAsAbsent,
      z
        .string()
        .refine((value) => URL.canParse(value) && /^https?:$/.test(new URL(value).protocol), 'must be an http(s) URL')
        .optional(),
    ),
    AUTH_JWT_PUBLIC_KEYS: z.preprocess(blankAsAbsent, z.string().optional()),
    AUTH_JWT_ALGORITHMS: z.preprocess(
      blankAsAbsent,
      commaList
        .refine(
          (list) => list.length > 0 && list.every((each) => /^(RS|PS|ES)(256|384|512)$|^EdDSA$|^Ed25519$/.test(each)),
          'must be a comma-separated list of asymmetric JWS algorithms such as RS256,ES256,EdDSA',
        )
        .default(['RS256', 'PS256', 'ES256', 'EdDSA']),
    ),
    AUTH_JWT_ROLES_CLAIM: z.preprocess(blankAsAbsent, z.string().min(1).default('roles')),
    AUTH_JWT_ROLE_MAP: z.preprocess(
      blankAsAbsent,
      z
        .string()
        .superRefine((text, context) => {
          const parsed = parseRoleMap(text);
          if ('problem' in parsed) context.addIssue({ code: 'custom', message: parsed.problem });
        })
        .optional(),
    ),
    AUTH_JWT_NAME_CLAIM: z.preprocess(blankAsAbsent, z.string().min(1).default('preferred_username')),
    AUTH_JWT_SERVICES_CLAIM: z.preprocess(blankAsAbsent, z.string().min(1).optional()),
    AUTH_JWT_CLOCK_TOLERANCE_S: z.preprocess(blankAsAbsent, z.coerce.number().int().min(0).max(300).default(30)),
    RATE_LIMIT_WINDOW_MS: millis(10_000, 1_000, 3_600_000),
    RATE_LIMIT_PER_CREDENTIAL: z.preprocess(
      blankAsAbsent,
      z.coerce.number().int().min(0).max(10_000_000).default(1_000),
    ),
    RATE_LIMIT_PER_ADDRESS: z.preprocess(blankAsAbsent, z.coerce.number().int().min(0).max(10_000_000).default(100)),
    RATE_LIMIT_SYNC_MS: millis(100, 10, 10_000),
    WEBHOOK_ALLOWED_HOSTS: z.preprocess(
      blankAsAbsent,
      commaList
        .refine(
          (entries) => entries.every(isListableHost),
          'must be a comma-separated list of host names or IP addresses such as hooks.internal, 127.0.0.1 or ::1 (no scheme, port or path)',
        )
        // As URLs write hosts (lower case, IPv6 without brackets), each once.
        .transform((entries) => [...new Set(entries.map(listedHost))])
        .default([]),
    ),
    WEBHOOK_DELIVERY: z.preprocess(blankAsAbsent, z.enum(['auto', 'on', 'off']).default('auto')),
    WEBHOOK_TIMEOUT_MS: millis(10_000, 1, 600_000),
    WEBHOOK_RETRY_BASE_MS: millis(5_000, 1, DAY_MS),
    WEBHOOK_RETRY_MAX_MS: millis(3_600_000, 1, DAY_MS),
    WEBHOOK_FAIL_AFTER_MS: millis(DAY_MS, 1, 30 * DAY_MS),
    WEBHOOK_CONCURRENCY: count(4, 1, 64),
    WEBHOOK_POLL_MS: millis(250, 10, 60_000),
    WEBHOOK_SECRET_OVERLAP_MS: millis(DAY_MS, 0, 7 * DAY_MS),
    WEBHOOK_RETENTION_DAYS: count(30, 1, 3_650),
    EMBEDDED_PG_DATA_DIR: z.preprocess(blankAsAbsent, z.string().default(join(PROJECT_ROOT, '.data', 'postgres'))),
    EMBEDDED_PG_PORT: z.preprocess(blankAsAbsent, port.min(1).optional()),
    EMBEDDED_PG_OS_USER: z.preprocess(
      blankAsAbsent,
      z
        .string()
        .regex(/^[a-z_][a-z0-9_-]*$/)
        .default('postgres'),
    ),
    EMBEDDED_PG_STAGE_DIR: z.preprocess(blankAsAbsent, z.string().default('/var/lib/fifo-case-gateway')),
  })
  .refine((value) => value.AUTH_JWT_JWKS_URL === undefined || value.AUTH_JWT_PUBLIC_KEYS === undefined, {
    path: ['AUTH_JWT_PUBLIC_KEYS'],
    error: 'set AUTH_JWT_JWKS_URL or AUTH_JWT_PUBLIC_KEYS, not both',
  })
  .refine(
    (value) =>
      (value.AUTH_JWT_JWKS_URL === undefined && value.AUTH_JWT_PUBLIC_KEYS === undefined) ||
      (value.AUTH_JWT_ISSUER !== undefined && value.AUTH_JWT_AUDIENCE !== undefined),
    {
      path: ['AUTH_JWT_ISSUER'],
      error: 'tokens are only accepted with AUTH_JWT_ISSUER and AUTH_JWT_AUDIENCE both set',
    },
  )
  // Half an identity provider is a mistake to report, not a reason to run without one.
  .refine(
    (value) =>
      value.AUTH_JWT_JWKS_URL !== undefined ||
      value.AUTH_JWT_PUBLIC_KEYS !== undefined ||
      [value.AUTH_JWT_ISSUER, value.AUTH_JWT_AUDIENCE, value.AUTH_JWT_ROLE_MAP, value.AUTH_JWT_SERVICES_CLAIM].every(
        (each) => each === undefined,
      ),
    {
      path: ['AUTH_JWT_JWKS_URL'],
      error:
        'AUTH_JWT_ISSUER, AUTH_JWT_AUDIENCE, AUTH_JWT_ROLE_MAP or AUTH_JWT_SERVICES_CLAIM is set: set AUTH_JWT_JWKS_URL or AUTH_JWT_PUBLIC_KEYS too',
    },
  )
  .refine((value) => value.HTTP_HEADERS_TIMEOUT_MS <= value.HTTP_REQUEST_TIMEOUT_MS, {
    path: ['HTTP_HEADERS_TIMEOUT_MS'],
    error: 'must not be longer than HTTP_REQUEST_TIMEOUT_MS (the headers are part of the request)',
  })
  .refine((value) => value.WEBHOOK_RETRY_BASE_MS <= value.WEBHOOK_RETRY_MAX_MS, {
    path: ['WEBHOOK_RETRY_BASE_MS'],
    error: 'must not be longer than WEBHOOK_RETRY_MAX_MS (the first wait is the shortest)',
  });

export interface Config {
  readonly port: number;
  readonly host: string;
  /** An external PostgreSQL; when absent the gateway runs an embedded one. */
  readonly databaseUrl: string | undefined;
  /**
   * Where what screens poll is read (hot standbys); absent: the primary, or
   * the standbys of DATABASE_URL when it says target_session_attrs=prefer-standby.
   */
  readonly databaseReadUrl: string | undefined;
  /** A standby further behind the primary than this is not read from (the primary is). */
  readonly readMaxLagMs: number;
  /** Gateway processes on the one port (GATEWAY_WORKERS; `auto`: one per core). */
  readonly workers: number;
  readonly databasePoolSize: number;
  /** Connections kept apart for the batched enqueue and call-next statements. */
  readonly databaseHotPoolSize: number;
  /** How long shutdown waits for requests in flight before closing their connections. */
  readonly shutdownGraceMs: number;
  readonly timeouts: {
    /** A statement running longer is cancelled (PostgreSQL's statement_timeout, and on the client side). */
    readonly statementMs: number;
    /** Waiting longer for a row lock fails the statement (PostgreSQL's lock_timeout). */
    readonly lockMs: number;
    /** Waiting longer for a pool connection, or to open one, fails the request. */
    readonly acquireMs: number;
    /** `/health` answers 503 when the database has not answered within this. */
    readonly healthMs: number;
    /**
     * How long a write whose commit was not confirmed (the connection lost
     * after it was sent) is looked for on the writable server, from then on,
     * before its request is answered that the database is unavailable.
     */
    readonly outcomeMs: number;
  };
  readonly http: {
    /** A client must send a request's headers within this after it starts. */
    readonly headersTimeoutMs: number;
    /** A client must send a whole request, body included, within this. */
    readonly requestTimeoutMs: number;
    /** An idle kept-alive connection is closed after this. */
    readonly keepAliveTimeoutMs: number;
    /** Connections beyond this many at once are refused. */
    readonly maxConnections: number;
    /** A connection with no traffic either way for this long is closed (e.g. a client that stops reading). */
    readonly idleTimeoutMs: number;
    /** Connections one client address (IPv6: one /64) may hold at once; further ones are refused. */
    readonly maxConnectionsPerAddress: number;
    /** A new connection that sends no byte within this is closed. */
    readonly firstByteTimeoutMs: number;
  };
  /**
   * Addresses (or CIDR networks) of the proxies in front of the gateway: for
   * requests from them the client address is taken from `X-Forwarded-For`.
   * Empty: the socket's peer is the client.
   */
  readonly trustProxy: readonly string[];
  /**
   * Host names requests may name in `Host` where the gateway checks it (open
   * mode, every WebSocket), against DNS rebinding; `*` for any. Always
   * includes the loopback names and a specific `HOST`.
   */
  readonly allowedHosts: readonly string[];
  /** GraphiQL at the GraphQL URL for browsers. */
  readonly explorer: boolean;
  /** Whether clients may query the schema (`__schema`, `__type`). */
  readonly introspection: boolean;
  /** Origins of browser front ends that may call the gateway (CORS); `*` for any; none by default. */
  readonly corsOrigins: readonly string[];
  /** The least severe log level written (pino's levels; `silent` writes nothing). */
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** JSON lines, readable lines, or (`auto`) readable only when stdout is a terminal. */
  readonly logFormat: (typeof LOG_FORMATS)[number];
  readonly metrics: {
    /** Whether `/metrics` answers (Prometheus text format). */
    readonly enabled: boolean;
    /** When set, `/metrics` wants `Authorization: Bearer <token>`. */
    readonly token: string | undefined;
    /** Operation names that may become metric labels, besides those of `operations/`; others are `other`. */
    readonly operationNames: readonly string[];
  };
  readonly auth: {
    /**
     * `required`: every request needs a credential. `open`: none does, everyone
     * is an administrator (development only). `auto`: open only on a loopback
     * address with no credentials configured, required otherwise (auth-mode.ts).
     */
    readonly mode: 'auto' | 'open' | 'required';
    /** How long a verified API key is trusted before it is looked up again (revocations elsewhere take this long). */
    readonly keyCacheMs: number;
    /** People's bearer tokens (JWT); absent when no identity provider is configured. */
    readonly jwt: JwtConfig | undefined;
  };
  readonly rateLimit: {
    /** Requests are counted per fixed window of this length. */
    readonly windowMs: number;
    /** Requests one credential may make per window, across every gateway process; 0: unlimited. */
    readonly perCredential: number;
    /** Requests without a valid credential one client address may make per window; 0: unlimited. */
    readonly perAddress: number;
    /** How often each process adds its counts to the shared ones (the limit may be overshot by what arrives meanwhile). */
    readonly syncMs: number;
  };
  readonly live: {
    /** Subscriptions one WebSocket may hold at once. */
    readonly maxSubscriptionsPerConnection: number;
    /** A WebSocket with more than this much unsent is too slow and is closed. */
    readonly maxBufferedBytes: number;
    /** Ping interval; a socket that has not answered the previous ping by the next is closed. */
    readonly keepAliveMs: number;
    /** A WebSocket must send `connection_init` within this. */
    readonly connectionInitTimeoutMs: number;
    /** A service's state is read at most once per this, however many changes arrive. */
    readonly minIntervalMs: number;
  };
  /** Webhooks (docs/webhooks.md): committed changes pushed to integrators' URLs. */
  readonly webhooks: WebhookSettings;
  readonly embedded: {
    readonly dataDir: string;
    readonly port: number | undefined;
    readonly osUser: string;
    readonly stageDir: string;
  };
}

/** How people's bearer tokens are verified and mapped onto roles. */
export interface JwtConfig {
  /** The `iss` every token must carry. */
  readonly issuer: string;
  /** The `aud` every token must include. */
  readonly audience: string;
  /** The identity provider's key set, fetched (and refreshed) from this URL... */
  readonly jwksUrl: string | undefined;
  /** ...or given here: a JWKS (`{"keys":[...]}`) or PEM public keys. */
  readonly publicKeys: string | undefined;
  readonly algorithms: readonly string[];
  /** Where the roles are in the claims, a dot path (`roles`, `realm_access.roles`). */
  readonly rolesClaim: string;
  /** Claim values to roles, JSON such as `{"queue-agents":"AGENT"}`; absent: the role names themselves, in any case. */
  readonly roleMap: string | undefined;
  /** The claim naming the person (the agent name in history); `sub` when the token lacks it. */
  readonly nameClaim: string;
  /** A claim listing the service ids the person is limited to; absent: every service. */
  readonly servicesClaim: string | undefined;
  readonly clockToleranceSeconds: number;
}

/** How webhooks are administered and delivered. */
export interface WebhookSettings {
  /**
   * Hosts (names or IPs, no port, as URL writes them: lower case, IPv6
   * without brackets) that endpoints may reach over plain http and at
   * private or loopback addresses; every other endpoint must be https to a
   * public address. Empty by default.
   */
  readonly allowedHosts: readonly string[];
  /**
   * Whether this process delivers: `auto` once an endpoint exists (with
   * several workers, one dedicated worker does), `on` always, `off` never
   * (events are still recorded, for another process to deliver).
   */
  readonly delivery: 'auto' | 'on' | 'off';
  /** One attempt, everything included (DNS, connect, TLS, the answer), is given up after this. */
  readonly timeoutMs: number;
  /** The first wait before a failed delivery is tried again; each further one doubles, with jitter. */
  readonly retryBaseMs: number;
  /** The longest wait between two attempts. */
  readonly retryMaxMs: number;
  /** A delivery failing for this long marks its endpoint FAILING: paused, its events kept. */
  readonly failAfterMs: number;
  /** Deliveries one process makes at once. */
  readonly concurrency: number;
  /** How often new events are looked for and routed to their endpoints. */
  readonly pollMs: number;
  /** After a secret's rotation, the previous secret also signs deliveries for this long (0: not at all). */
  readonly secretOverlapMs: number;
  /** Events, deliveries and the delivery log are kept this many days; replays reach back as far. */
  readonly retentionDays: number;
}

/** Host names a local gateway is always reached by. */
export const LOOPBACK_HOSTS = ['localhost', '127.0.0.1', '[::1]'] as const;

/** The configured host names, with the loopback names and a specific listening address added. */
function allowedHosts(configured: readonly string[], listenHost: string): readonly string[] {
  if (configured.includes('*')) return ['*'];
  const wildcard = listenHost === '0.0.0.0' || listenHost === '::';
  const own = wildcard ? [] : [isIP(listenHost) === 6 ? `[${listenHost}]` : listenHost];
  return [...new Set([...LOOPBACK_HOSTS, ...own, ...configured].map((host) => host.toLowerCase()))];
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = environment.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`).join('\n');
    throw new ConfigError(`invalid configuration:\n${problems}`);
  }
  const value = parsed.data;
  return {
    port: value.PORT,
    host: value.HOST,
    databaseUrl: value.DATABASE_URL,
    databaseReadUrl: value.DATABASE_READ_URL,
    readMaxLagMs: value.READ_MAX_LAG_MS,
    workers: value.GATEWAY_WORKERS === 'auto' ? availableParallelism() : value.GATEWAY_WORKERS,
    databasePoolSize: value.DATABASE_POOL_SIZE,
    databaseHotPoolSize: value.DATABASE_HOT_POOL_SIZE,
    shutdownGraceMs: value.SHUTDOWN_GRACE_MS,
    timeouts: {
      statementMs: value.DATABASE_STATEMENT_TIMEOUT_MS,
      lockMs: value.DATABASE_LOCK_TIMEOUT_MS,
      acquireMs: value.DATABASE_ACQUIRE_TIMEOUT_MS,
      healthMs: value.HEALTH_TIMEOUT_MS,
      outcomeMs: value.DATABASE_OUTCOME_TIMEOUT_MS,
    },
    http: {
      headersTimeoutMs: value.HTTP_HEADERS_TIMEOUT_MS,
      requestTimeoutMs: value.HTTP_REQUEST_TIMEOUT_MS,
      keepAliveTimeoutMs: value.HTTP_KEEP_ALIVE_TIMEOUT_MS,
      maxConnections: value.HTTP_MAX_CONNECTIONS,
      idleTimeoutMs: value.HTTP_IDLE_TIMEOUT_MS,
      maxConnectionsPerAddress: value.HTTP_MAX_CONNECTIONS_PER_ADDRESS,
      firstByteTimeoutMs: value.HTTP_FIRST_BYTE_TIMEOUT_MS,
    },
    trustProxy: value.TRUST_PROXY,
    allowedHosts: allowedHosts(value.ALLOWED_HOSTS, value.HOST),
    explorer: value.EXPLORER_ENABLED,
    introspection: value.INTROSPECTION_ENABLED,
    corsOrigins: value.CORS_ORIGINS,
    logLevel: value.LOG_LEVEL,
    logFormat: value.LOG_FORMAT,
    metrics: {
      enabled: value.METRICS_ENABLED,
      token: value.METRICS_TOKEN,
      operationNames: value.METRICS_OPERATION_NAMES,
    },
    auth: {
      mode: value.AUTH_MODE,
      keyCacheMs: value.AUTH_KEY_CACHE_MS,
      jwt:
        value.AUTH_JWT_ISSUER !== undefined &&
        value.AUTH_JWT_AUDIENCE !== undefined &&
        (value.AUTH_JWT_JWKS_URL !== undefined || value.AUTH_JWT_PUBLIC_KEYS !== undefined)
          ? {
              issuer: value.AUTH_JWT_ISSUER,
              audience: value.AUTH_JWT_AUDIENCE,
              jwksUrl: value.AUTH_JWT_JWKS_URL,
              publicKeys: value.AUTH_JWT_PUBLIC_KEYS,
              algorithms: value.AUTH_JWT_ALGORITHMS,
              rolesClaim: value.AUTH_JWT_ROLES_CLAIM,
              roleMap: value.AUTH_JWT_ROLE_MAP,
              nameClaim: value.AUTH_JWT_NAME_CLAIM,
              servicesClaim: value.AUTH_JWT_SERVICES_CLAIM,
              clockToleranceSeconds: value.AUTH_JWT_CLOCK_TOLERANCE_S,
            }
          : undefined,
    },
    rateLimit: {
      windowMs: value.RATE_LIMIT_WINDOW_MS,
      perCredential: value.RATE_LIMIT_PER_CREDENTIAL,
      perAddress: value.RATE_LIMIT_PER_ADDRESS,
      syncMs: value.RATE_LIMIT_SYNC_MS,
    },
    live: {
      maxSubscriptionsPerConnection: value.LIVE_MAX_SUBSCRIPTIONS_PER_CONNECTION,
      maxBufferedBytes: value.LIVE_MAX_BUFFERED_BYTES,
      keepAliveMs: value.LIVE_KEEP_ALIVE_MS,
      connectionInitTimeoutMs: value.LIVE_CONNECTION_INIT_TIMEOUT_MS,
      minIntervalMs: value.LIVE_MIN_INTERVAL_MS,
    },
    webhooks: {
      allowedHosts: value.WEBHOOK_ALLOWED_HOSTS,
      delivery: value.WEBHOOK_DELIVERY,
      timeoutMs: value.WEBHOOK_TIMEOUT_MS,
      retryBaseMs: value.WEBHOOK_RETRY_BASE_MS,
      retryMaxMs: value.WEBHOOK_RETRY_MAX_MS,
      failAfterMs: value.WEBHOOK_FAIL_AFTER_MS,
      concurrency: value.WEBHOOK_CONCURRENCY,
      pollMs: value.WEBHOOK_POLL_MS,
      secretOverlapMs: value.WEBHOOK_SECRET_OVERLAP_MS,
      retentionDays: value.WEBHOOK_RETENTION_DAYS,
    },
    embedded: {
      dataDir: resolve(value.EMBEDDED_PG_DATA_DIR),
      port: value.EMBEDDED_PG_PORT,
      osUser: value.EMBEDDED_PG_OS_USER,
      stageDir: resolve(value.EMBEDDED_PG_STAGE_DIR),
    },
  };
}
