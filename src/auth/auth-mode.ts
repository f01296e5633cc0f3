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

/** The first admin key, as a shell takes it: logged and shown as is, to be copied. */
export const FIRST_KEY_COMMAND = 'npm run keys -- create --role ADMIN --name "first admin"';

/** How the gateway authenticates, and in a line for people why (the start-up banner, the log). */
export interface AuthDecision {
  readonly mode: AuthMode;
  readonly summary: string;
  /** No credential exists yet: the first admin key is the next step (FIRST_KEY_COMMAND). */
  readonly firstKeyNeeded: boolean;
}

export async function decideAuthMode(
  config: Pick<Config, 'host' | 'auth'>,
  keys: { anyActive(): Promise<boolean> },
  log: Logger,
): Promise<AuthDecision> {
  const { mode, jwt } = config.auth;
  // Said on every start, whichever way it goes: after a restart with keys the mode is not obvious.
  const required = (): AuthDecision => {
    const summary = `credentials required (API keys${jwt ? `, or bearer tokens from ${jwt.issuer}` : ''})`;
    log.info(`auth: ${summary}`);
    return { mode: 'required', summary, firstKeyNeeded: false };
  };
  if (mode === 'required') {
    if (jwt || (await keys.anyActive())) return required();
    log.warn(
      `auth: credentials required, but no API key exists and no identity provider is configured: ` +
        `nobody can use the gateway until you create an admin key (${FIRST_KEY_COMMAND})`,
    );
    return {
      mode: 'required',
      summary:
        'credentials required, but no API key exists and no identity provider is configured: nobody can use it yet',
      firstKeyNeeded: true,
    };
  }
  const configured = jwt !== undefined || (await keys.anyActive());
  if (mode === 'auto' && configured) return required();
  if (mode === 'auto' && !isLoopback(config.host))
    throw new ConfigError(
      `refusing to start without credentials on HOST=${config.host}, which other machines can reach: ` +
        `create an admin key (${FIRST_KEY_COMMAND}) or configure an identity provider (AUTH_JWT_*), ` +
        `or set AUTH_MODE=open to run without credentials on purpose`,
    );
  const why = mode === 'open' ? 'AUTH_MODE=open' : `no credentials configured, HOST=${config.host} is loopback`;
  log.warn(
    `auth: RUNNING OPEN. No credentials are needed and every caller is an administrator (${why}). ` +
      `For development only: create an admin key (${FIRST_KEY_COMMAND}) to require credentials.`,
  );
  return {
    mode: 'open',
    summary: `OPEN: no credentials needed, every caller is an administrator (${why})`,
    firstKeyNeeded: !configured,
  };
}
