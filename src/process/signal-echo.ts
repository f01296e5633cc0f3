// One Ctrl-C often reaches a gateway process twice: the terminal sends SIGINT
// to its whole foreground group, and `npm start` forwards the SIGINT it got
// to the script it runs; a cluster primary then sends SIGTERM to workers that
// had the terminal's SIGINT already. A second signal this soon after the
// first is taken for that echo and gets no "still stopping" line: on a
// terminal each Ctrl-C printed one, as if it had been pressed twice.

/** Seen here: npm's forwarded SIGINT came 25-60 ms after the terminal's. */
const ECHO_WITHIN_MS = 1_000;

/** A clock started at the first signal: whether a later one is its echo. */
export function signalEchoes(): (now?: number) => boolean {
  const first = performance.now();
  return (now = performance.now()) => now - first < ECHO_WITHIN_MS;
}
