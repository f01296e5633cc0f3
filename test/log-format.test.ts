// The log's two forms: JSON lines for shippers and pipes, readable lines for
// a person at a terminal (LOG_FORMAT, or by whether stdout is a terminal).
import { describe, expect, it } from 'vitest';
import { FIRST_KEY_COMMAND } from '../src/auth/auth-mode.js';
import { logFormat, logFormatBeforeConfig } from '../src/log-format.js';
import { createLogger, type Logger } from '../src/log.js';
import type { LogFormat } from '../src/log-format.js';

function capture(format: LogFormat): { log: Logger; text: () => string } {
  const written: string[] = [];
  const log = createLogger({ format, destination: { write: (line: string) => void written.push(line) } });
  return { log, text: () => written.join('') };
}

describe('the log format', () => {
  it('is readable on a terminal and JSON anywhere else, unless LOG_FORMAT says', () => {
    expect(logFormat('auto', true)).toBe('pretty');
    expect(logFormat('auto', false)).toBe('json');
    expect(logFormat('json', true)).toBe('json');
    expect(logFormat('pretty', false)).toBe('pretty');
  });

  it('before the configuration is read, follows a valid LOG_FORMAT and ignores an invalid one', () => {
    expect(logFormatBeforeConfig({ LOG_FORMAT: 'json' }, true)).toBe('json');
    expect(logFormatBeforeConfig({ LOG_FORMAT: 'pretty' }, false)).toBe('pretty');
    expect(logFormatBeforeConfig({ LOG_FORMAT: 'yaml' }, true)).toBe('pretty');
    expect(logFormatBeforeConfig({}, false)).toBe('json');
  });

  it('pretty: one readable line per message, with the level, the text as is and the fields', () => {
    const { log, text } = capture('pretty');
    log.warn(`auth: create an admin key (${FIRST_KEY_COMMAND})`);
    log.info('request', { route: '/graphql', status: 200 });
    log.info('stopped');
    const lines = text().trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    for (const line of lines) expect(line).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] (INFO|WARN) \(\d+\): /);
    // Copied from the terminal, the command runs: no JSON escapes.
    expect(lines[0]).toContain(`WARN (${process.pid}): auth: create an admin key (${FIRST_KEY_COMMAND})`);
    expect(lines[1]).toMatch(/INFO \(\d+\): request \{"route":"\/graphql","status":200\}$/);
    expect(lines[2]).toMatch(/INFO \(\d+\): stopped$/);
    // No colour codes where the lines do not go to a terminal.
    expect(text()).not.toContain('\u001b[');
  });

  it('pretty: an error keeps what the JSON line keeps of it (frames, no message)', () => {
    const { log, text } = capture('pretty');
    log.error('it failed', new Error('secret-subject'));
    expect(text()).toMatch(/ERROR \(\d+\): it failed/);
    expect(text()).toMatch(/"type": "Error"/);
    expect(text()).toMatch(/at .*log-format\.test\.ts:\d+/);
    expect(text()).not.toContain('secret-subject');
  });

  it('json: the lines operators and tests rely on, unchanged', () => {
    const { log, text } = capture('json');
    log.warn(`auth: create an admin key (${FIRST_KEY_COMMAND})`);
    const [line] = text().split('\n');
    expect(JSON.parse(line ?? '')).toEqual({
      level: 'warn',
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) as unknown,
      pid: process.pid,
      hostname: expect.any(String) as unknown,
      msg: `auth: create an admin key (${FIRST_KEY_COMMAND})`,
    });
  });
});
