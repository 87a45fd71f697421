/**
 * The store: every database read and write anneal makes, behind one object. Only core/store imports
 * Prisma. Functions take `now` (ms) from the caller's injected clock and never read the system clock.
 *
 * `transaction(fn)` gives `fn` the same repositories bound to one database transaction: everything they
 * write commits together or not at all (a thrown error rolls back and is rethrown). Prisma's own errors
 * never leave the store: they are translated to AppErrors here (see translate-error.ts).
 */
import { apiTokensRepo } from './api-tokens';
import { attribsRepo } from './attribs';
import { blueprintSiteRepo } from './blueprint-site';
import { catalogRepo } from './catalog';
import { atomic, openDatabase, type Client, type Database } from './db';
import { deploymentsRepo } from './deployments';
import { databaseTarget, type DatabaseTarget, type Engine } from './engine';
import { installsRepo } from './installs';
import { networksRepo } from './networks';
import { nodeRolesRepo } from './node-roles';
import { nodeSecretsRepo } from './node-secrets';
import { nodesRepo } from './nodes';
import { queueRepo } from './queue';
import { eventsRepo, runsRepo } from './runs-events';
import { seedRepo } from './seed';
import { siteSecretsRepo } from './site-secrets';
import { teardownRepo } from './teardown';
import { translatePrismaErrors } from './translate-error';
import { watchdogRepo } from './watchdog';

export { databaseTarget, type DatabaseTarget };

function createRepos(p: Client, engine: Engine) {
  return {
    catalog: catalogRepo(p, engine),
    nodes: nodesRepo(p),
    nodeSecrets: nodeSecretsRepo(p),
    deployments: deploymentsRepo(p),
    nodeRoles: nodeRolesRepo(p),
    attribs: attribsRepo(p),
    runs: runsRepo(p),
    events: eventsRepo(p),
    queue: queueRepo(p, engine),
    teardown: teardownRepo(p),
    seed: seedRepo(p),
    watchdog: watchdogRepo(p),
    installs: installsRepo(p),
    networks: networksRepo(p),
    apiTokens: apiTokensRepo(p),
    blueprintSite: blueprintSiteRepo(p),
    siteSecrets: siteSecretsRepo(p),
  };
}

export type Repos = ReturnType<typeof createRepos>;

/**
 * Test-only fault injection (atomicity tests): called with `<repo>.<method>` before each repository call
 * made inside a transaction; throwing there aborts the use case between two of its statements.
 */
export type FaultHook = (call: string) => void;

export function createStore(db: Database) {
  const engine = db.engine;
  let faultHook: FaultHook | null = null;

  function withFaults(repos: Repos): Repos {
    const hook = faultHook;
    if (!hook) return repos;
    const wrapped: Record<string, unknown> = {};
    for (const [name, repo] of Object.entries(repos)) {
      const methods: Record<string, unknown> = {};
      for (const [method, fn] of Object.entries(repo as Record<string, unknown>)) {
        methods[method] =
          typeof fn === 'function'
            ? (...args: unknown[]) => {
                hook(`${name}.${method}`);
                return (fn as (...a: unknown[]) => unknown)(...args);
              }
            : fn;
      }
      wrapped[name] = methods;
    }
    return wrapped as Repos;
  }

  return {
    engine,
    appliedMigrations: db.appliedMigrations,
    ...translatePrismaErrors(createRepos(db.prisma, engine)),
    /** Runs `fn` with repositories bound to one transaction; see the module comment. */
    transaction<T>(fn: (tx: Repos) => Promise<T>): Promise<T> {
      return atomic(db.prisma, (tx) => fn(withFaults(translatePrismaErrors(createRepos(tx, engine)))));
    },
    /** Test-only: see FaultHook. */
    setFaultHook(hook: FaultHook | null): void {
      faultHook = hook;
    },
    close: () => db.close(),
  };
}

export type Store = ReturnType<typeof createStore>;

export async function openStore(target: DatabaseTarget): Promise<Store> {
  return createStore(await openDatabase(target));
}
