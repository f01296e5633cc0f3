// Settings declared once. src/config.ts declares each setting as a zod rule
// passed through `setting()`, with its environment variable and what it
// means, inside groups (`z.object`) shaped like the configuration the gateway
// reads; the configuration's type is the groups' output. What is here is the
// same for every setting: reading an environment into that shape, naming the
// variable of a problem, and the README's table (npm run generate:settings).
import { z } from 'zod';

interface SettingMeta {
  /** The environment variable. */
  readonly env: string;
  /** What the tables show as the default, where the rule's own would mislead (a path made absolute, a port picked at start). */
  readonly shownDefault: string | undefined;
}

const declared = z.registry<SettingMeta>();

/**
 * One setting: the variable `env`, read by `rule` (which gives the default
 * when the variable is unset or empty), and what it means, in the words of
 * the README's table. Returns `rule`, described, to stand in a group.
 */
export function setting<Rule extends z.ZodType>(
  env: string,
  rule: Rule,
  description: string,
  { shownDefault }: { readonly shownDefault?: string } = {},
): Rule {
  const described = rule.describe(description);
  declared.add(described, { env, shownDefault });
  return described;
}

export interface Setting {
  readonly env: string;
  /** Where its value stands in the configuration (`['http', 'idleTimeoutMs']`). */
  readonly path: readonly string[];
  readonly description: string;
  /** Markdown: the default in backticks, or `(none)`. */
  readonly shownDefault: string;
}

/** Every setting in `group` and the groups within it, in the order declared. */
export function settingsIn(group: z.ZodObject, path: readonly string[] = []): readonly Setting[] {
  return Object.entries(group.shape).flatMap(([key, rule]: [string, z.ZodType]) => {
    const at = [...path, key];
    const meta = declared.get(rule);
    if (meta !== undefined)
      return [
        {
          env: meta.env,
          path: at,
          description: rule.description ?? '',
          shownDefault: meta.shownDefault ?? shown(rule),
        },
      ];
    if (rule instanceof z.ZodObject) return settingsIn(rule, at);
    throw new Error(`${at.join('.')} is neither a setting() nor a group of settings`);
  });
}

/** The rule's default, as the tables write it. */
function shown(rule: z.ZodType): string {
  const unset = rule.safeParse(undefined);
  if (!unset.success) return '(required)';
  const value: unknown = unset.data;
  if (value === undefined || (Array.isArray(value) && value.length === 0)) return '(none)';
  const text = (each: unknown) => (typeof each === 'string' ? each : JSON.stringify(each));
  return `\`${Array.isArray(value) ? value.map(text).join(',') : text(value)}\``;
}

/** The environment's values in the settings' shape; an empty variable counts as unset. */
export function fromEnvironment(settings: readonly Setting[], env: NodeJS.ProcessEnv): Record<string, unknown> {
  const shaped: Record<string, unknown> = {};
  for (const { env: name, path } of settings) {
    let group = shaped;
    for (const key of path.slice(0, -1)) group = (group[key] ??= {}) as Record<string, unknown>;
    group[path.at(-1) ?? name] = env[name] === '' ? undefined : env[name];
  }
  return shaped;
}

/** The variable a problem at `path` is about; a check across settings names its variable as its path. */
export function variableAt(settings: readonly Setting[], path: readonly PropertyKey[]): string {
  const at = path.map(String).join('.');
  return settings.find((each) => each.path.join('.') === at)?.env ?? at;
}

/** The README's table of settings (markdown, columns not yet aligned). */
export function settingsTable(settings: readonly Setting[]): string {
  const cell = (text: string) => text.replaceAll('|', '\\|');
  return [
    '| variable | default | meaning |',
    '| --- | --- | --- |',
    ...settings.map((each) => `| \`${each.env}\` | ${cell(each.shownDefault)} | ${cell(each.description)} |`),
  ].join('\n');
}

/**
 * `T` as a configuration is once read: every property present (an unset
 * optional setting is there, `undefined`) and, however deep, read-only.
 */
export type Settled<T> = T extends readonly (infer Item)[]
  ? readonly Settled<Item>[]
  : T extends object
    ? { readonly [Key in keyof T]-?: Settled<T[Key]> }
    : T;
