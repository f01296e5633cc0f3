// Configuration is validated at start, with messages that name the variable.
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, PROJECT_ROOT } from '../src/config.js';

describe('configuration', () => {
  it('defaults to port 4000 on loopback with an embedded database in the project', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 4000,
      host: '127.0.0.1',
      databaseUrl: undefined,
      databasePoolSize: 10,
      databaseHotPoolSize: 4,
    });
    expect(config.embedded.dataDir).toBe(`${PROJECT_ROOT}/.data/postgres`);
  });

  it('reads PORT and DATABASE_URL', () => {
    const config = loadConfig({ PORT: '8080', DATABASE_URL: 'postgresql://u:p@db.example:5432/queue' });
    expect(config).toMatchObject({ port: 8080, databaseUrl: 'postgresql://u:p@db.example:5432/queue' });
  });

  it('has documented defaults for every timeout and limit', () => {
    const config = loadConfig({});
    expect(config.timeouts).toMatchObject({
      statementMs: 10_000,
      lockMs: 5_000,
      acquireMs: 5_000,
      healthMs: 1_000,
      outcomeMs: 30_000,
    });
    expect(config.readMaxLagMs).toBe(1_000);
    expect(config.http).toMatchObject({
      headersTimeoutMs: 10_000,
      requestTimeoutMs: 30_000,
      keepAliveTimeoutMs: 5_000,
      maxConnections: 1_024,
      idleTimeoutMs: 120_000,
      maxConnectionsPerAddress: 128,
      firstByteTimeoutMs: 5_000,
    });
    expect(config.trustProxy).toEqual([]);
    expect(config.metrics.operationNames).toEqual([]);
  });

  it('allows the loopback names and a specific HOST by default, and adds ALLOWED_HOSTS to them', () => {
    expect(loadConfig({}).allowedHosts).toEqual(['localhost', '127.0.0.1', '[::1]']);
    expect(loadConfig({ HOST: '0.0.0.0' }).allowedHosts).toEqual(['localhost', '127.0.0.1', '[::1]']);
    expect(loadConfig({ HOST: '10.0.0.5' }).allowedHosts).toEqual(['localhost', '127.0.0.1', '[::1]', '10.0.0.5']);
    expect(loadConfig({ HOST: 'fd00::5' }).allowedHosts).toContain('[fd00::5]');
    expect(loadConfig({ ALLOWED_HOSTS: 'Gateway.Example.org, [2001:db8::1]' }).allowedHosts).toEqual([
      'localhost',
      '127.0.0.1',
      '[::1]',
      'gateway.example.org',
      '[2001:db8::1]',
    ]);
    expect(loadConfig({ ALLOWED_HOSTS: '*' }).allowedHosts).toEqual(['*']);
    for (const bad of ['https://gateway.example.org', 'gateway.example.org:4000', '2001:db8::1', 'a b'])
      expect(() => loadConfig({ ALLOWED_HOSTS: bad }), bad).toThrow(/ALLOWED_HOSTS/);
  });

  it('reads TRUST_PROXY as addresses and CIDR networks, and refuses anything else, naming it', () => {
    expect(loadConfig({ TRUST_PROXY: '10.0.0.0/8, 192.0.2.7,fd00::/8' }).trustProxy).toEqual([
      '10.0.0.0/8',
      '192.0.2.7',
      'fd00::/8',
    ]);
    for (const bad of ['10.0.0.0/33', 'proxy.example', '10.0.0.0/8/1', 'fd00::/129', '10.0.0.1/x'])
      expect(() => loadConfig({ TRUST_PROXY: bad }), bad).toThrow(/TRUST_PROXY/);
  });

  it('reads METRICS_OPERATION_NAMES as GraphQL names', () => {
    expect(loadConfig({ METRICS_OPERATION_NAMES: 'Enqueue, CallNext' }).metrics.operationNames).toEqual([
      'Enqueue',
      'CallNext',
    ]);
    expect(() => loadConfig({ METRICS_OPERATION_NAMES: 'not-a-name' })).toThrow(/METRICS_OPERATION_NAMES/);
  });

  it('has documented defaults for the explorer, introspection and live updates', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ explorer: true, introspection: true });
    expect(config.live).toMatchObject({
      maxSubscriptionsPerConnection: 20,
      maxBufferedBytes: 1024 * 1024,
      keepAliveMs: 12_000,
      connectionInitTimeoutMs: 5_000,
      minIntervalMs: 50,
    });
  });

  it.each([
    ['false', false],
    ['0', false],
    ['off', false],
    ['no', false],
    ['true', true],
    ['1', true],
  ])('reads EXPLORER_ENABLED=%s as %s', (value, expected) => {
    expect(loadConfig({ EXPLORER_ENABLED: value, INTROSPECTION_ENABLED: value })).toMatchObject({
      explorer: expected,
      introspection: expected,
    });
  });

  it('refuses a switch that is neither true nor false, naming it', () => {
    expect(() => loadConfig({ EXPLORER_ENABLED: 'maybe' })).toThrow(/EXPLORER_ENABLED: must be true or false/);
    expect(() => loadConfig({ LIVE_MAX_BUFFERED_BYTES: '10' })).toThrow(/LIVE_MAX_BUFFERED_BYTES/);
  });

  it('reads CORS_ORIGINS as exact origins or `*`, and refuses anything else, naming it', () => {
    expect(loadConfig({}).corsOrigins).toEqual([]);
    expect(loadConfig({ CORS_ORIGINS: 'https://a.example, http://localhost:5173' }).corsOrigins).toEqual([
      'https://a.example',
      'http://localhost:5173',
    ]);
    expect(loadConfig({ CORS_ORIGINS: '*' }).corsOrigins).toEqual(['*']);
    for (const bad of ['https://a.example/', 'a.example', 'ftp://a.example', 'https://a.example/app'])
      expect(() => loadConfig({ CORS_ORIGINS: bad }), bad).toThrow(/CORS_ORIGINS/);
  });

  it('has documented defaults for webhooks', () => {
    expect(loadConfig({}).webhooks).toMatchObject({
      allowedHosts: [],
      delivery: 'auto',
      timeoutMs: 10_000,
      retryBaseMs: 5_000,
      retryMaxMs: 3_600_000,
      failAfterMs: 86_400_000,
      concurrency: 4,
      pollMs: 250,
      secretOverlapMs: 86_400_000,
      retentionDays: 30,
    });
  });

  it('reads every webhook setting under its camelCase name', () => {
    const webhooks = loadConfig({
      WEBHOOK_DELIVERY: 'off',
      WEBHOOK_TIMEOUT_MS: '500',
      WEBHOOK_RETRY_BASE_MS: '50',
      WEBHOOK_RETRY_MAX_MS: '1000',
      WEBHOOK_FAIL_AFTER_MS: '2000',
      WEBHOOK_CONCURRENCY: '16',
      WEBHOOK_POLL_MS: '100',
      WEBHOOK_SECRET_OVERLAP_MS: '0',
      WEBHOOK_RETENTION_DAYS: '7',
    }).webhooks;
    expect(webhooks).toMatchObject({
      allowedHosts: [],
      delivery: 'off',
      timeoutMs: 500,
      retryBaseMs: 50,
      retryMaxMs: 1_000,
      failAfterMs: 2_000,
      concurrency: 16,
      pollMs: 100,
      secretOverlapMs: 0,
      retentionDays: 7,
    });
    expect(loadConfig({ WEBHOOK_DELIVERY: 'on' }).webhooks.delivery).toBe('on');
  });

  it('reads WEBHOOK_ALLOWED_HOSTS as URLs write hosts, and refuses anything but a bare host, naming it', () => {
    expect(
      loadConfig({ WEBHOOK_ALLOWED_HOSTS: ' Hooks.Internal, 127.0.0.1,[::1], ::1,,' }).webhooks.allowedHosts,
    ).toEqual(['hooks.internal', '127.0.0.1', '::1']);
    for (const bad of ['https://hooks.internal', 'hooks.internal:8443', 'hooks.internal/path', 'user@hooks', 'a b'])
      expect(() => loadConfig({ WEBHOOK_ALLOWED_HOSTS: bad }), bad).toThrow(
        /^invalid configuration:\n {2}WEBHOOK_ALLOWED_HOSTS: must be a comma-separated list of host names/,
      );
  });

  it.each([
    [{ WEBHOOK_DELIVERY: 'sometimes' }, 'WEBHOOK_DELIVERY'],
    [{ WEBHOOK_TIMEOUT_MS: '0' }, 'WEBHOOK_TIMEOUT_MS'],
    [{ WEBHOOK_RETRY_BASE_MS: 'soon' }, 'WEBHOOK_RETRY_BASE_MS'],
    [{ WEBHOOK_RETRY_MAX_MS: '86400001' }, 'WEBHOOK_RETRY_MAX_MS'],
    [{ WEBHOOK_FAIL_AFTER_MS: '-1' }, 'WEBHOOK_FAIL_AFTER_MS'],
    [{ WEBHOOK_CONCURRENCY: '0' }, 'WEBHOOK_CONCURRENCY'],
    [{ WEBHOOK_CONCURRENCY: '65' }, 'WEBHOOK_CONCURRENCY'],
    [{ WEBHOOK_POLL_MS: '1' }, 'WEBHOOK_POLL_MS'],
    [{ WEBHOOK_SECRET_OVERLAP_MS: '604800001' }, 'WEBHOOK_SECRET_OVERLAP_MS'],
    [{ WEBHOOK_RETENTION_DAYS: '0' }, 'WEBHOOK_RETENTION_DAYS'],
    [{ WEBHOOK_RETENTION_DAYS: '1.5' }, 'WEBHOOK_RETENTION_DAYS'],
    // The first wait is the shortest one.
    [{ WEBHOOK_RETRY_BASE_MS: '2000', WEBHOOK_RETRY_MAX_MS: '1000' }, 'WEBHOOK_RETRY_BASE_MS'],
  ])('rejects the webhook setting %j, naming %s', (env, variable) => {
    expect(() => loadConfig(env)).toThrow(new RegExp(`^invalid configuration:\\n  ${variable}: `));
  });

  it('refuses a header deadline longer than the whole request deadline', () => {
    expect(() => loadConfig({ HTTP_HEADERS_TIMEOUT_MS: '40000' })).toThrow(/HTTP_HEADERS_TIMEOUT_MS/);
    expect(loadConfig({ HTTP_HEADERS_TIMEOUT_MS: '30000' }).http.headersTimeoutMs).toBe(30_000);
  });

  it('reads LOG_FORMAT: auto (by whether stdout is a terminal) unless json or pretty', () => {
    expect(loadConfig({}).logFormat).toBe('auto');
    expect(loadConfig({ LOG_FORMAT: '' }).logFormat).toBe('auto');
    expect(loadConfig({ LOG_FORMAT: 'json' }).logFormat).toBe('json');
    expect(loadConfig({ LOG_FORMAT: 'pretty' }).logFormat).toBe('pretty');
    expect(() => loadConfig({ LOG_FORMAT: 'text' })).toThrow(/LOG_FORMAT: must be one of auto, json, pretty/);
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ DATABASE_URL: '', PORT: '' })).toMatchObject({ port: 4000, databaseUrl: undefined });
  });

  it.each([
    [{ PORT: 'eighty' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ DATABASE_URL: 'mysql://localhost/db' }, 'DATABASE_URL'],
    [{ DATABASE_POOL_SIZE: '0' }, 'DATABASE_POOL_SIZE'],
    [{ DATABASE_HOT_POOL_SIZE: 'many' }, 'DATABASE_HOT_POOL_SIZE'],
    [{ LOG_FORMAT: 'yaml' }, 'LOG_FORMAT'],
    [{ LOG_FORMAT: 'JSON' }, 'LOG_FORMAT'],
  ])('rejects %j, naming %s', (env, variable) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(new RegExp(`^invalid configuration:\\n  ${variable}: `));
  });
});
