// The schema change check: schema.graphql against the last released schema
// (schema-releases/), breaking changes failing unless announced.
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Kind, parse, print, visit, type ASTVisitor, type TypeNode } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  ANNOUNCEMENTS_FILE,
  checkSchema,
  cutRelease,
  latestRelease,
  readAnnouncements,
  type Announcement,
  type Release,
} from '../../scripts/schema-compatibility.js';
import { PROJECT_ROOT } from '../../src/config.js';

const RELEASES = join(PROJECT_ROOT, 'schema-releases');
let released: Release;
let current: string;
let scratch: string;

beforeAll(async () => {
  released = await latestRelease(RELEASES);
  current = await readFile(join(PROJECT_ROOT, 'schema.graphql'), 'utf8');
  scratch = await mkdtemp(join(tmpdir(), 'schema-check-'));
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

/** The SDL after `visitor`, which must change something (so a test cannot pass on a schema it no longer fits). */
function edited(sdl: string, visitor: ASTVisitor): string {
  const before = print(parse(sdl));
  const after = print(visit(parse(sdl), visitor));
  expect(after, 'the edit changed nothing').not.toBe(before);
  return after;
}

const renameField = (type: string, from: string, to: string): ASTVisitor => ({
  ObjectTypeDefinition: (node) =>
    node.name.value !== type
      ? undefined
      : {
          ...node,
          fields: node.fields?.map((f) => (f.name.value === from ? { ...f, name: { ...f.name, value: to } } : f)),
        },
});

/** Removes the type and every field of that type. */
const removeType = (name: string): ASTVisitor => {
  const names = (type: TypeNode): boolean =>
    type.kind === Kind.NAMED_TYPE ? type.name.value === name : names(type.type);
  return {
    ObjectTypeDefinition: (node) => (node.name.value === name ? null : undefined),
    FieldDefinition: (node) => (names(node.type) ? null : undefined),
  };
};

const requireArgument = (type: string, field: string, argument: string): ASTVisitor => ({
  ObjectTypeDefinition: (node) =>
    node.name.value !== type
      ? undefined
      : {
          ...node,
          fields: node.fields?.map((f) =>
            f.name.value !== field
              ? f
              : {
                  ...f,
                  arguments: f.arguments?.map((a) =>
                    a.name.value === argument && a.type.kind !== Kind.NON_NULL_TYPE
                      ? { ...a, type: { kind: Kind.NON_NULL_TYPE, type: a.type } }
                      : a,
                  ),
                },
          ),
        },
});

const REASON = 'Announced to front ends on 2026-11-01; removal date agreed with them.';

describe('checkSchema', () => {
  it('passes the current schema.graphql against the last release: only additions since', async () => {
    const check = await checkSchema(released.sdl, current, []);
    expect(check.unannounced).toEqual([]);
    expect(check.passed).toBe(true);
    expect(check.changes.filter((change) => change.level === 'BREAKING')).toEqual([]);
    expect(check.changes).toContainEqual(expect.objectContaining({ type: 'TYPE_ADDED', path: 'Subscription' }));
  });

  const breaking: [string, () => string, Announcement[]][] = [
    [
      'a renamed field',
      () => edited(current, renameField('Service', 'queueCode', 'ticketPrefix')),
      [{ type: 'FIELD_REMOVED', path: 'Service.queueCode', reason: REASON }],
    ],
    [
      'a removed type',
      () => edited(current, removeType('CaseEvent')),
      [
        { type: 'TYPE_REMOVED', path: 'CaseEvent', reason: REASON },
        { type: 'FIELD_REMOVED', path: 'Case.history', reason: REASON },
      ],
    ],
    [
      'an argument made non-null',
      () => edited(current, requireArgument('Query', 'services', 'afterId')),
      [{ type: 'FIELD_ARGUMENT_TYPE_CHANGED', path: 'Query.services.afterId', reason: REASON }],
    ],
  ];

  it.each(breaking)('fails %s as breaking, and passes it once announced', async (_name, schema, announcements) => {
    const unannounced = await checkSchema(released.sdl, schema(), []);
    expect(unannounced.passed).toBe(false);
    expect(unannounced.unannounced.map(({ type, path }) => ({ type, path })).sort(byPath)).toEqual(
      announcements.map(({ type, path }) => ({ type, path })).sort(byPath),
    );
    expect(unannounced.unannounced.every((change) => change.level === 'BREAKING')).toBe(true);

    const announced = await checkSchema(released.sdl, schema(), announcements);
    expect(announced.passed).toBe(true);
    expect(announced.unusedAnnouncements).toEqual([]);
    const covered = announced.changes.filter((change) => change.announcement);
    expect(covered.map((change) => change.announcement?.reason)).toEqual(announcements.map(() => REASON));
  });

  it('does not take an announcement of another path, or of another kind of change, for this one', async () => {
    const renamed = edited(current, renameField('Service', 'queueCode', 'ticketPrefix'));
    const elsewhere: Announcement[] = [
      { type: 'FIELD_REMOVED', path: 'Service.extRef', reason: REASON },
      { type: 'FIELD_TYPE_CHANGED', path: 'Service.queueCode', reason: REASON },
    ];
    const check = await checkSchema(released.sdl, renamed, elsewhere);
    expect(check.passed).toBe(false);
    expect(check.unannounced.map((change) => change.path)).toEqual(['Service.queueCode']);
    expect(check.unusedAnnouncements).toEqual(elsewhere);
  });

  it('passes a pure addition: a new type, a field, an optional argument', async () => {
    const added = edited(current, {
      ObjectTypeDefinition: (node) =>
        node.name.value !== 'Service'
          ? undefined
          : { ...node, fields: [...(node.fields ?? []), ...fieldsOf('note("Plain text?" plain: Boolean): Note')] },
    }).concat('\n"A note on a service."\ntype Note {\n  "Its text."\n  text: String!\n}\n');
    const check = await checkSchema(released.sdl, added, []);
    expect(check.passed).toBe(true);
    expect(check.changes).toContainEqual(
      expect.objectContaining({ level: 'NON_BREAKING', type: 'TYPE_ADDED', path: 'Note' }),
    );
    expect(check.changes).toContainEqual(
      expect.objectContaining({ level: 'NON_BREAKING', type: 'FIELD_ADDED', path: 'Service.note' }),
    );
  });

  it('names the file and the line of a schema that does not parse', async () => {
    const error = await checkSchema(released.sdl, 'type Query {', [], {
      released: 'released',
      current: 'next.graphql',
    }).catch((thrown: unknown) => thrown);
    expect(error).toMatchObject({ code: 'INVALID_SCHEMA' });
    expect(String(error)).toContain('next.graphql is not a valid schema (line 1');
  });
});

function fieldsOf(sdl: string) {
  const [definition] = parse(`type T { ${sdl} }`).definitions;
  if (definition?.kind !== Kind.OBJECT_TYPE_DEFINITION) throw new Error('not a type');
  return definition.fields ?? [];
}

function byPath(a: { path: string | undefined }, b: { path: string | undefined }): number {
  return (a.path ?? '').localeCompare(b.path ?? '');
}

describe('announcements file', () => {
  it('the committed one is valid', async () => {
    await expect(readAnnouncements(join(RELEASES, ANNOUNCEMENTS_FILE))).resolves.toBeInstanceOf(Array);
  });

  it('refuses an announcement without a reason, naming the entry and the field', async () => {
    const file = join(scratch, 'no-reason.json');
    await writeFile(file, JSON.stringify({ announced: [{ type: 'FIELD_REMOVED', path: 'Service.queueCode' }] }));
    const error = await readAnnouncements(file).catch((thrown: unknown) => thrown);
    expect(error).toMatchObject({ code: 'INVALID_ANNOUNCEMENTS' });
    expect(String(error)).toContain('announced.0.reason');
  });
});

describe('cutting a release', () => {
  async function releasesFolder(schema: string, announced: Announcement[] = []) {
    const folder = await mkdtemp(join(scratch, 'releases-'));
    await copyFile(released.file, join(folder, `${released.version}.graphql`));
    await writeFile(join(folder, ANNOUNCEMENTS_FILE), JSON.stringify({ announced }));
    await writeFile(join(folder, 'next.graphql'), schema);
    return { schema: join(folder, 'next.graphql'), releases: folder };
  }

  it('makes the schema the new baseline and empties the announcements it carries', async () => {
    const schema = edited(current, renameField('Service', 'queueCode', 'ticketPrefix'));
    const announced = [{ type: 'FIELD_REMOVED', path: 'Service.queueCode', reason: REASON }];
    const files = await releasesFolder(schema, announced);

    const { carried } = await cutRelease(files, '9.0.0');

    expect(carried).toEqual(announced);
    const latest = await latestRelease(files.releases);
    expect(latest).toMatchObject({ version: '9.0.0', sdl: schema });
    expect(await readAnnouncements(join(files.releases, ANNOUNCEMENTS_FILE))).toEqual([]);
    expect((await checkSchema(latest.sdl, schema, [])).changes).toEqual([]);
  });

  it('writes the first release into an empty folder', async () => {
    const releases = join(scratch, 'first-release');
    const { file, carried } = await cutRelease({ schema: join(PROJECT_ROOT, 'schema.graphql'), releases }, '0.1.0');
    expect(carried).toEqual([]);
    expect(file).toBe(join(releases, '0.1.0.graphql'));
    expect(await latestRelease(releases)).toMatchObject({ version: '0.1.0', sdl: current });
  });

  it('refuses while a breaking change is unannounced, or for a version not newer, and writes nothing', async () => {
    const files = await releasesFolder(edited(current, removeType('CaseEvent')));
    await expect(cutRelease(files, '9.0.0')).rejects.toMatchObject({ code: 'UNANNOUNCED_BREAKING' });
    await expect(cutRelease(files, released.version)).rejects.toMatchObject({ code: 'RELEASE_EXISTS' });
    await expect(cutRelease(files, 'next')).rejects.toMatchObject({ code: 'INVALID_VERSION' });
    expect((await latestRelease(files.releases)).version).toBe(released.version);
  });
});

describe('npx tsx scripts/schema-check.ts', () => {
  const run = (args: string[]) =>
    promisify(execFile)(join(PROJECT_ROOT, 'node_modules', '.bin', 'tsx'), ['scripts/schema-check.ts', ...args], {
      cwd: PROJECT_ROOT,
    });

  it('exits 0 on schema.graphql, and 1 with the unannounced change named when a field is renamed', async () => {
    const passed = await run([]);
    expect(passed.stdout).toContain(`schema.graphql against release ${released.version}`);
    expect(passed.stdout).toMatch(/BREAKING \(0\)[\s\S]*DANGEROUS \(\d+\)[\s\S]*NON_BREAKING \(\d+\)/);
    expect(passed.stdout).toContain('OK: no unannounced breaking change');

    const renamed = join(scratch, 'renamed.graphql');
    await writeFile(renamed, edited(current, renameField('Service', 'queueCode', 'ticketPrefix')));
    const failed = await run(['--schema', renamed]).then(
      () => ({ code: 0, stdout: '' }),
      (error: unknown) => z.object({ code: z.number(), stdout: z.string() }).parse(error),
    );
    expect(failed.code).toBe(1);
    expect(failed.stdout).toContain("✗ FIELD_REMOVED Service.queueCode: Field 'queueCode' was removed");
    expect(failed.stdout).toContain('FAILED: 1 breaking change(s) not announced');
  });
});
