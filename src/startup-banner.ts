// What a person at a terminal reads once the gateway serves (LOG_FORMAT
// pretty, as on a terminal by default): where it is, what a browser finds
// there, who may use it, and the next step when nobody can yet. Written once,
// by the process that started the others (main.ts, process/primary.ts).
import { FIRST_KEY_COMMAND, type AuthDecision } from './auth/auth-mode.js';
import type { Config } from './config.js';

export interface BannerFacts {
  /** The GraphQL endpoint. */
  readonly url: string;
  readonly auth: AuthDecision;
}

/** Why the first admin key is the next step, by how the gateway runs. */
function firstKeyReason(configured: Config['auth']['mode'], mode: AuthDecision['mode']): string {
  if (mode === 'required') return 'nobody can use it until you create the first admin key';
  // AUTH_MODE=open stays open whatever keys exist; `auto` closes at the first key.
  if (configured === 'open') return 'create the first admin key, then unset AUTH_MODE=open to require credentials';
  return 'to require credentials, create the first admin key';
}

export function startupBanner(config: Pick<Config, 'explorer' | 'workers' | 'auth'>, facts: BannerFacts): string {
  const processes = config.workers > 1 ? ` (${config.workers} worker processes)` : '';
  const lines = [`FIFO case gateway: ${facts.url}${processes}`];
  if (config.explorer) lines.push('  open it in a browser for the explorer (GraphiQL)');
  lines.push(`auth: ${facts.auth.summary}`);
  if (facts.auth.firstKeyNeeded)
    lines.push(
      `  ${firstKeyReason(config.auth.mode, facts.auth.mode)} (in another terminal):`,
      `  ${FIRST_KEY_COMMAND}`,
    );
  lines.push('Ctrl-C stops it.');
  return `\n${lines.map((line) => `  ${line}`).join('\n')}\n\n`;
}
