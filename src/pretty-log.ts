// Readable log lines for a terminal: each JSON line pino makes is turned into
// `[12:00:01.234] INFO (pid): message {fields}` by pino-pretty, in this
// process and at once. Not pino-pretty's stream nor a worker transport: both
// hand lines on asynchronously, and the last ones (`stopped`) would be lost
// when the gateway calls process.exit; a terminal is slow to read anyway.
import type { DestinationStream } from 'pino';
import { isColorSupported, prettyFactory } from 'pino-pretty';

export interface PrettyOptions {
  /** ANSI colours; by default when stdout is a terminal that takes them (NO_COLOR, TERM=dumb do not). */
  readonly colorize?: boolean;
}

export function prettyDestination(
  out: DestinationStream,
  { colorize = isColorSupported }: PrettyOptions = {},
): DestinationStream {
  const pretty = prettyFactory({
    colorize,
    // Local wall-clock time: the person reading is at this machine.
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'hostname',
    // Fields on the message's line, as JSON: a request line stays one line.
    singleLine: true,
  });
  return {
    write: (line: string) => {
      out.write(pretty(line));
    },
  };
}
