// Configuration from environment variables, validated once at start-up.
// Each setting is declared once, in `settings` below: its variable, its rule
// with its default, what it means (the README's table is generated from
// these: npm run generate:settings), and by where it stands, its place in
// `Config`, whose type is inferred from them. Reading the environment into
// that shape is the same for every setting (src/settings.ts); the checks
// across settings and the values derived from several follow the groups.
import { availableParallelism } from 'node:os';
import { isIP } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { parseRoleMap } from './auth/role-claims.js';
import { isDatabaseUrl } from './db/database-url.js';
import { fromEnvironment, setting, settingsIn, variableAt, type Settled } from './settings.js';
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

/** Host names a local gateway is always reached by. */
export const LOOPBACK_HOSTS = ['localhost', '127.0.0.1', '[::1]'] as const;

// The rules settings share. A variable that is unset or empty gets the default.

const port = z.coerce.number().int().min(0).max(65535);
/** A whole number from `min` to `max`, `fallback` when unset. */
const count = (fallback: number, min: number, max: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback);
/** A duration in milliseconds from `min` to `max`, `fallback` when unset. */
const millis = (fallback: number, min = 1, max = 3_600_000) => count(fallback, min, max);
/** `true`/`false` (also `1`/`0`, `yes`/`no`, `on`/`off`), `fallback` when unset. */
const flag = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'], { error: 'must be true or false' })
    .transform((value) => ['true', '1', 'yes', 'on'].includes(value))
    .default(fallback);
/** `a, b,c` → `['a', 'b', 'c']`: items trimmed, empty ones dropped. */
const commaList = z.string().transform((value) =>
  value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== ''),
);
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
/** A WEBHOOK_ALLOWED_HOSTS entry: a bare host name or IP address, as the address policy reads it. */
const isListableHost = (entry: string): boolean => {
  try {
    listedHost(entry);
    return true;
  } catch {
    return false;
  }
};
/** A libpq connection URL, one host or several (db/database-url.ts). */
const databaseUrl = z
  .string()
  .refine(
    isDatabaseUrl,
    'must be a postgresql:// connection URL (several hosts as host1:port1,host2:port2, target_session_attrs one of any, read-write, read-only, primary, standby, prefer-standby)',
  );

const DAY_MS = 86_400_000;

