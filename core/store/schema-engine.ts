/**
 * Prisma's schema engine built to WebAssembly (@prisma/schema-engine-wasm), driven through a driver
 * adapter. It replaces the native engine binary that `prisma migrate` would download, which this
 * workplace cannot reach. Used by migrate.ts at start and by scripts/make-migration.ts.
 *
 * Contract: `withSchemaEngine` opens the engine on the given adapter factory, runs `fn`, and always
 * disposes it. Errors from the engine are rethrown as plain Errors with the engine's message.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import {
  bindMigrationAwareSqlAdapterFactory,
  type SqlMigrationAwareDriverAdapterFactory,
} from '@prisma/driver-adapter-utils';
import type { SchemaEngine } from '@prisma/schema-engine-wasm';

type WasmModule = typeof import('@prisma/schema-engine-wasm');
type WasmExports = Record<string, unknown>;
/** The part of the WebAssembly global we use (its types ship with lib.dom, which this project omits). */
const wasmApi = (
  globalThis as unknown as {
    WebAssembly: { instantiate(bytes: Uint8Array, imports: object): Promise<{ instance: { exports: WasmExports } }> };
  }
).WebAssembly;
let loaded: Promise<WasmModule> | undefined;

/** Instantiates the wasm-bindgen "bundler" build by hand: Node 20 cannot import .wasm modules. */
async function loadWasm(): Promise<WasmModule> {
  const bindings = (await import('@prisma/schema-engine-wasm/schema_engine_bg')) as unknown as WasmModule & {
    __wbg_set_wasm(exports: WasmExports): void;
  };
  const pkgDir = path.dirname(require.resolve('@prisma/schema-engine-wasm/schema_engine_bg'));
  const bytes = await readFile(path.join(pkgDir, 'schema_engine_bg.wasm'));
  const { instance } = await wasmApi.instantiate(bytes, { './schema_engine_bg.js': bindings as never });
  bindings.__wbg_set_wasm(instance.exports);
  (instance.exports.__wbindgen_start as () => void)();
  return bindings;
}

export async function withSchemaEngine<T>(
  adapterFactory: SqlMigrationAwareDriverAdapterFactory,
  schemaText: string,
  fn: (engine: SchemaEngine) => Promise<T>,
): Promise<T> {
  loaded ??= loadWasm();
  const wasm = await loaded;
  // NOTE: engine.free() does not close the connections the engine opened; an open SQLite connection
  // would keep its lock, so every adapter handed to the engine is tracked and disposed here.
  const opened: { dispose(): Promise<void> }[] = [];
  const tracked: SqlMigrationAwareDriverAdapterFactory = {
    provider: adapterFactory.provider,
    adapterName: adapterFactory.adapterName,
    connect: async () => track(await adapterFactory.connect()),
    connectToShadowDb: async () => track(await adapterFactory.connectToShadowDb()),
  };
  function track<A extends { dispose(): Promise<void> }>(adapter: A): A {
    opened.push(adapter);
    return adapter;
  }
  const engine = await wasm.SchemaEngine.new(
    { datamodels: [['schema.prisma', schemaText]] },
    () => undefined,
    bindMigrationAwareSqlAdapterFactory(tracked),
  );
  try {
    return await fn(engine);
  } finally {
    engine.free();
    await Promise.all(opened.map((a) => a.dispose().catch(() => undefined)));
  }
}

export const noFilters = { externalTables: [], externalEnums: [] };
