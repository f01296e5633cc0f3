// Schema compatibility: what changed in schema.graphql since the last
// released schema (schema-releases/<version>.graphql), by GraphQL
// Inspector's criticality, and whether every breaking change was announced
// (schema-releases/announced-breaking-changes.json). The policy and the
// workflow are in docs/schema-changes.md; the command is scripts/schema-check.ts.
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CriticalityLevel, diff, type Change } from '@graphql-inspector/core';
import { buildSchema, GraphQLError, type GraphQLSchema } from 'graphql';
import { z } from 'zod';

export const ANNOUNCEMENTS_FILE = 'announced-breaking-changes.json';

export type SchemaCheckErrorCode =
  | 'INVALID_SCHEMA'
  | 'NO_RELEASE'
  | 'INVALID_ANNOUNCEMENTS'
  | 'INVALID_VERSION'
  | 'RELEASE_EXISTS'
  | 'UNANNOUNCED_BREAKING';

export class SchemaCheckError extends Error {
  override readonly name = 'SchemaCheckError';

  constructor(
    readonly code: SchemaCheckErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/**
 * A breaking change made on purpose: Inspector's change `type` and `path` (or, for the few
 * changes without a path, its `message`), and why it is acceptable.
 */
const announcement = z
  .strictObject({
    type: z.string().regex(/^[A-Z_]+$/, 'must be an Inspector change type, e.g. FIELD_REMOVED'),
    path: z.string().min(1).optional(),
    message: z.string().min(1).optional(),
    reason: z.string().trim().min(10, 'must say why, in at least 10 characters'),
  })
  .refine((entry) => entry.path !== undefined || entry.message !== undefined, {
    error: 'needs `path` (or `message` for a change without a path)',
  });
export type Announcement = z.infer<typeof announcement>;
const announcementsFile = z.strictObject({ announced: z.array(announcement) });

export type Level = 'BREAKING' | 'DANGEROUS' | 'NON_BREAKING';
export const LEVELS: readonly Level[] = ['BREAKING', 'DANGEROUS', 'NON_BREAKING'];

export interface SchemaChange {
  readonly level: Level;
  readonly type: string;
  readonly path: string | undefined;
  readonly message: string;
  /** For a breaking change: the announcement that covers it, if any. */
  readonly announcement: Announcement | undefined;
}

export interface SchemaCheck {
  /** Every change, in Inspector's order. */
  readonly changes: readonly SchemaChange[];
  /** Breaking changes no announcement covers: any of them fails the check. */
  readonly unannounced: readonly SchemaChange[];
  /** Announcements that match no change (already released, or mistyped): worth removing. */
  readonly unusedAnnouncements: readonly Announcement[];
  readonly passed: boolean;
}

function schemaOf(sdl: string, name: string): GraphQLSchema {
  try {
    return buildSchema(sdl);
  } catch (error) {
    if (!(error instanceof GraphQLError)) throw error;
    const where = error.locations?.[0];
    const at = where ? ` (line ${where.line}, column ${where.column})` : '';
    throw new SchemaCheckError('INVALID_SCHEMA', `${name} is not a valid schema${at}: ${error.message}`);
  }
}

const levelOf = (change: Change): Level =>
  change.criticality.level === CriticalityLevel.Breaking
    ? 'BREAKING'
    : change.criticality.level === CriticalityLevel.Dangerous
      ? 'DANGEROUS'
      : 'NON_BREAKING';

const covers = (entry: Announcement, change: Change): boolean =>
  entry.type === change.type &&
  (entry.path === undefined || entry.path === change.path) &&
  (entry.message === undefined || entry.message === change.message);

/** Compares two schemas' SDL; `names` label them in errors. */
export async function checkSchema(
  released: string,
  current: string,
  announced: readonly Announcement[],
  names: { released: string; current: string } = { released: 'the released schema', current: 'the schema' },
): Promise<SchemaCheck> {
  const found = await diff(schemaOf(released, names.released), schemaOf(current, names.current));
  const changes = found.map((change): SchemaChange => {
    const level = levelOf(change);
    return {
      level,
      // `Change`'s type parameter defaults to `any`: its `type` is a string (a `ChangeType` value).
      type: String(change.type),
      path: change.path,
      message: change.message,
      announcement: level === 'BREAKING' ? announced.find((entry) => covers(entry, change)) : undefined,
    };
  });
  const unannounced = changes.filter((change) => change.level === 'BREAKING' && !change.announcement);
  const unusedAnnouncements = announced.filter((entry) => !found.some((change) => covers(entry, change)));
  return { changes, unannounced, unusedAnnouncements, passed: unannounced.length === 0 };
}

/** `1.2.3` as numbers; undefined for anything else. */
function parseVersion(version: string): readonly [number, number, number] | undefined {
  const match = /^(\d+)\.(\d+)\.(\d+)$/.exec(version);
  return match ? [Number(match[1]), Number(match[2]), Number(match[3])] : undefined;
}

function compareVersions(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < 3; i += 1) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) - (b[i] ?? 0);
  return 0;
}

export interface Release {
  readonly version: string;
  readonly file: string;
  readonly sdl: string;
}

