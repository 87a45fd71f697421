/** Boots a full in-process anneal (store, registry with the `test` fixture, services, annealer) on a fresh database. */
import { boot, type Anneal } from '../../core/boot';
import { loadConfig } from '../../core/config';
import { silentLogger } from '../../core/log';
import type { Engine } from '../../core/store/engine';
import { freshDatabase, type TestDatabase } from './engines';

export interface TestAnneal extends Anneal {
  db: TestDatabase;
  /** Closes anneal and drops the database. */
  dispose(): Promise<void>;
}

export async function startTestAnneal(
  engine: Engine,
  opts: {
    leaseMs?: number;
    maxConcurrent?: number;
    localEnv?: Record<string, string | undefined>;
    now?: () => number;
  } = {},
): Promise<TestAnneal> {
  const db = await freshDatabase(engine);
  const config = {
    ...loadConfig({}),
    database: db.target,
    fixtures: ['test'],
    leaseMs: opts.leaseMs ?? 30_000,
    maxConcurrent: opts.maxConcurrent ?? 64,
  };
  const anneal = await boot(config, { log: silentLogger, localEnv: opts.localEnv, now: opts.now });
  return {
    ...anneal,
    db,
    async dispose() {
      await anneal.close();
      await db.drop();
    },
  };
}
