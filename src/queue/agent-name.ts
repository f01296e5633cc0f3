// What may name an agent (or an API key): something a person can read and
// tell apart. History and screens show it, so a blank, an invisible
// character or a bare direction override would be an agent nobody can see.

/** At most this many characters (Unicode code points). */
export const AGENT_NAME_MAX = 100;

// Control (Cc), format (Cf: zero-width spaces, direction overrides, BOM),
// line and paragraph separators, unassigned and private-use code points.
const UNREADABLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cn}\p{Co}]/u;

/** Why `value` cannot name an agent, as a rule name and a message; null when it can. */
export function agentNameProblem(value: string): { rule: string; message: string } | null {
  const length = Array.from(value).length;
  if (length === 0) return { rule: 'minLength', message: 'must be at least 1 character' };
  if (length > AGENT_NAME_MAX) return { rule: 'maxLength', message: `must be at most ${AGENT_NAME_MAX} characters` };
  if (UNREADABLE.test(value))
    return {
      rule: 'printable',
      message:
        'must not contain control, invisible formatting (such as zero-width or direction marks) or unassigned characters',
    };
  if (value.trim() !== value) return { rule: 'trimmed', message: 'must not begin or end with white space' };
  return null;
}