/** The newest `<major>.<minor>.<patch>.graphql` in `dir`. */
export async function latestRelease(dir: string): Promise<Release> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const versions = names
    .map((name) => /^(.+)\.graphql$/.exec(name)?.[1])
    .filter((version): version is string => version !== undefined && parseVersion(version) !== undefined)
    .sort((a, b) => compareVersions(parseVersion(a) ?? [], parseVersion(b) ?? []));
  const version = versions.at(-1);
  if (version === undefined)
    throw new SchemaCheckError(
      'NO_RELEASE',
      `No released schema (<version>.graphql) in ${dir}: cut one with --release`,
    );
  const file = join(dir, `${version}.graphql`);
  return { version, file, sdl: await readFile(file, 'utf8') };
}

export async function readAnnouncements(file: string): Promise<Announcement[]> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    if (error instanceof Error && 'code' in error && error.code === 'ENOENT') return [];
    throw new SchemaCheckError('INVALID_ANNOUNCEMENTS', `${file} is not JSON: ${String(error)}`);
  }
  const parsed = announcementsFile.safeParse(json);
  if (!parsed.success) {
    const [issue] = parsed.error.issues;
    const where = issue?.path.length ? issue.path.join('.') : '(top level)';
    throw new SchemaCheckError('INVALID_ANNOUNCEMENTS', `${file}: ${where} ${issue?.message ?? 'is invalid'}`);
  }
  return parsed.data.announced;
}

export interface Files {
  /** The schema to check, e.g. schema.graphql. */
  readonly schema: string;
  /** The folder of released schemas and the announcements file. */
  readonly releases: string;
}

export interface Report {
  readonly release: Release;
  readonly check: SchemaCheck;
}

/** Checks the schema file against the newest release in the folder, with its announcements. */
export async function checkFiles(files: Files): Promise<Report> {
  const release = await latestRelease(files.releases);
  const announced = await readAnnouncements(join(files.releases, ANNOUNCEMENTS_FILE));
  const current = await readFile(files.schema, 'utf8');
  const check = await checkSchema(release.sdl, current, announced, { released: release.file, current: files.schema });
  return { release, check };
}

/**
 * Makes the schema file the release `version`: writes `<version>.graphql` and empties the
 * announcements, which that release carries (they are returned, for the release notes).
 * Refuses while a breaking change is unannounced, and for a version not newer than the last.
 * The first release (an empty folder) is written as it is: there is nothing to compare it with.
 */
export async function cutRelease(files: Files, version: string): Promise<{ file: string; carried: Announcement[] }> {
  const parsed = parseVersion(version);
  if (!parsed) throw new SchemaCheckError('INVALID_VERSION', `"${version}" is not a <major>.<minor>.<patch> version`);
  const file = join(files.releases, `${version}.graphql`);
  const current = await readFile(files.schema, 'utf8');
  const first = await latestRelease(files.releases).then(
    () => false,
    (error: unknown) => {
      if (error instanceof SchemaCheckError && error.code === 'NO_RELEASE') return true;
      throw error;
    },
  );
  let carried: Announcement[] = [];
  if (first) {
    schemaOf(current, files.schema);
    await mkdir(files.releases, { recursive: true });
  } else {
    const { release, check } = await checkFiles(files);
    if (release.version === version && release.sdl === current) return { file, carried: [] };
    if (compareVersions(parsed, parseVersion(release.version) ?? []) <= 0)
      throw new SchemaCheckError(
        'RELEASE_EXISTS',
        `The schema changed since release ${release.version}; raise "version" in package.json above ${release.version} first`,
      );
    if (!check.passed)
      throw new SchemaCheckError(
        'UNANNOUNCED_BREAKING',
        `${check.unannounced.length} breaking change(s) are not announced: run the check and announce or undo them`,
      );
    carried = [...new Set(check.changes.flatMap((change) => (change.announcement ? [change.announcement] : [])))];
  }
  await writeFile(file, current);
  await writeFile(join(files.releases, ANNOUNCEMENTS_FILE), `${JSON.stringify({ announced: [] }, null, 2)}\n`);
  return { file, carried };
}

const oneLine = (text: string, max = 200): string => {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
};

/** The report as printed: every change under its level, then the verdict. */
export function formatReport({ release, check }: Report, names: { schema: string; release: string }): string {
  const lines = [
    `${names.schema} against release ${release.version} (${names.release}): ${check.changes.length} change(s)`,
  ];
  for (const level of LEVELS) {
    const changes = check.changes.filter((change) => change.level === level);
    lines.push('', `${level} (${changes.length})`);
    for (const change of changes) {
      const mark = level !== 'BREAKING' ? ' ' : change.announcement ? '✓' : '✗';
      lines.push(`  ${mark} ${change.type} ${change.path ?? '(schema)'}: ${oneLine(change.message)}`);
      if (change.announcement) lines.push(`      announced: ${oneLine(change.announcement.reason)}`);
    }
  }
  for (const entry of check.unusedAnnouncements)
    lines.push('', `note: announced ${entry.type} ${entry.path ?? entry.message ?? ''} matches no change; remove it`);
  lines.push(
    '',
    check.passed
      ? `OK: no unannounced breaking change since ${release.version}.`
      : `FAILED: ${check.unannounced.length} breaking change(s) not announced. Add instead of changing, deprecate ` +
          `before removing (docs/schema-changes.md), or announce each in ${ANNOUNCEMENTS_FILE} with a reason.`,
  );
  return lines.join('\n');
}
