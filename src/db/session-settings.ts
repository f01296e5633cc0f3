// Settings every connection the gateway opens gets at its start, whatever
// the server's or the database's defaults say.
//
// TimeZone=UTC: @prisma/adapter-pg reads a timestamptz's text ("... +02")
// as if it were UTC, dropping the offset (an open upstream issue), so a
// server whose `timezone` is not UTC (the embedded initdb writes the
// machine's TZ into postgresql.conf) would answer every time shifted by its
// offset. Sessions in UTC send "+00", which every reader takes as written.
// Service-local days (tickets, "today") never depend on it: they are worked
// out with `AT TIME ZONE` the service's own zone.
export const SESSION_SETTINGS: Readonly<Record<string, string>> = { TimeZone: 'UTC' };

/** node-postgres's `options` (the startup packet's `-c name=value` list): the session settings and `extra`. */
export function sessionOptions(extra: Readonly<Record<string, string | number>> = {}): string {
  return Object.entries({ ...SESSION_SETTINGS, ...extra })
    .map(([name, value]) => `-c ${name}=${value}`)
    .join(' ');
}
