/**
 * Applies the checked-in migrations of prisma/<engine>/migrations at start, exactly as
 * `prisma migrate deploy` would (same `_prisma_migrations` table and checksums), without the native
 * engine. Idempotent: applied migrations are skipped. A failed migration throws and is recorded by the
 * engine as failed; anneal refuses to start until an operator resolves it (docs/operations.md).
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import { noFilters, withSchemaEngine } from './schema-engine';
import type { Engine } from './engine';

export const prismaDir = path.resolve(__dirname, '../../prisma');

export function migrationsDir(engine: Engine): string {
  return path.join(prismaDir, engine, 'migrations');
}

/** The migration list in the shape the schema engine expects. */
export async function readMigrationList(engine: Engine) {
  const baseDir = migrationsDir(engine);
  const entries = await readdir(baseDir, { withFileTypes: true }).catch(() => []);
  const dirs = entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  const lockPath = path.join(baseDir, 'migration_lock.toml');
  const lockContent = await readFile(lockPath, 'utf8').catch(() => null);
  return {
    baseDir,
    lockfile: { path: 'migration_lock.toml', content: lockContent },
    shadowDbInitScript: '',
    migrationDirectories: await Promise.all(
      dirs.map(async (dir) => ({
        path: dir,
        migrationFile: {
          path: 'migration.sql',
          content: { tag: 'ok' as const, value: await readFile(path.join(baseDir, dir, 'migration.sql'), 'utf8') },
        },
      })),
    ),
  };
}

export async function schemaText(engine: Engine): Promise<string> {
  return readFile(path.join(prismaDir, engine, 'schema.prisma'), 'utf8');
}

/**
 * Names of migrations recorded as finished, read over a plain connection. Empty when the database is
 * new (no `_prisma_migrations` table yet).
 */
async function finishedMigrations(adapterFactory: SqlMigrationAwareDriverAdapterFactory): Promise<Set<string>> {
  const conn = await adapterFactory.connect();
  try {
    const result = await conn.queryRaw({
      sql: 'SELECT "migration_name" FROM "_prisma_migrations" WHERE "finished_at" IS NOT NULL AND "rolled_back_at" IS NULL',
      args: [],
      argTypes: [],
    });
    return new Set(result.rows.map((r) => String(r[0])));
  } catch {
    return new Set();
  } finally {
    await conn.dispose();
  }
}

/**
 * Returns the names of the migrations applied by this call (empty when the database was current).
 * NOTE: the schema engine opens SQLite in exclusive locking mode, which fails while any other
 * connection (a running server, the CLI) has the file open; it is only started when a migration is
 * actually pending.
 */
export async function applyMigrations(
  engine: Engine,
  adapterFactory: SqlMigrationAwareDriverAdapterFactory,
): Promise<string[]> {
  const migrationsList = await readMigrationList(engine);
  if (migrationsList.migrationDirectories.length === 0) {
    throw new Error(`no migrations found under ${migrationsDir(engine)}`);
  }
  const finished = await finishedMigrations(adapterFactory);
  if (migrationsList.migrationDirectories.every((d) => finished.has(d.path))) return [];
  return withSchemaEngine(adapterFactory, await schemaText(engine), async (schemaEngine) => {
    const out = await schemaEngine.applyMigrations({ migrationsList, filters: noFilters });
    return out.appliedMigrationNames;
  });
}
