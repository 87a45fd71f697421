/**
 * Fresh databases for tests on every engine (style guide: "run on every engine").
 * SQLite: a new file in a temp dir. PostgreSQL: a new database on TEST_POSTGRES_URL's server
 * (default postgresql://postgres@127.0.0.1:5432/postgres), dropped afterwards.
 * When the server is unreachable, PostgreSQL suites are skipped with a visible reason, unless
 * CI=true or ANNEAL_REQUIRE_POSTGRES=1, where that is a failure.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import type { DatabaseTarget, Engine } from '../../core/store/engine';

export const postgresAdminUrl = process.env.TEST_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const postgresRequired = process.env.CI === 'true' || process.env.ANNEAL_REQUIRE_POSTGRES === '1';

export const engines: Engine[] = ['sqlite', 'postgresql'];

export interface TestDatabase {
  target: DatabaseTarget;
  drop(): Promise<void>;
}

let postgresUp: Promise<boolean> | undefined;
async function postgresReachable(): Promise<boolean> {
  postgresUp ??= (async () => {
    const c = new Client({ connectionString: postgresAdminUrl, connectionTimeoutMillis: 3000 });
    try {
      await c.connect();
      await c.query('SELECT 1');
      return true;
    } catch {
      return false;
    } finally {
      await c.end().catch(() => undefined);
    }
  })();
  return postgresUp;
}

/** Call in a `before` hook: skips the suite (or fails in CI) when the engine is not available. */
export async function requireEngine(ctx: Mocha.Context, engine: Engine): Promise<void> {
  if (engine !== 'postgresql' || (await postgresReachable())) return;
  if (postgresRequired) throw new Error(`PostgreSQL is required (CI) but ${postgresAdminUrl} is unreachable`);
  console.warn(`    skipping PostgreSQL suite: ${postgresAdminUrl} is unreachable (set TEST_POSTGRES_URL)`);
  ctx.skip();
}

function withDatabase(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

export async function freshDatabase(engine: Engine): Promise<TestDatabase> {
  if (engine === 'sqlite') {
    const dir = mkdtempSync(path.join(tmpdir(), 'anneal-test-'));
    return {
      target: { engine, url: path.join(dir, 'anneal.db') },
      drop: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  const name = `anneal_t_${randomBytes(6).toString('hex')}`;
  const admin = new Client({ connectionString: postgresAdminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  return {
    target: { engine, url: withDatabase(postgresAdminUrl, name) },
    async drop() {
      const c = new Client({ connectionString: postgresAdminUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

/** Everything a test database holds, as text: the engine's own dump (sqlite3 .dump, pg_dump --data-only). */
export function dumpDatabase(db: TestDatabase): string {
  const url = db.target.url;
  if (db.target.engine === 'sqlite') return execFileSync('sqlite3', [url, '.dump'], { encoding: 'utf8' });
  // pg_dump's \restrict / \unrestrict lines carry a random key per run; the header names versions.
  return execFileSync('pg_dump', ['--data-only', '--no-owner', url], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  }).replace(/^(\\restrict|\\unrestrict|-- Dumped (from|by)) .*$/gm, '');
}
