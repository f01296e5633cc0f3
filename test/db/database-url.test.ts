// libpq connection URLs with several hosts, split into one URL per host for node-postgres.
import { describe, expect, it } from 'vitest';
import { parseDatabaseUrl, withTargetSessionAttrs } from '../../src/db/database-url.js';
import { loadConfig } from '../../src/config.js';

describe('parseDatabaseUrl', () => {
  it('reads a host list with ports, as pg_autoctl show uri prints it', () => {
    const url = parseDatabaseUrl(
      'postgres://app:s%40cret@10.0.0.1:5432,10.0.0.2:6432/queue?target_session_attrs=read-write&sslmode=prefer',
    );
    expect(url.hosts).toEqual([
      { host: '10.0.0.1', port: 5432 },
      { host: '10.0.0.2', port: 6432 },
    ]);
    expect(url.targetSessionAttrs).toBe('read-write');
    expect(url.hostUrls).toEqual([
      'postgres://app:s%40cret@10.0.0.1:5432/queue?sslmode=prefer',
      'postgres://app:s%40cret@10.0.0.2:6432/queue?sslmode=prefer',
    ]);
    expect(url.description).toBe('10.0.0.1:5432,10.0.0.2:6432');
    expect(url.description).not.toContain('cret');
  });

  it('gives a host without a port the default, and reads IPv6 addresses in brackets', () => {
    const url = parseDatabaseUrl('postgresql://a,[::1]:5433,b:7/db');
    expect(url.hosts).toEqual([
      { host: 'a', port: 5432 },
      { host: '::1', port: 5433 },
      { host: 'b', port: 7 },
    ]);
    expect(url.hostUrls[1]).toBe('postgresql://[::1]:5433/db');
  });

  it('reads host= and port= lists from the query', () => {
    const url = parseDatabaseUrl('postgres:///db?host=h1,h2&port=5000,5001&target_session_attrs=prefer-standby');
    expect(url.hosts).toEqual([
      { host: 'h1', port: 5000 },
      { host: 'h2', port: 5001 },
    ]);
    expect(url.targetSessionAttrs).toBe('prefer-standby');
    expect(url.hostUrls[0]).toBe('postgres://h1:5000/db');
  });

  it('takes several hosts without target_session_attrs as read-write (the gateway writes), one host as any', () => {
    expect(parseDatabaseUrl('postgres://h1,h2/db').targetSessionAttrs).toBe('read-write');
    expect(parseDatabaseUrl('postgres://h1/db').targetSessionAttrs).toBe('any');
  });

  it('refuses what libpq would refuse, naming it', () => {
    expect(() => parseDatabaseUrl('mysql://h/db')).toThrow('postgresql://');
    expect(() => parseDatabaseUrl('postgres://h:99999/db')).toThrow('port "99999"');
    expect(() => parseDatabaseUrl('postgres://h/db?target_session_attrs=writable')).toThrow(
      'target_session_attrs must be one of any, read-write, read-only, primary, standby, prefer-standby',
    );
  });

  it('sets target_session_attrs on a URL', () => {
    expect(withTargetSessionAttrs('postgres://h1,h2/db?target_session_attrs=prefer-standby&x=1', 'read-write')).toBe(
      'postgres://h1,h2/db?target_session_attrs=read-write&x=1',
    );
    expect(withTargetSessionAttrs('postgres://h/db', 'standby')).toBe('postgres://h/db?target_session_attrs=standby');
  });
});

describe('DATABASE_URL and DATABASE_READ_URL', () => {
  it('take a host list, and a bad one is refused at start with the rule', () => {
    const config = loadConfig({ DATABASE_URL: 'postgres://h1:1,h2:2/db', DATABASE_READ_URL: 'postgres://h3/db' });
    expect(config.databaseUrl).toBe('postgres://h1:1,h2:2/db');
    expect(config.databaseReadUrl).toBe('postgres://h3/db');
    expect(() => loadConfig({ DATABASE_URL: 'postgres://h1,h2/db?target_session_attrs=master' })).toThrow(
      /DATABASE_URL: must be a postgresql:\/\/ connection URL .*target_session_attrs one of/,
    );
  });

  it('GATEWAY_WORKERS takes a count or auto', () => {
    expect(loadConfig({ GATEWAY_WORKERS: '3' }).workers).toBe(3);
    expect(loadConfig({ GATEWAY_WORKERS: 'auto' }).workers).toBeGreaterThanOrEqual(1);
    expect(loadConfig({}).workers).toBe(1);
    expect(() => loadConfig({ GATEWAY_WORKERS: '0' })).toThrow('GATEWAY_WORKERS');
  });
});
