// npm run schema:check [-- --schema <file>] [-- --releases <dir>]
//   Prints every change in schema.graphql since the last released schema,
//   grouped by criticality; exits 1 on a breaking change that is not announced.
// npm run schema:check -- --release
//   Makes schema.graphql the release named by package.json "version".
// Exit codes: 0 passed (or released), 1 unannounced breaking change, 2 anything else.
// Policy and workflow: docs/schema-changes.md.
import { readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { checkFiles, cutRelease, formatReport, SchemaCheckError } from './schema-compatibility.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

async function main(args: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      schema: { type: 'string', default: join(ROOT, 'schema.graphql') },
      releases: { type: 'string', default: join(ROOT, 'schema-releases') },
      release: { type: 'boolean', default: false },
    },
  });
  const files = { schema: resolve(values.schema), releases: resolve(values.releases) };
  const name = relative(process.cwd(), files.schema);
  if (values.release) {
    const packageJson = z
      .object({ version: z.string() })
      .parse(JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')));
    const { file, carried } = await cutRelease(files, packageJson.version);
    console.log(`${name} is release ${packageJson.version}: ${relative(process.cwd(), file)}`);
    for (const entry of carried)
      console.log(`  breaking, announced: ${entry.type} ${entry.path ?? entry.message ?? ''}: ${entry.reason}`);
    return 0;
  }
  const report = await checkFiles(files);
  console.log(formatReport(report, { schema: name, release: relative(process.cwd(), report.release.file) }));
  return report.check.passed ? 0 : 1;
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  if (error instanceof SchemaCheckError) console.error(`schema check: ${error.message} [${error.code}]`);
  else console.error(error);
  process.exitCode = error instanceof SchemaCheckError && error.code === 'UNANNOUNCED_BREAKING' ? 1 : 2;
}
