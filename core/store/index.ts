/**
 * The store: every database read and write anneal makes, behind one object. Only core/store imports
 * Prisma. Functions take `now` (ms) from the caller's injected clock and never read the system clock.
 */
import { apiTokensRepo } from './api-tokens';
import { attribsRepo } from './attribs';
import { catalogRepo } from './catalog';
import { openDatabase, type Database } from './db';
import { deploymentsRepo } from './deployments';
import { databaseTarget, type DatabaseTarget } from './engine';
import { installsRepo } from './installs';
import { networksRepo } from './networks';
import { nodeRolesRepo } from './node-roles';
import { nodeSecretsRepo } from './node-secrets';
import { nodesRepo } from './nodes';
import { queueRepo } from './queue';
import { eventsRepo, runsRepo } from './runs-events';
import { seedRepo } from './seed';
import { watchdogRepo } from './watchdog';

export { databaseTarget, type DatabaseTarget };

export function createStore(db: Database) {
  const p = db.prisma;
  return {
    engine: db.engine,
    appliedMigrations: db.appliedMigrations,
    catalog: catalogRepo(p, db.engine),
    nodes: nodesRepo(p),
    nodeSecrets: nodeSecretsRepo(p),
    deployments: deploymentsRepo(p),
    nodeRoles: nodeRolesRepo(p),
    attribs: attribsRepo(p),
    runs: runsRepo(p),
    events: eventsRepo(p),
    queue: queueRepo(p, db.engine),
    seed: seedRepo(p),
    watchdog: watchdogRepo(p),
    installs: installsRepo(p),
    networks: networksRepo(p),
    apiTokens: apiTokensRepo(p),
    close: () => db.close(),
  };
}

export type Store = ReturnType<typeof createStore>;

export async function openStore(target: DatabaseTarget): Promise<Store> {
  return createStore(await openDatabase(target));
}
