// Error messages quote what the client sent (a variable's value, an enum
// name); a huge value must not come back huge, nor grow the log.

/** Most characters of one quoted value kept in a message. */
export const QUOTE_LIMIT = 100;
/** Most characters of a whole message, whatever it quotes. */
export const MESSAGE_LIMIT = 1_000;

const ELLIPSIS = '…';
// A double-quoted string as graphql-js and the queue's messages write it, escapes included.
const QUOTED = /"((?:[^"\\]|\\.)*)"/g;

function cut(text: string, limit: number): string {
  const characters = Array.from(text);
  if (characters.length <= limit) return text;
  // Not in the middle of an escape sequence.
  const kept = characters
    .slice(0, limit)
    .join('')
    .replace(/\\+$/, (slashes) => slashes.slice(slashes.length % 2));
  return `${kept}${ELLIPSIS}`;
}

/** The message with each quoted value cut to QUOTE_LIMIT characters, and the whole to MESSAGE_LIMIT. */
export function boundedMessage(message: string): string {
  const quotesCut =
    message.length <= QUOTE_LIMIT
      ? message
      : message.replace(QUOTED, (_, inner: string) => `"${cut(inner, QUOTE_LIMIT)}"`);
  return cut(quotesCut, MESSAGE_LIMIT);
}
