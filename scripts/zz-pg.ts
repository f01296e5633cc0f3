import { MIGRATIONS_DIR } from '../src/config.js';
import { applyPendingMigrations } from '../src/db/migrations.js';
import { startScratchPostgres } from '../src/db/scratch-postgres.js';
const server = await startScratchPostgres();
await applyPendingMigrations(server.url, MIGRATIONS_DIR);
console.log(server.url);
process.on('SIGTERM', () => { void server.stop().then(() => process.exit(0)); });
setInterval(() => {}, 1000);
