// A gateway process's JSON log (src/log.ts), read back by tests that spawn one.
import { z } from 'zod';

/** The fields tests look at; the rest are kept as they are. */
export const logLine = z.looseObject({
  pid: z.number(),
  msg: z.string(),
  route: z.string().optional(),
  workerPid: z.number().optional(),
});
export type LogLine = z.infer<typeof logLine>;

/** The process's log lines that parse (the last may be cut short while it writes). */
export function logLines(output: string): LogLine[] {
  return output.split('\n').flatMap((text) => {
    try {
      const parsed = logLine.safeParse(JSON.parse(text));
      return parsed.success ? [parsed.data] : [];
    } catch {
      return [];
    }
  });
}
