// The gateway's log: JSON lines on stdout (pino), one object per line, for
// operators and their log shippers; readable lines instead for a person at a
// terminal (log-format.ts, pretty-log.ts). Nothing a client sent is ever written:
// callers pass fixed messages and scalar fields they chose, and errors are
// reduced to what cannot quote input (docs/operations.md, "Logs").
import { pino, type DestinationStream } from 'pino';
import type { Config } from './config.js';
import type { LogFormat } from './log-format.js';
import { prettyDestination } from './pretty-log.js';

/** Values a line may carry beside its message: scalars the caller chose, never request content. */
export type LogFields = Readonly<Record<string, string | number | boolean | null>>;

export interface Logger {
  info(message: string, fields?: LogFields): void;
  /** Something an operator should act on, such as running without credentials. */
  warn(message: string, fields?: LogFields): void;
  /** `error` is reduced to what cannot hold personal data (see `loggedError`). */
  error(message: string, error?: unknown): void;
}

export type LogLevel = Config['logLevel'];

export interface LoggerOptions {
  /** The least severe level written; `info` unless given. */
  readonly level?: LogLevel;
  /** Where the lines go; stdout, buffered, unless given. */
  readonly destination?: DestinationStream;
  /** `json` unless given; `pretty` writes readable lines, unbuffered, to `destination` or stdout. */
  readonly format?: LogFormat;
  /** Written on every line (a cluster worker's number), besides pino's pid and hostname. */
  readonly fields?: LogFields;
}

/**
 * Stdout, written in blocks of up to 8 KiB or every 250 ms, whichever comes
 * first, and flushed at exit: a write per request line would cost the
 * busiest path a system call each. A kill -9 loses at most the last 250 ms.
 */
const STDOUT = (): DestinationStream => pino.destination({ dest: 1, sync: false, minLength: 8192, periodicFlush: 250 });

/**
 * pino's `isoTime` (`,"time":"2026-01-02T03:04:05.678Z"`), formatted once per
 * millisecond: under load many lines share one, and each Date formatted costs.
 */
let timeMs = Number.NaN;
let timeText = '';
export function isoTime(): string {
  const now = Date.now();
  if (now !== timeMs) {
    timeMs = now;
    timeText = `,"time":"${new Date(now).toISOString()}"`;
  }
  return timeText;
}

/**
 * Readable lines go to stdout as they are made: a terminal shows each at
 * once, and a person reads far fewer lines than a shipper takes.
 */
const PRETTY_STDOUT = (): DestinationStream => prettyDestination(pino.destination({ dest: 1, sync: true }));

function destinationFor(format: LogFormat, given: DestinationStream | undefined): DestinationStream {
  if (format === 'json') return given ?? STDOUT();
  // A given destination is a test's or a file's: no colours.
  return given ? prettyDestination(given, { colorize: false }) : PRETTY_STDOUT();
}

export function createLogger({ level = 'info', destination, fields, format = 'json' }: LoggerOptions = {}): Logger {
  const root = pino(
    {
      level,
      // Names rather than pino's numbers, and readable times: lines are read by people too.
      formatters: { level: (label) => ({ level: label }) },
      timestamp: isoTime,
      // Replaces pino's own, which writes an error's message, stack and every property.
      serializers: { err: (error: unknown) => loggedError(error) },
    },
    destinationFor(format, destination),
  );
  const logger = fields ? root.child(fields) : root;
  return {
    info: (message, fields) => {
      if (fields) logger.info(fields, message);
      else logger.info(message);
    },
    warn: (message, fields) => {
      if (fields) logger.warn(fields, message);
      else logger.warn(message);
    },
    error: (message, error) => {
      if (error === undefined) logger.error(message);
      else logger.error({ err: error }, message);
    },
  };
}

export const silentLogger: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** What a line says of an error: the kind, codes and where it was thrown, never the message unless it cannot quote input. */
export interface LoggedError {
  /** The class that made it (`TypeError`, `PrismaClientKnownRequestError`, ...), or what was thrown when not an object. */
  readonly type: string;
  /** `code` as the error carries it: a SQLSTATE, a Prisma code (`P2010`), a system code (`ECONNREFUSED`). */
  readonly code?: string | number;
  /** Prisma's driver adapter: PostgreSQL's SQLSTATE and the adapter's kind of error. */
  readonly sqlState?: string;
  readonly kind?: string;
  /** PostgreSQL's names for where it failed (pg errors): schema objects, never values. */
  readonly constraint?: string;
  readonly table?: string;
  readonly column?: string;
  readonly routine?: string;
  /** Only for system errors (`connect ECONNREFUSED 127.0.0.1:5432`), whose messages the OS writes. */
  readonly message?: string;
  /** The stack's frames, without its first line (which repeats the message). */
  readonly stack?: string;
  readonly cause?: LoggedError;
  /** An AggregateError's errors (the first few). */
  readonly errors?: readonly LoggedError[];
}

// Codes and schema names look like this; anything else is left out rather than trusted.
const CODE = /^[A-Za-z0-9_.-]{1,64}$/;
const FRAME = /^\s+at \S/;
const MAX_FRAMES = 20;
const MAX_FRAME_LENGTH = 300;
const MAX_DEPTH = 3;
const MAX_ERRORS = 5;