/** Every setting, where it stands in `Config`, in the README's order. */
const settings = z.object({
  port: setting('PORT', port.default(4000), 'HTTP port (`0`: any free port)'),
  host: setting(
    'HOST',
    z.string().min(1).default('127.0.0.1'),
    'interface to listen on; `0.0.0.0` to serve other machines',
  ),
  databaseUrl: setting(
    'DATABASE_URL',
    databaseUrl.optional(),
    '`postgresql://` URL of a PostgreSQL 14+ server; when unset, an embedded one is started. Several hosts as libpq takes them (`postgresql://u:p@h1:5432,h2:5432/db?target_session_attrs=read-write`): the gateway writes on the writable one and follows it across a failover ([docs/deployment.md](docs/deployment.md)); several hosts without `target_session_attrs` mean `read-write`',
  ),
  databaseReadUrl: setting(
    'DATABASE_READ_URL',
    databaseUrl.optional(),
    'where what screens poll (queue pages, statistics, positions, live states) is read: hot standbys; also taken from `DATABASE_URL` when it says `target_session_attrs=prefer-standby`. Unset: everything is read on the primary',
  ),
  readMaxLagMs: setting(
    'READ_MAX_LAG_MS',
    millis(1_000, 0, 600_000),
    'a standby further behind the primary than this is not read from: the primary is, until it catches up',
  ),
  databasePoolSize: setting('DATABASE_POOL_SIZE', count(10, 1, 500), 'connections the gateway keeps to PostgreSQL'),
  databaseHotPoolSize: setting(
    'DATABASE_HOT_POOL_SIZE',
    count(4, 1, 100),
    'further connections kept for the batched enqueue and call-next statements alone (prepared and planned once per connection)',
  ),
  workers: setting(
    'GATEWAY_WORKERS',
    z
      .union([z.literal('auto'), z.coerce.number().int().min(1).max(256)])
      .default(1)
      .transform((workers) => (workers === 'auto' ? availableParallelism() : workers)),
    "gateway processes on the one port (`auto`: one per core). Above 1, a primary opens the database once (starting the embedded one) and runs that many workers (node:cluster), each a whole gateway with its own pools, so N × (`DATABASE_POOL_SIZE` + `DATABASE_HOT_POOL_SIZE`) connections; a worker that dies is replaced, and SIGINT/SIGTERM stops them all, the database last. Worth it where the machine has cores beyond PostgreSQL's ([docs/performance.md](docs/performance.md))",
  ),
  shutdownGraceMs: setting(
    'SHUTDOWN_GRACE_MS',
    count(10_000, 0, 600_000),
    'on SIGINT/SIGTERM, how long requests in flight may finish before their connections are closed',
  ),
  timeouts: z.object({
    statementMs: setting(
      'DATABASE_STATEMENT_TIMEOUT_MS',
      millis(10_000),
      "a statement running longer is cancelled (PostgreSQL's `statement_timeout`; the gateway also gives up 1 s later, for a server that hangs)",
    ),
    lockMs: setting(
      'DATABASE_LOCK_TIMEOUT_MS',
      millis(5_000),
      "longest wait for a row lock (PostgreSQL's `lock_timeout`)",
    ),
    acquireMs: setting(
      'DATABASE_ACQUIRE_TIMEOUT_MS',
      millis(5_000),
      'longest wait for a pool connection, or to open one',
    ),
    outcomeMs: setting(
      'DATABASE_OUTCOME_TIMEOUT_MS',
      millis(30_000, 1_000),
      'a write whose connection was lost mid-commit is looked for on the writable server for this long before its request is answered `DATABASE_UNAVAILABLE` ([docs/reliability.md](docs/reliability.md#failover))',
    ),
    healthMs: setting(
      'HEALTH_TIMEOUT_MS',
      millis(1_000),
      '`/health` answers 503 when the database has not answered within this',
    ),
  }),
  http: z.object({
    headersTimeoutMs: setting(
      'HTTP_HEADERS_TIMEOUT_MS',
      millis(10_000),
      "a client must send a request's headers within this (408 otherwise); at most `HTTP_REQUEST_TIMEOUT_MS`",
    ),
    requestTimeoutMs: setting(
      'HTTP_REQUEST_TIMEOUT_MS',
      millis(30_000),
      'a client must send a whole request, body included, within this (408 otherwise)',
    ),
    keepAliveTimeoutMs: setting(
      'HTTP_KEEP_ALIVE_TIMEOUT_MS',
      millis(5_000),
      'an idle kept-alive connection is closed after this (`Keep-Alive: timeout` says one second less)',
    ),
    idleTimeoutMs: setting(
      'HTTP_IDLE_TIMEOUT_MS',
      millis(120_000),
      'a connection with no traffic either way for this long is closed (a client that stops reading)',
    ),
    maxConnections: setting(
      'HTTP_MAX_CONNECTIONS',
      count(1_024, 1, 1_000_000),
      'connections beyond this many at once are closed at once, without an answer',
    ),
    maxConnectionsPerAddress: setting(
      'HTTP_MAX_CONNECTIONS_PER_ADDRESS',
      count(128, 1, 1_000_000),
      'connections one client address (IPv6: one /64) may hold at once; beyond it, new ones are closed at once. Proxies in `TRUST_PROXY` are exempt',
    ),
    firstByteTimeoutMs: setting(
      'HTTP_FIRST_BYTE_TIMEOUT_MS',
      millis(5_000),
      'a new connection that sends nothing within this gets 408 and is closed',
    ),
  }),
  trustProxy: setting(
    'TRUST_PROXY',
    commaList
      .refine(
        (entries) => entries.every(isProxyAddress),
        'must be a comma-separated list of proxy addresses or networks such as 10.0.0.0/8, 192.0.2.7, fd00::/8',
      )
      .default([]),
    'addresses or CIDR networks of the proxies in front of the gateway (`10.0.0.0/8`): for their requests the client address (rate limits, logs) comes from `X-Forwarded-For`',
  ),
  /** The loopback names and a specific `HOST` are added below. */
  allowedHosts: setting(
    'ALLOWED_HOSTS',
    commaList
      .refine(
        (hosts) => hosts.every((host) => host === '*' || isHostName(host)),
        'must be `*` or a comma-separated list of host names as clients send them in Host, such as gateway.example.org or 10.0.0.5 (no scheme, no port)',
      )
      .default([]),
    'host names clients reach the gateway by (`gateway.example.org`), besides `localhost`, `127.0.0.1`, `[::1]` and a specific `HOST`: checked in open mode and for every WebSocket, against DNS rebinding; `*` for any',
  ),
  explorer: setting(
    'EXPLORER_ENABLED',
    flag(true),
    'GraphiQL at the GraphQL URL for browsers; `false` in production if nobody should explore',
  ),
  introspection: setting(
    'INTROSPECTION_ENABLED',
    flag(true),
    'whether clients may query the schema (`__schema`, `__type`), over HTTP and WebSocket',
  ),
  live: z.object({
    maxSubscriptionsPerConnection: setting(
      'LIVE_MAX_SUBSCRIPTIONS_PER_CONNECTION',
      count(20, 1, 1_000),
      'subscriptions one WebSocket may hold',
    ),
    maxBufferedBytes: setting(
      'LIVE_MAX_BUFFERED_BYTES',
      count(1024 ** 2, 1_024, 1024 ** 3),
      'a WebSocket with more than this unsent is closed (1013, try again later)',
    ),
    keepAliveMs: setting(
      'LIVE_KEEP_ALIVE_MS',
      millis(12_000, 100),
      'WebSocket ping interval; a socket that has not answered the previous ping by the next is closed',
    ),
    connectionInitTimeoutMs: setting(
      'LIVE_CONNECTION_INIT_TIMEOUT_MS',
      millis(5_000, 100),
      'a WebSocket must send `connection_init` within this',
    ),
    minIntervalMs: setting(
      'LIVE_MIN_INTERVAL_MS',
      millis(50, 0, 60_000),
      "a followed service's state is read at most once per this, however many changes arrive (`docs/live.md`)",
    ),
  }),
  corsOrigins: setting(
    'CORS_ORIGINS',
    commaList
      .refine(
        (origins) => origins.every((origin) => origin === '*' || isOrigin(origin)),
        'must be `*` or a comma-separated list of origins such as https://kiosk.example.org (scheme, host, port; no path)',
      )
      .default([]),
    'origins of browser front ends that may call the gateway, comma-separated (`https://kiosk.example.org`), or `*`; others get no CORS headers and their WebSockets are refused (403)',
  ),
  logLevel: setting(
    'LOG_LEVEL',
    z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    'least severe level logged: `fatal`, `error`, `warn`, `info` (one line per request), `debug`, `trace`, `silent`',
  ),
  logFormat: setting(
    'LOG_FORMAT',
    z.enum(LOG_FORMATS, { error: `must be one of ${LOG_FORMATS.join(', ')}` }).default('auto'),
    '`json`: JSON lines; `pretty`: readable lines and a start-up banner; `auto`: `pretty` when stdout is a terminal, `json` otherwise',
  ),
  metrics: z.object({
    enabled: setting(
      'METRICS_ENABLED',
      flag(true),
      '`GET /metrics` in the Prometheus text format; `false` answers 404 there and measures nothing (`docs/operations.md`)',
    ),
    token: setting(
      'METRICS_TOKEN',
      z.string().min(16, 'must be at least 16 characters').optional(),
      'when set (16+ characters), `/metrics` wants `Authorization: Bearer <token>`; when unset, `/metrics` answers only while the gateway is open, and 401 once credentials are required',
    ),
    operationNames: setting(
      'METRICS_OPERATION_NAMES',
      commaList
        .refine(
          (names) => names.every((name) => /^[_A-Za-z][_0-9A-Za-z]{0,99}$/.test(name)),
          'must be a comma-separated list of GraphQL operation names',
        )
        .default([]),
      'operation names that may be metric labels besides those in `operations/`; any other name is counted as `other`',
    ),
  }),
  auth: z.object({
    mode: setting(
      'AUTH_MODE',
      z.enum(['auto', 'open', 'required']).default('auto'),
      '`auto`: credentials required once an API key exists or `AUTH_JWT_*` is set, open on a loopback `HOST` otherwise, refused elsewhere; `required`; `open` (development only)',
    ),
    keyCacheMs: setting(
      'AUTH_KEY_CACHE_MS',
      millis(5_000, 0, 600_000),
      'how long a verified API key is trusted before it is read again; revocations are announced to every process at once, so this bounds only a process whose database listener was reconnecting. Open WebSockets re-check their credential at least this often',
    ),
    /** People's bearer tokens (JWT); only with an issuer, an audience and keys (`jwtConfig` below). */
    jwt: z.object({
      issuer: setting(
        'AUTH_JWT_ISSUER',
        z.string().optional(),
        "the `iss` people's tokens must carry; with `AUTH_JWT_AUDIENCE` and `AUTH_JWT_JWKS_URL` or `AUTH_JWT_PUBLIC_KEYS`, people may sign in (`docs/identity-provider.md`)",
      ),
      audience: setting('AUTH_JWT_AUDIENCE', z.string().optional(), "the `aud` people's tokens must carry"),
      jwksUrl: setting(
        'AUTH_JWT_JWKS_URL',
        z
          .string()
          .refine((value) => URL.canParse(value) && /^https?:$/.test(new URL(value).protocol), 'must be an http(s) URL')
          .optional(),
        "the identity provider's key set, fetched and cached (10 min; refetched for an unknown `kid`)",
      ),
      publicKeys: setting(
        'AUTH_JWT_PUBLIC_KEYS',
        z.string().optional(),
        'or the keys themselves: a JWKS (`{"keys":[...]}`) or PEM public keys',
      ),
      algorithms: setting(
        'AUTH_JWT_ALGORITHMS',
        commaList
          .refine(
            (list) => list.length > 0 && list.every((each) => /^(RS|PS|ES)(256|384|512)$|^EdDSA$|^Ed25519$/.test(each)),
            'must be a comma-separated list of asymmetric JWS algorithms such as RS256,ES256,EdDSA',
          )
          .default(['RS256', 'PS256', 'ES256', 'EdDSA']),
        'accepted signature algorithms (asymmetric only)',
      ),
      rolesClaim: setting(
        'AUTH_JWT_ROLES_CLAIM',
        z.string().min(1).default('roles'),
        'where the roles are in the token (a claim name or dot path)',
      ),
      roleMap: setting(
        'AUTH_JWT_ROLE_MAP',
        z
          .string()
          .superRefine((text, context) => {
            const parsed = parseRoleMap(text);
            if ('problem' in parsed) context.addIssue({ code: 'custom', message: parsed.problem });
          })
          .optional(),
        'JSON from claim values to roles, e.g. `{"queue-agents":"AGENT"}`; without it, role names in any case',
      ),
      nameClaim: setting(
        'AUTH_JWT_NAME_CLAIM',
        z.string().min(1).default('preferred_username'),
        'the claim naming the person (the agent in history); `sub` when absent',
      ),
      servicesClaim: setting(
        'AUTH_JWT_SERVICES_CLAIM',
        z.string().min(1).optional(),
        'a claim listing the service ids a person is limited to',
      ),
      clockToleranceSeconds: setting('AUTH_JWT_CLOCK_TOLERANCE_S', count(30, 0, 300), 'leeway for `exp` and `nbf`'),
    }),
  }),
  rateLimit: z.object({
    perCredential: setting(
      'RATE_LIMIT_PER_CREDENTIAL',
      count(1_000, 0, 10_000_000),
      'requests one credential may make per window, summed over every gateway process; `0`: no limit',
    ),
    perAddress: setting(
      'RATE_LIMIT_PER_ADDRESS',
      count(100, 0, 10_000_000),
      'requests without a valid credential one client address may make per window (IPv6 per /64); `0`: no limit',
    ),
    windowMs: setting('RATE_LIMIT_WINDOW_MS', millis(10_000, 1_000, 3_600_000), "the rate limits' fixed window"),
    syncMs: setting(
      'RATE_LIMIT_SYNC_MS',
      millis(100, 10, 10_000),
      'how often each process adds its counts to the shared ones (a burst may pass a limit by what arrives meanwhile)',
    ),
  }),
  /** Webhooks (docs/webhooks.md): committed changes pushed to integrators' URLs. */
  webhooks: z.object({
    allowedHosts: setting(
      'WEBHOOK_ALLOWED_HOSTS',
      commaList
        .refine(
          (entries) => entries.every(isListableHost),
          'must be a comma-separated list of host names or IP addresses such as hooks.internal, 127.0.0.1 or ::1 (no scheme, port or path)',
        )
        // As URLs write hosts (lower case, IPv6 without brackets), each once.
        .transform((entries) => [...new Set(entries.map(listedHost))])
        .default([]),
      'host names or IP addresses (no scheme, port or path) that webhook endpoints may reach over plain `http` and at private, loopback or link-local addresses; every other endpoint must be `https` to a public address, checked again after DNS at each delivery (`docs/webhooks.md`)',
    ),
    delivery: setting(
      'WEBHOOK_DELIVERY',
      z.enum(['auto', 'on', 'off']).default('auto'),
      'whether this process delivers webhooks: `auto` once an endpoint exists (with `GATEWAY_WORKERS` above 1, one dedicated worker), `on`, or `off` (events are still recorded, for another process to deliver)',
    ),
    timeoutMs: setting(
      'WEBHOOK_TIMEOUT_MS',
      millis(10_000, 1, 600_000),
      'one delivery attempt, DNS, connecting and the answer included, is given up after this',
    ),
    retryBaseMs: setting(
      'WEBHOOK_RETRY_BASE_MS',
      millis(5_000, 1, DAY_MS),
      "the wait before a failed delivery's second attempt; each further wait doubles, with jitter",
    ),
    retryMaxMs: setting(
      'WEBHOOK_RETRY_MAX_MS',
      millis(3_600_000, 1, DAY_MS),
      'the longest wait between two attempts (not below `WEBHOOK_RETRY_BASE_MS`)',
    ),
    failAfterMs: setting(
      'WEBHOOK_FAIL_AFTER_MS',
      millis(DAY_MS, 1, 30 * DAY_MS),
      'a delivery failing for this long marks its endpoint `FAILING`: its deliveries pause, its events are kept, and `enableWebhookEndpoint` resumes them in order',
    ),
    concurrency: setting('WEBHOOK_CONCURRENCY', count(4, 1, 64), 'deliveries one process makes at once (1 to 64)'),
    pollMs: setting(
      'WEBHOOK_POLL_MS',
      millis(250, 10, 60_000),
      'how often new events are looked for and routed to their endpoints',
    ),
    secretOverlapMs: setting(
      'WEBHOOK_SECRET_OVERLAP_MS',
      millis(DAY_MS, 0, 7 * DAY_MS),
      'after `rotateWebhookSecret`, the previous secret also signs deliveries for this long, so receivers can switch (`0`: it stops at once; at most 7 days)',
    ),
    retentionDays: setting(
      'WEBHOOK_RETENTION_DAYS',
      count(30, 1, 3_650),
      'events, deliveries and the delivery log are kept this many days; `replayWebhookEvents` reaches back as far',
    ),
  }),
  embedded: z.object({
    dataDir: setting(
      'EMBEDDED_PG_DATA_DIR',
      z
        .string()
        .default(join(PROJECT_ROOT, '.data', 'postgres'))
        .transform((path) => resolve(path)),
      "the embedded server's data folder",
      { shownDefault: '`.data/postgres`' },
    ),
    port: setting('EMBEDDED_PG_PORT', port.min(1).optional(), "the embedded server's port on 127.0.0.1", {
      shownDefault: 'a free port',
    }),
    osUser: setting(
      'EMBEDDED_PG_OS_USER',
      z
        .string()
        .regex(/^[a-z_][a-z0-9_-]*$/)
        .default('postgres'),
      'when run as root: the OS user the embedded server runs as (created if missing)',
    ),
    stageDir: setting(
      'EMBEDDED_PG_STAGE_DIR',
      z
        .string()
        .default('/var/lib/fifo-case-gateway')
        .transform((path) => resolve(path)),
      'when run as root: where binaries and data go if that user cannot reach the project',
    ),
  }),
});

