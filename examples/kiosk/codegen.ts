// GraphQL Code Generator for the kiosk: typed documents (client preset) from
// the gateway's schema, for the operations written with `graphql()` in src/.
//
//   npx graphql-codegen --config examples/kiosk/codegen.ts     (from the repository root, or
//   npx graphql-codegen --config codegen.ts                    from this folder)
//
// The schema is the gateway's schema.graphql by default; with SCHEMA_URL set
// (e.g. http://127.0.0.1:4000/graphql) it is read from a running gateway by
// introspection instead, sending KIOSK_API_KEY (when set) as the credential a
// gateway requiring credentials wants. Paths are written relative to this folder and turned
// into paths from the working directory, so the command works from either place.
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CodegenConfig } from '@graphql-codegen/cli';

const schemaUrl = process.env['SCHEMA_URL'];
const apiKey = process.env['KIOSK_API_KEY']?.trim();
/** A path given from this folder, as a path from the working directory (codegen's reference). */
const here = (path: string): string => relative(process.cwd(), fileURLToPath(new URL(path, import.meta.url))) || '.';

const config: CodegenConfig = {
  schema:
    schemaUrl === undefined || schemaUrl === ''
      ? here('../../schema.graphql')
      : apiKey === undefined || apiKey === ''
        ? schemaUrl
        : { [schemaUrl]: { headers: { authorization: `Bearer ${apiKey}` } } },
  documents: [here('src/**/*.ts'), `!${here('src/gql')}/**`],
  // Node's ESM resolution (NodeNext) needs the extension in relative imports.
  importExtension: '.js',
  ignoreNoDocuments: false,
  generates: {
    [`${here('src/gql')}/`]: {
      preset: 'client',
      // Plain strings, not parsed documents: the kiosk sends them with fetch
      // and graphql-ws, so it needs no GraphQL parser at run time.
      config: {
        documentMode: 'string',
        useTypeImports: true,
        enumsAsTypes: true,
        strictScalars: true,
        scalars: { DateTime: 'string' },
      },
      presetConfig: { fragmentMasking: false },
    },
  },
};

export default config;
