/**
 * Which database engine a URL selects. `postgres://` and `postgresql://` select PostgreSQL; `file:` or
 * a bare path selects SQLite; no URL selects the embedded SQLite file under the data directory.
 */
export type Engine = 'sqlite' | 'postgresql';

export interface DatabaseTarget {
  engine: Engine;
  /** For SQLite an absolute file path (or ':memory:'), for PostgreSQL the connection URL. */
  url: string;
}

export function databaseTarget(databaseUrl: string | undefined, dataDir: string): DatabaseTarget {
  if (!databaseUrl) return { engine: 'sqlite', url: `${dataDir.replace(/\/$/, '')}/anneal.db` };
  if (/^postgres(ql)?:\/\//.test(databaseUrl)) return { engine: 'postgresql', url: databaseUrl };
  return { engine: 'sqlite', url: databaseUrl.replace(/^file:/, '') };
}
