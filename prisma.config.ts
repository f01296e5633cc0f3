// Prisma CLI configuration. The CLI is only used for `prisma generate` here;
// migrations are created and applied through the schema engine's WebAssembly
// build (src/db/schema-engine.ts), because the native engine cannot be fetched
// on machines without internet access.
import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
});
