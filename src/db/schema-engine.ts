// Prisma's schema engine (the part behind `prisma migrate`), loaded from its
// WebAssembly build. The CLI wants a native engine downloaded from Prisma's
// servers; the WebAssembly build ships in an npm package, so migrations can be
// created and applied anywhere the npm registry is reachable.
//
// The package's own entry point imports a `.wasm` file as an ES module, which
// Node 20 cannot do, so the module is instantiated here by hand.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';
import * as bindings from '@prisma/schema-engine-wasm/schema_engine_bg';
import { PostgresPool } from './postgres-pool.js';
import { sessionOptions } from './session-settings.js';

/** The engine class of the bindings this module instantiates. */
export type SchemaEngine = bindings.SchemaEngine;

let initialised: Promise<void> | undefined;

// The slice of the WebAssembly API used here. @types/node 20 does not declare
// the WebAssembly global (TypeScript keeps it in the DOM library).
interface WasmInstance {
  readonly exports: Record<string, unknown>;
}
interface WasmApi {
  compile(bytes: Uint8Array): Promise<object>;
  instantiate(module: object, imports: Record<string, object>): Promise<WasmInstance>;
}
const { WebAssembly } = globalThis as unknown as { WebAssembly: WasmApi };

async function instantiate(): Promise<void> {
  // The .wasm file is not in the package's exports; it sits beside the bindings.
  const bindingsPath = createRequire(import.meta.url).resolve('@prisma/schema-engine-wasm/schema_engine_bg');
  const wasmPath = join(dirname(bindingsPath), 'schema_engine_bg.wasm');
  const module = await WebAssembly.compile(await readFile(wasmPath));
  const instance = await WebAssembly.instantiate(module, { './schema_engine_bg.js': bindings });
  bindings.__wbg_set_wasm(instance.exports);
  const start = instance.exports['__wbindgen_start'];
  if (typeof start !== 'function') throw new Error('@prisma/schema-engine-wasm: __wbindgen_start is missing');
  // wasm-bindgen's start function takes no arguments and returns nothing.
  (start as () => void)();
}

/** Engine errors arrive as plain objects; this turns them into Errors with the engine's message. */
function asError(reason: unknown): Error {
  if (reason instanceof Error) return reason;
  if (typeof reason === 'object' && reason !== null && 'message' in reason) return new Error(String(reason.message));
  return new Error(JSON.stringify(reason));
}

/**
 * PrismaPg runs a migration script by splitting it at every `;`, which cuts
 * a function body (`$$ ... ; ... $$`) or a comment apart. PostgreSQL's simple
 * query protocol takes the whole script at once, as one implicit transaction,
 * which is also how the stock `prisma migrate deploy` sends it.
 */
function wholeScripts(factory: PrismaPg, pool: pg.Pool): PrismaPg {
  const connect = factory.connect.bind(factory);
  factory.connect = async () => {
    const adapter = await connect();
    adapter.executeScript = async (script: string) => {
      await pool.query(script);
    };
    return adapter;
  };
  return factory;
}

/**
 * Opens a schema engine on `databaseUrl`, runs `use`, and frees it. The
 * engine connects at once, even for diffs between files.
 */
export async function withSchemaEngine<T>(databaseUrl: string, use: (engine: SchemaEngine) => Promise<T>): Promise<T> {
  initialised ??= instantiate();
  await initialised;
  // Our own pool, so that its connections are closed when we are done: the
  // engine does not close what the adapter opened.
  const pool = new PostgresPool(databaseUrl, { max: 2, options: sessionOptions() });
  try {
    const adapter = bindMigrationAwareSqlAdapterFactory(wholeScripts(new PrismaPg(pool), pool));
    const engine = await bindings.SchemaEngine.new({ datamodels: undefined }, () => undefined, adapter).catch(
      (reason: unknown) => {
        throw asError(reason);
      },
    );
    try {
      return await use(engine).catch((reason: unknown) => {
        throw asError(reason);
      });
    } finally {
      engine.free();
    }
  } finally {
    await pool.end();
  }
}
