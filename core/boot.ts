/**
 * Wires a running anneal from configuration: opens (creating and migrating) the database, validates
 * the plugins, mirrors them into the catalog, ensures the `system` deployment, and builds the
 * services and the annealer. Used by main.ts, the CLI and the tests, so they all run the same wiring.
 * Contract: on any error everything opened so far is closed and the error is rethrown.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Annealer } from './annealer/annealer';
import { createSshPool, type SshPool } from './exec/ssh';
import { databaseHostKeyStore } from './services/host-keys';
import type { Config } from './config';
import { createLogger, type Logger } from './log';
import type { PluginManifest } from './plugins/manifest';
import { loadRegistry, type Registry } from './plugins/registry';
import { pluginsFor } from './plugins/catalog';
import { checksService, createServices, type ServiceDeps, type Services } from './services';
import { createDomainEvents } from './services/domain-events';
import { stopServiceDaemons } from './services/service-daemons';
import { adminHooksFor } from './services/admin-hooks';
import { createEventFeed, type EventFeed } from './services/event-feed';
import { createPowerMonitor, type PowerMonitor } from './services/power-monitor';
import { createKeyedLimits } from './annealer/limits';
import { createIpmiDriver } from './power/ipmi';
import { createRedfishDriver } from './power/redfish';
import { createSshPowerDriver } from './power/ssh';
import { tcpReachable } from './exec/probe';
import { publicKeyLine } from './exec/ssh-public-key';
import { openStore, type Store } from './store';

export interface Anneal {
  config: Config;
  store: Store;
  registry: Registry;
  services: Services;
  annealer: Annealer;
  /** Keeps powerState and alive current; started by main.ts (not by boot). */
  powerMonitor: PowerMonitor;
  /** The live feed behind GET /events/stream; polls only while someone listens. */
  feed: EventFeed;
  log: Logger;
  close(): Promise<void>;
}

/** How long the power monitor waits for a node's SSH port to accept a connection. */
const PROBE_TIMEOUT_MS = 2_000;

export async function syncCatalog(store: Store, registry: Registry, now: number): Promise<void> {
  await store.catalog.sync(
    {
      plugins: registry.plugins.map((p) => ({
        name: p.name,
        kind: p.kind,
        version: p.version,
        description: p.description,
      })),
      roles: [...registry.roles.values()],
      attribs: [...registry.attribs.values()],
    },
    now,
  );
}

/** The ssh jig's pool when ANNEAL_SSH_KEY is set; an unreadable key stops the start with its path. */
function sshPoolFor(config: Config, store: Store, now: () => number, log: Logger): SshPool | null {
  if (!config.ssh) return null;
  let privateKey: string;
  try {
    privateKey = readFileSync(config.ssh.keyFile, 'utf8');
  } catch (err) {
    throw new Error(`ANNEAL_SSH_KEY: cannot read ${config.ssh.keyFile} (${(err as NodeJS.ErrnoException).code})`);
  }
  return createSshPool({
    username: config.ssh.user,
    privateKey,
    connectTimeoutMs: config.sshConnectTimeoutMs,
    hostKeys: databaseHostKeyStore(store, now),
    log,
  });
}

export async function boot(
  config: Config,
  opts: {
    plugins?: PluginManifest[];
    log?: Logger;
    now?: () => number;
    localEnv?: Record<string, string | undefined>;
    /** Largest claim batch of the annealer (benchmarks); default its own. */
    batchSize?: number;
  } = {},
): Promise<Anneal> {
  const log = opts.log ?? createLogger({ level: config.logLevel });
  const now = opts.now ?? Date.now;
  const registry = loadRegistry(opts.plugins ?? (await pluginsFor(config.fixtures)));
  const store = await openStore(config.database);
  try {
    if (store.appliedMigrations.length) log.info({ migrations: store.appliedMigrations }, 'database migrated');
    await syncCatalog(store, registry, now());
    const ssh = sshPoolFor(config, store, now, log);
    const bmcLimits = createKeyedLimits({ maxConcurrent: 1, minTimeMs: config.bmcMinIntervalMs });
    const power = {
      drivers: {
        ipmi: createIpmiDriver(),
        redfish: createRedfishDriver(config.redfish),
        // ssh (reboot only) logs in with the ssh jig's pool: only when ANNEAL_SSH_KEY is set.
        ...(ssh ? { ssh: createSshPowerDriver({ pool: ssh }) } : {}),
      },
      limits: bmcLimits,
      reachable: (host: string, port: number) => tcpReachable(host, port, PROBE_TIMEOUT_MS),
    };
    // One direction only: the annealer's actions call the services through the admin hooks; the services
    // reach the annealer through domain events published after their transactions commit.
    const events = createDomainEvents();
    const deps: ServiceDeps = {
      store,
      registry,
      now,
      events,
      managedPublicKey: config.ssh ? publicKeyLine(config.ssh.keyFile) : null,
      power,
    };
    const core = createServices(deps);
    const annealer = new Annealer({
      ssh,
      store,
      registry,
      now,
      log,
      maxConcurrent: config.maxConcurrent,
      leaseMs: config.leaseMs,
      retry: config.retry,
      localEnv: { ...(opts.localEnv ?? process.env), ANNEAL_SERVICE_DIR: path.join(config.dataDir, 'services') },
      batchSize: opts.batchSize,
      admin: adminHooksFor(deps, core, { redfish: config.redfish }),
      onAudit: () => events.emit({ type: 'audit' }),
      onRemoved: () => events.emit({ type: 'removed' }),
    });
    const services: Services = { ...core, checks: checksService({ store, checkNode: (id) => annealer.checkNode(id) }) };
    const powerMonitor = createPowerMonitor(deps, services.power, { intervalMs: config.powerPollMs, log });
    const feed = createEventFeed({ store, now, log });
    // Moves that waited for removals (lifecycle.settleMoves): one pass at a time; a call during a pass
    // runs one more after it. A failure is retried at the annealer's next recovery pass.
    let settling: Promise<void> | null = null;
    let settleAgain = false;
    const settleMoves = (): void => {
      if (settling) {
        settleAgain = true;
        return;
      }
      settling = services.lifecycle
        .settleMoves()
        .then(
          () => undefined,
          (err: unknown) => log.error({ err }, 'binding the roles of moved nodes failed; retried at the next recovery'),
        )
        .finally(() => {
          settling = null;
          if (settleAgain) {
            settleAgain = false;
            settleMoves();
          }
        });
    };
    const unsubscribe = [
      events.on('work', () => annealer.wake()),
      events.on('audit', () => feed.poke()),
      events.on('node.retired', (e) => powerMonitor.forget(e.nodeId)),
      events.on('removed', () => settleMoves()),
    ];
    await services.inventory.ensureSystem('anneal');
    await services.lifecycle.resumeServiceDaemons('anneal');
    return {
      config,
      store,
      registry,
      services,
      annealer,
      powerMonitor,
      feed,
      log,
      async close() {
        unsubscribe.forEach((off) => off());
        feed.close();
        await powerMonitor.stop();
        await annealer.stop();
        while (settling) await settling;
        // Nothing anneal started keeps running after it exits; resumeServiceDaemons starts them again.
        await stopServiceDaemons(path.join(config.dataDir, 'services'), log);
        await bmcLimits.stop();
        await ssh?.dispose();
        await store.close();
      },
    };
  } catch (err) {
    await store.close();
    throw err;
  }
}
