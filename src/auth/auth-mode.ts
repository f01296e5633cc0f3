// Secure by default: whether the gateway may run open (no credentials, every
// caller an administrator). Only on a loopback address, where nothing but
// this machine can reach it, and only while no credential is configured;
// anywhere else only when told so in as many words (AUTH_MODE=open).
import { isIP } from 'node:net';
import { ConfigError, type Config } from '../config.js';
import type { Logger } from '../log.js';
import type { AuthMode } from './authenticate.js';

export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '');
  if (bare === 'localhost') return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  return bare === '::1';
}

const FIRST_KEY = 'npm run keys -- create --role ADMIN --name "first admin"';

export async function decideAuthMode(
  config: Pick<Config, 'host' | 'auth'>,
  keys: { anyActive(): Promise<boolean> },
  log: Logger,
): Promise<AuthMode> {
  const { mode, jwt } = config.auth;
  if (mode === 'required') {
    if (!jwt && !(await keys.anyActive()))
      log.warn(
        `auth: credentials required, but no API key exists and no identity provider is configured: ` +
          `nobody can use the gateway until you create an admin key (${FIRST_KEY})`,
      );
    return 'required';
  }
  const configured = jwt !== undefined || (await keys.anyActive());
  if (mode === 'auto' && configured) return 'required';
  if (mode === 'auto' && !isLoopback(config.host))
    throw new ConfigError(
      `refusing to start without credentials on HOST=${config.host}, which other machines can reach: ` +
        `create an admin key (${FIRST_KEY}) or configure an identity provider (AUTH_JWT_*), ` +
        `or set AUTH_MODE=open to run without credentials on purpose`,
    );
  log.warn(
    `auth: RUNNING OPEN. No credentials are needed and every caller is an administrator ` +
      `(${mode === 'open' ? 'AUTH_MODE=open' : `no credentials configured, HOST=${config.host} is loopback`}). ` +
      `For development only: create an admin key (${FIRST_KEY}) to require credentials.`,
  );
  return 'open';
}
