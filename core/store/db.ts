/**
 * Opens the database chosen by a DatabaseTarget, applies pending migrations, and returns the Prisma
 * client. This module and its siblings in core/store are the only places that import Prisma.
 *
 * NOTE: both generated clients expose the same model API (one models.prisma), so the SQLite client's
 * type stands for both; dialect differences live in sql.ts.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import { PrismaPg } from '@prisma/adapter-pg';
import type { SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import { PrismaClient as SqliteClient } from './generated/sqlite/client';
import { PrismaClient as PostgresClient } from './generated/postgresql/client';
import type { DatabaseTarget, Engine } from './engine';
import { applyMigrations } from './migrate';

export type Prisma = SqliteClient;

export interface Database {
  readonly engine: Engine;
  readonly prisma: Prisma;
  /** Names of migrations applied when this handle was opened. */
  readonly appliedMigrations: string[];
  close(): Promise<void>;
}

function adapterFactory(target: DatabaseTarget): SqlMigrationAwareDriverAdapterFactory {
  if (target.engine === 'postgresql') return new PrismaPg({ connectionString: target.url, max: 10 });
  if (target.url !== ':memory:') mkdirSync(path.dirname(path.resolve(target.url)), { recursive: true });
  // NOTE: `timeout` is SQLite's busy timeout; writers from several processes wait instead of failing.
  return new PrismaBetterSqlite3({ url: target.url, timeout: 15_000 });
}

/** Contract: on error (unreachable server, failed migration) nothing is left open and the error is rethrown. */
export async function openDatabase(target: DatabaseTarget, opts: { migrate?: boolean } = {}): Promise<Database> {
  const appliedMigrations = opts.migrate === false ? [] : await applyMigrations(target.engine, adapterFactory(target));
  const adapter = adapterFactory(target);
  const prisma = (
    target.engine === 'sqlite' ? new SqliteClient({ adapter }) : new PostgresClient({ adapter })
  ) as Prisma;
  try {
    if (target.engine === 'sqlite') {
      // WAL lets readers proceed during writes; NORMAL sync is durable across process crashes.
      await prisma.$queryRawUnsafe('PRAGMA journal_mode = WAL');
      await prisma.$executeRawUnsafe('PRAGMA synchronous = NORMAL');
    } else {
      await prisma.$queryRawUnsafe('SELECT 1');
    }
  } catch (err) {
    await prisma.$disconnect();
    throw err;
  }
  return {
    engine: target.engine,
    prisma,
    appliedMigrations,
    close: () => prisma.$disconnect(),
  };
}
