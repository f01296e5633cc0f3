// The names of the operations the project's clients send: those of the
// `.graphql` files in `operations/` (the same files codegen types clients
// from, codegen.ts), read once at start-up.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kind, parse, type DocumentNode } from 'graphql';
import { PROJECT_ROOT } from '../config.js';

export const OPERATIONS_DIR = join(PROJECT_ROOT, 'operations');

function parsedFile(path: string): DocumentNode {
  try {
    return parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(`${path}: not a GraphQL document`, { cause: error });
  }
}

/**
 * Every named operation of every `.graphql` file under `dir`, sorted. A
 * missing folder has none (a deployment without it labels only
 * METRICS_OPERATION_NAMES); a file that does not parse stops the start, as it
 * stops codegen.
 */
export function operationNamesIn(dir: string = OPERATIONS_DIR): string[] {
  let files: string[];
  try {
    files = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith('.graphql'));
  } catch (error) {
    if (error instanceof Error && 'code' in error && error.code === 'ENOENT') return [];
    throw error;
  }
  const names = new Set<string>();
  for (const file of files) {
    for (const definition of parsedFile(join(dir, file)).definitions)
      if (definition.kind === Kind.OPERATION_DEFINITION && definition.name) names.add(definition.name.value);
  }
  return [...names].sort();
}
