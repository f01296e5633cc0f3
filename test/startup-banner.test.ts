// What `npm start` tells a person at a terminal once it serves: the URL, the
// explorer, the auth mode on every start, and the first key's command as a
// shell takes it. The banner is a function of the configuration and of how
// the gateway decided to authenticate (auth-mode.ts), tested here without a
// terminal; test/main.test.ts reads it from a real process.
import { describe, expect, it } from 'vitest';
import { decideAuthMode, FIRST_KEY_COMMAND, type AuthDecision } from '../src/auth/auth-mode.js';
import { loadConfig } from '../src/config.js';
import type { Logger } from '../src/log.js';
import { startupBanner } from '../src/startup-banner.js';

const URL = 'http://127.0.0.1:4000/graphql';
const JWT = {
  AUTH_JWT_ISSUER: 'https://id.example.org',
  AUTH_JWT_AUDIENCE: 'queue',
  AUTH_JWT_JWKS_URL: 'https://id.example.org/jwks',
};

/** The decision for `env` with or without an API key, and the lines it logged (level and message). */
async function decided(env: Record<string, string>, keyExists: boolean) {
  const said: string[] = [];
  const log: Logger = {
    info: (message) => void said.push(`info ${message}`),
    warn: (message) => void said.push(`warn ${message}`),
    error: (message) => void said.push(`error ${message}`),
  };
  const config = loadConfig(env);
  const auth = await decideAuthMode(config, { anyActive: () => Promise.resolve(keyExists) }, log);
  return { config, auth, said, banner: startupBanner(config, { url: URL, auth }) };
}

describe('the start-up banner', () => {
  it('open on a fresh clone: the URL, the explorer, OPEN, and the first key command unescaped', async () => {
    const { auth, banner, said } = await decided({}, false);
    expect(auth).toEqual<AuthDecision>({
      mode: 'open',
      summary:
        'OPEN: no credentials needed, every caller is an administrator (no credentials configured, HOST=127.0.0.1 is loopback)',
      firstKeyNeeded: true,
    });
    expect(banner.split('\n')).toEqual([
      '',
      `  FIFO case gateway: ${URL}`,
      '    open it in a browser for the explorer (GraphiQL)',
      `  auth: ${auth.summary}`,
      '    to require credentials, create the first admin key (in another terminal):',
      '    npm run keys -- create --role ADMIN --name "first admin"',
      '  Ctrl-C stops it.',
      '',
      '',
    ]);
    expect(banner).toContain(`    ${FIRST_KEY_COMMAND}\n`);
    expect(said).toEqual([expect.stringMatching(/^warn auth: RUNNING OPEN\. /)]);
  });

  it('after a restart with a key: credentials required, said in the banner and logged, no key command', async () => {
    const { auth, banner, said } = await decided({}, true);
    expect(auth).toEqual({ mode: 'required', summary: 'credentials required (API keys)', firstKeyNeeded: false });
    expect(banner).toContain('  auth: credentials required (API keys)\n');
    expect(banner).not.toContain('npm run keys');
    expect(said).toEqual(['info auth: credentials required (API keys)']);
  });

  it('with an identity provider: names its issuer, also with AUTH_MODE=required', async () => {
    for (const env of [JWT, { ...JWT, AUTH_MODE: 'required' }]) {
      const { auth, said } = await decided(env, false);
      expect(auth.summary).toBe('credentials required (API keys, or bearer tokens from https://id.example.org)');
      expect(said).toEqual([`info auth: ${auth.summary}`]);
    }
  });

  it('required with no credential at all: says nobody can use it, and how to make the first key', async () => {
    const { auth, banner, said } = await decided({ AUTH_MODE: 'required' }, false);
    expect(auth).toMatchObject({ mode: 'required', firstKeyNeeded: true });
    expect(banner).toContain(
      `    nobody can use it until you create the first admin key (in another terminal):\n    ${FIRST_KEY_COMMAND}\n`,
    );
    expect(said).toEqual([expect.stringMatching(/^warn auth: credentials required, but no API key exists/)]);
  });

  it('AUTH_MODE=open: a key does not close it, and the banner says what does', async () => {
    const { banner } = await decided({ AUTH_MODE: 'open' }, false);
    expect(banner).toContain('(AUTH_MODE=open)');
    expect(banner).toContain('create the first admin key, then unset AUTH_MODE=open to require credentials');
    const withKey = await decided({ AUTH_MODE: 'open' }, true);
    expect(withKey.auth).toMatchObject({ mode: 'open', firstKeyNeeded: false });
    expect(withKey.banner).not.toContain('npm run keys');
  });

  it('says nothing of an explorer that is off, and counts the worker processes', async () => {
    const { banner } = await decided({ EXPLORER_ENABLED: 'false', GATEWAY_WORKERS: '3' }, true);
    expect(banner).not.toContain('explorer');
    expect(banner).toContain(`  FIFO case gateway: ${URL} (3 worker processes)\n`);
  });
});
