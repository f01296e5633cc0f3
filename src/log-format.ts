// Which form the log takes: readable lines for a person at a terminal, JSON
// lines for everything else (log shippers, files, pipes into jq), as
// LOG_FORMAT says; `auto` decides by whether stdout is a terminal.
import { LOG_FORMATS, type Config } from './config.js';

export type LogFormat = 'json' | 'pretty';

export function logFormat(setting: Config['logFormat'], stdoutIsTerminal: boolean): LogFormat {
  if (setting !== 'auto') return setting;
  return stdoutIsTerminal ? 'pretty' : 'json';
}

/**
 * The format for a start whose configuration could not be read (the message
 * saying why must be written somehow): LOG_FORMAT when it alone is valid.
 */
export function logFormatBeforeConfig(env: NodeJS.ProcessEnv, stdoutIsTerminal: boolean): LogFormat {
  const setting = LOG_FORMATS.find((each) => each === env['LOG_FORMAT']) ?? 'auto';
  return logFormat(setting, stdoutIsTerminal);
}