/** Every setting, in the order declared: what the README's table lists. */
export const SETTINGS = settingsIn(settings);

type Settings = z.output<typeof settings>;

/** People's bearer tokens: only with an issuer, an audience and keys; absent without an identity provider. */
function jwtConfig({ issuer, audience, ...jwt }: Settings['auth']['jwt']) {
  return issuer !== undefined && audience !== undefined && (jwt.jwksUrl !== undefined || jwt.publicKeys !== undefined)
    ? { issuer, audience, ...jwt }
    : undefined;
}

/** The configured host names, with the loopback names and a specific listening address added. */
function allowedHosts(configured: readonly string[], listenHost: string): readonly string[] {
  if (configured.includes('*')) return ['*'];
  const wildcard = listenHost === '0.0.0.0' || listenHost === '::';
  const own = wildcard ? [] : [isIP(listenHost) === 6 ? `[${listenHost}]` : listenHost];
  return [...new Set([...LOOPBACK_HOSTS, ...own, ...configured].map((host) => host.toLowerCase()))];
}

/** The settings, checked against each other (a problem names its variable as its path), then what derives from several. */
const configuration = settings
  .refine((value) => value.auth.jwt.jwksUrl === undefined || value.auth.jwt.publicKeys === undefined, {
    path: ['AUTH_JWT_PUBLIC_KEYS'],
    error: 'set AUTH_JWT_JWKS_URL or AUTH_JWT_PUBLIC_KEYS, not both',
  })
  .refine(
    ({ auth: { jwt } }) =>
      (jwt.jwksUrl === undefined && jwt.publicKeys === undefined) ||
      (jwt.issuer !== undefined && jwt.audience !== undefined),
    {
      path: ['AUTH_JWT_ISSUER'],
      error: 'tokens are only accepted with AUTH_JWT_ISSUER and AUTH_JWT_AUDIENCE both set',
    },
  )
  // Half an identity provider is a mistake to report, not a reason to run without one.
  .refine(
    ({ auth: { jwt } }) =>
      jwt.jwksUrl !== undefined ||
      jwt.publicKeys !== undefined ||
      [jwt.issuer, jwt.audience, jwt.roleMap, jwt.servicesClaim].every((each) => each === undefined),
    {
      path: ['AUTH_JWT_JWKS_URL'],
      error:
        'AUTH_JWT_ISSUER, AUTH_JWT_AUDIENCE, AUTH_JWT_ROLE_MAP or AUTH_JWT_SERVICES_CLAIM is set: set AUTH_JWT_JWKS_URL or AUTH_JWT_PUBLIC_KEYS too',
    },
  )
  .refine((value) => value.http.headersTimeoutMs <= value.http.requestTimeoutMs, {
    path: ['HTTP_HEADERS_TIMEOUT_MS'],
    error: 'must not be longer than HTTP_REQUEST_TIMEOUT_MS (the headers are part of the request)',
  })
  .refine((value) => value.webhooks.retryBaseMs <= value.webhooks.retryMaxMs, {
    path: ['WEBHOOK_RETRY_BASE_MS'],
    error: 'must not be longer than WEBHOOK_RETRY_MAX_MS (the first wait is the shortest)',
  })
  .transform((value) => ({
    ...value,
    allowedHosts: allowedHosts(value.allowedHosts, value.host),
    auth: { ...value.auth, jwt: jwtConfig(value.auth.jwt) },
  }));

/** The gateway's configuration: the settings' shape, as `settings` declares it. */
export type Config = Settled<z.output<typeof configuration>>;
/** How people's bearer tokens are verified and mapped onto roles. */
export type JwtConfig = NonNullable<Config['auth']['jwt']>;
/** How webhooks are administered and delivered. */
export type WebhookSettings = Config['webhooks'];

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = configuration.safeParse(fromEnvironment(SETTINGS, env));
  if (!parsed.success) {
    const problems = parsed.error.issues
      .map((issue) => `  ${variableAt(SETTINGS, issue.path)}: ${issue.message}`)
      .join('\n');
    throw new ConfigError(`invalid configuration:\n${problems}`);
  }
  // Every setting is read, set or not, so each key is there (`Settled`).
  return parsed.data as Config;
}
