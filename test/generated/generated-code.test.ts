// The committed generated code (src/generated) must be what `npm run
// generate` makes from schema.graphql, operations/ and prisma/schema.prisma
// today. Regenerated into memory or a temporary folder, never over the tree.
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import { generate } from '@graphql-codegen/cli';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import codegenConfig from '../../codegen.js';
import kioskCodegenConfig from '../../examples/kiosk/codegen.js';
import { PRISMA_SCHEMA_FILE, PROJECT_ROOT } from '../../src/config.js';

const GENERATED_PRISMA = join(PROJECT_ROOT, 'src', 'generated', 'prisma');
/** What `generate` answers when it does not write: its files, untyped in its declarations. */
const codegenOutputs = z.array(z.object({ filename: z.string(), content: z.string() }));

async function filesBelow(root: string): Promise<Map<string, string>> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  const files = entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name));
  return new Map(
    await Promise.all(files.map(async (file) => [relative(root, file), await readFile(file, 'utf8')] as const)),
  );
}

describe('generated code', () => {
  it('matches what GraphQL Code Generator makes from schema.graphql and operations/', async () => {
    const outputs = codegenOutputs.parse(await generate({ ...codegenConfig, cwd: PROJECT_ROOT, silent: true }, false));
    expect(outputs.length).toBeGreaterThan(1);
    for (const output of outputs) {
      const committed = await readFile(join(PROJECT_ROOT, output.filename), 'utf8').catch(
        () => `(missing ${output.filename})`,
      );
      expect(committed, `${output.filename} is stale: run npm run generate`).toBe(output.content);
    }
  });

  it('matches what GraphQL Code Generator makes for examples/kiosk from schema.graphql', async () => {
    // The kiosk's config gives its paths from the working directory, codegen's default.
    const outputs = codegenOutputs.parse(await generate({ ...kioskCodegenConfig, silent: true }, false));
    expect(outputs.map((output) => output.filename).sort()).toEqual(
      ['gql.ts', 'graphql.ts', 'index.ts'].map((file) =>
        join(relative(process.cwd(), PROJECT_ROOT), 'examples/kiosk/src/gql', file),
      ),
    );
    for (const output of outputs) {
      const committed = await readFile(resolve(output.filename), 'utf8').catch(() => `(missing ${output.filename})`);
      expect(committed, `${output.filename} is stale: run npm run generate`).toBe(output.content);
    }
  });

  it('matches what prisma generate makes from prisma/schema.prisma', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'gateway-prisma-generate-'));
    try {
      // The same schema text at the same depth, so its relative output path
      // lands in the temporary folder and the embedded schema is identical.
      await mkdir(join(folder, 'prisma'));
      await copyFile(PRISMA_SCHEMA_FILE, join(folder, 'prisma', 'schema.prisma'));
      await promisify(execFile)(
        join(PROJECT_ROOT, 'node_modules', '.bin', 'prisma'),
        ['generate', '--schema', join(folder, 'prisma', 'schema.prisma')],
        {
          cwd: PROJECT_ROOT,
          env: {
            ...process.env,
            PRISMA_SCHEMA_ENGINE_BINARY: PRISMA_SCHEMA_FILE,
            CHECKPOINT_DISABLE: '1',
            PRISMA_HIDE_UPDATE_MESSAGE: '1',
          },
        },
      );
      const [expected, committed] = await Promise.all([
        filesBelow(join(folder, relative(PROJECT_ROOT, GENERATED_PRISMA))),
        filesBelow(GENERATED_PRISMA),
      ]);
      expect(expected.size).toBeGreaterThan(3);
      expect([...committed.keys()].sort(), 'files in src/generated/prisma: run npm run generate').toEqual(
        [...expected.keys()].sort(),
      );
      for (const [file, content] of expected)
        expect(committed.get(file), `src/generated/prisma/${file} is stale: run npm run generate`).toBe(content);
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });
});