const codeLike = (value: unknown): string | undefined =>
  typeof value === 'string' && CODE.test(value) ? value : undefined;

const property = (value: object, name: string): unknown => (name in value ? Reflect.get(value, name) : undefined);

/**
 * The stack's frames. V8 writes `<name>: <message>` first, and a message may
 * quote input over several lines, so only lines after the message's end that
 * look like frames are kept; when the message cannot be found there (it was
 * changed after the error was made), the stack is left out.
 */
function framesOf(error: Error): string | undefined {
  const { stack, message } = error;
  if (typeof stack !== 'string') return undefined;
  let end: number;
  if (message === '') end = stack.indexOf('\n');
  else {
    const at = stack.indexOf(`: ${message}`);
    end = at < 0 ? -1 : at + 2 + message.length;
  }
  if (end < 0) return undefined;
  const frames = stack
    .slice(end)
    .split('\n')
    .filter((line) => FRAME.test(line))
    .slice(0, MAX_FRAMES)
    .map((line) => line.trim().slice(0, MAX_FRAME_LENGTH));
  return frames.length > 0 ? frames.join('\n') : undefined;
}

/** Prisma's driver adapter error, under `meta.driverAdapterError.cause`. */
function adapterCause(error: object): object | undefined {
  const meta = property(error, 'meta');
  const adapterError = typeof meta === 'object' && meta !== null ? property(meta, 'driverAdapterError') : undefined;
  const cause = typeof adapterError === 'object' && adapterError !== null ? property(adapterError, 'cause') : undefined;
  return typeof cause === 'object' && cause !== null ? cause : undefined;
}

/**
 * An error as a log line may hold it. Messages are left out: PostgreSQL's
 * quote the value they refused (`invalid input syntax ... "<value>"`), the
 * queue's name the reference a client sent, JSON's quote the body. What is
 * kept (class, codes, schema names, frames) says what failed and where.
 */
export function loggedError(error: unknown, depth = 0): LoggedError {
  try {
    return described(error, depth);
  } catch {
    // A getter that throws, a revoked proxy: logging must not fail the request it reports on.
    return { type: 'unreadable' };
  }
}

function described(error: unknown, depth: number): LoggedError {
  if (typeof error !== 'object' || error === null) return { type: typeof error };
  const made = property(error, 'constructor');
  const type = (typeof made === 'function' ? codeLike(made.name) : undefined) ?? 'Object';
  const code = property(error, 'code');
  const adapter = adapterCause(error);
  const syscall = property(error, 'syscall');
  const cause = property(error, 'cause');
  const errors = property(error, 'errors');
  const logged: { -readonly [K in keyof LoggedError]: LoggedError[K] } = { type };
  const keep = <K extends keyof LoggedError>(key: K, value: LoggedError[K] | undefined): void => {
    if (value !== undefined) logged[key] = value;
  };
  keep('code', typeof code === 'number' ? code : codeLike(code));
  if (adapter) {
    keep('sqlState', codeLike(property(adapter, 'originalCode')));
    keep('kind', codeLike(property(adapter, 'kind')));
  }
  for (const name of ['constraint', 'table', 'column', 'routine'] as const) keep(name, codeLike(property(error, name)));
  if (error instanceof Error) {
    // A system error's message is the OS's (`connect ECONNREFUSED 127.0.0.1:5432`).
    if (typeof syscall === 'string' && typeof code === 'string')
      keep('message', error.message.slice(0, MAX_FRAME_LENGTH));
    keep('stack', framesOf(error));
  }
  if (depth < MAX_DEPTH) {
    if (cause !== undefined) keep('cause', loggedError(cause, depth + 1));
    if (Array.isArray(errors))
      keep(
        'errors',
        errors.slice(0, MAX_ERRORS).map((each: unknown) => loggedError(each, depth + 1)),
      );
  }
  return logged;
}

/** Logs a line per kind of failure: the first at once, then how many more, at most once per window. */
export type FailureLog = (kind: string) => void;

/**
 * An outage fails every request the same way: one line for the first failure
 * of a kind, then "<kind>: N more in the last 5 s" once per window while they
 * go on, instead of a line (and a stack) per request.
 */
export function rateLimitedFailures(log: Logger, windowMs = 5_000): FailureLog {
  const suppressed = new Map<string, number>();
  const flush = (kind: string): void => {
    const count = suppressed.get(kind) ?? 0;
    if (count === 0) {
      // A quiet window: the next failure of this kind is logged in full again.
      suppressed.delete(kind);
      return;
    }
    log.error(`${kind}: ${count} more in the last ${windowMs / 1000} s`);
    suppressed.set(kind, 0);
    setTimeout(flush, windowMs, kind).unref();
  };
  return (kind) => {
    const count = suppressed.get(kind);
    if (count !== undefined) {
      suppressed.set(kind, count + 1);
      return;
    }
    log.error(kind);
    suppressed.set(kind, 0);
    setTimeout(flush, windowMs, kind).unref();
  };
}
