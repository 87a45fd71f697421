/**
 * Opens the database chosen by a DatabaseTarget, applies pending migrations, and returns the Prisma
 * client. This module and its siblings in core/store are the only places that import Prisma.
 *
 * NOTE: both generated clients expose the same model API (one models.prisma), so the SQLite client's
 * type stands for both; dialect differences live in sql.ts.
 */
import { mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import { PrismaPg } from '@prisma/adapter-pg';
import type { SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import { PrismaClient as SqliteClient } from './generated/sqlite/client';
import { PrismaClient as PostgresClient } from './generated/postgresql/client';
import type { DatabaseTarget, Engine } from './engine';
import { applyMigrations } from './migrate';

export type Prisma = SqliteClient;

/** A client bound to an open interactive transaction; repositories take this (a full client is one too). */
export type Client = Parameters<Parameters<Prisma['$transaction']>[0]>[0];

/**
 * Interactive transactions may wait for SQLite's write lock (another process, a long batch) and may be
 * large (a 10,000-node teardown); Prisma's defaults (2 s wait, 5 s run) are for web requests.
 */
export const txOptions = { maxWait: 60_000, timeout: 120_000 };

/**
 * Runs `fn` atomically: in a new transaction on a full client, or directly on a client that is already
 * a transaction (a repository called inside `store.transaction` joins the caller's transaction).
 */
export function atomic<T>(client: Client, fn: (tx: Client) => Promise<T>): Promise<T> {
  // NOTE: a transaction client has a `$transaction` of its own (Prisma 7 nests them), so what is a
  // transaction is remembered here rather than guessed from its shape.
  if (openTransactions.has(client)) return fn(client);
  return (client as Prisma).$transaction((tx) => {
    openTransactions.add(tx);
    return fn(tx);
  }, txOptions);
}

const openTransactions = new WeakSet<Client>();

export interface Database {
  readonly engine: Engine;
  readonly prisma: Prisma;
  /** Names of migrations applied when this handle was opened. */
  readonly appliedMigrations: string[];
  close(): Promise<void>;
}

/**
 * Creates a directory and its missing parents. NOTE: fs.mkdirSync(…, {recursive: true}) never returns
 * on a path under /proc (it retries ENOENT forever, measured on Node 20); this walks the path once and
 * fails with a message naming the directory.
 */
function ensureDir(dir: string): void {
  const parts = path.resolve(dir).split(path.sep).filter(Boolean);
  let current: string = path.sep;
  for (const part of parts) {
    current = path.join(current, part);
    try {
      mkdirSync(current);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST' && statSync(current).isDirectory()) continue;
      throw new Error(
        `cannot create the data directory ${dir} (${code} at ${current}): set ANNEAL_DATA_DIR to a writable directory`,
      );
    }
  }
}

function adapterFactory(target: DatabaseTarget): SqlMigrationAwareDriverAdapterFactory {
  if (target.engine === 'postgresql') return new PrismaPg({ connectionString: target.url, max: 10 });
  if (target.url !== ':memory:') ensureDir(path.dirname(path.resolve(target.url)));
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

/**
 * Ids per statement in updateMany/deleteMany. Prisma splits long `in` lists of reads but not of writes,
 * and refuses a write with more bound values than the engine allows (999 on SQLite, 32,766 on
 * PostgreSQL): a deployment of 10,000 nodes × 6 roles is 60,000 ids.
 */
const WRITE_CHUNK = 500;

/** Runs `write` on `ids` in slices of {@link WRITE_CHUNK}, one after another. */
export async function inChunks(ids: number[], write: (chunk: number[]) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < ids.length; i += WRITE_CHUNK) await write(ids.slice(i, i + WRITE_CHUNK));
}

/** An integer (an id, a count, a time) to inline into hand-written SQL; anything else is a programming error. */
export function sqlInt(v: number): number {
  if (!Number.isSafeInteger(v)) throw new Error(`expected an integer for SQL, got ${String(v)}`);
  return v;
}
