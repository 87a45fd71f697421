/**
 * The server process (`npm start`): config → boot → API on every HOST address at PORT → annealer (unless
 * ANNEAL_ANNEALER=off). Logs one `anneal listening on http://HOST:PORT[, http://HOST2:PORT] (<engine>:
 * <database>)` line. With PORT=0 the first address picks a free port and the others use the same one.
 *
 * Contract: a configuration or boot failure, or an address that cannot be bound, prints one line `anneal: <message>` to stderr and exits
 * 1. SIGTERM or SIGINT stops accepting requests, lets in-flight requests and node-role runs finish,
 * closes the database and exits 0. Repeated signals are ignored (tsx relays one signal twice when
 * the process is slow to acknowledge it); a shutdown that takes over 30 s exits 1.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from './api/app';
import { boot, type Anneal } from './boot';
import { loadConfig } from './config';
import type { DatabaseTarget } from './store/engine';

/** How long open keep-alive or slow connections may delay shutdown before they are cut. */
const SHUTDOWN_GRACE_MS = 10_000;
/** How long the whole shutdown may take before the process gives up and exits 1. */
const SHUTDOWN_TIMEOUT_MS = 30_000;

/** Where the data lives, for the startup line: the SQLite path, or the PostgreSQL URL without credentials or options. */
export function describeDatabase(target: DatabaseTarget): string {
  if (target.engine === 'sqlite') return `sqlite: ${target.url}`;
  const u = new URL(target.url);
  return `postgresql: ${u.protocol}//${u.username ? `${u.username}@` : ''}${u.host}${u.pathname}`;
}

/** Prints `anneal: <message>` on one line (multi-line driver messages are joined) and exits 1. */
function fatal(err: unknown): never {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`anneal: ${message.trim().replace(/\s*\n\s*/g, ' ')}\n`);
  process.exit(1);
}

function listen(server: Server, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    const force = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS);
    force.unref();
    server.close(() => {
      clearTimeout(force);
      resolve();
    });
    server.closeIdleConnections();
  });
}

function onShutdown(anneal: Anneal, servers: Server[]): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return anneal.log.info({ signal }, 'anneal is already shutting down');
    stopping = true;
    anneal.log.info({ signal }, 'anneal shutting down');
    const deadline = setTimeout(
      () => fatal(new Error(`shutdown did not finish within ${SHUTDOWN_TIMEOUT_MS} ms`)),
      SHUTDOWN_TIMEOUT_MS,
    );
    deadline.unref();
    Promise.all(servers.map(closeServer))
      .then(() => anneal.close())
      .then(
        () => process.exit(0),
        (err) => fatal(err),
      );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

/**
 * First start (no token in the database): creates the `admin` token from ANNEAL_ADMIN_TOKEN, or a new
 * one printed here once, to stdout and not through the logger (logs are shipped and kept; this line is
 * for the operator at the terminal).
 */
async function announceFirstAdmin(anneal: Anneal): Promise<void> {
  const first = await anneal.services.tokens.ensureFirstAdmin(anneal.config.adminToken);
  if (first.printOnce) {
    process.stdout.write(
      [
        'anneal: first start: created the admin token. It is shown this once and stored only as a hash:',
        '',
        `    ${first.printOnce}`,
        '',
        '  use it with the CLI:  export ANNEAL_TOKEN=<the token above>',
        '  create more:          anneal tokens create NAME --role operator|read-only|admin',
        '',
      ].join('\n'),
    );
  } else if (first.created) {
    anneal.log.info('created the admin token from ANNEAL_ADMIN_TOKEN (first start)');
  } else if (first.envIgnored) {
    anneal.log.warn('ANNEAL_ADMIN_TOKEN is ignored: tokens exist already (it is only used on first start)');
  }
}

async function main(): Promise<void> {
  let anneal: Anneal;
  try {
    anneal = await boot(loadConfig());
  } catch (err) {
    fatal(err);
  }
  const { config } = anneal;
  try {
    await announceFirstAdmin(anneal);
  } catch (err) {
    await anneal.close().catch(() => undefined);
    fatal(err);
  }
  const app = createApp(anneal);
  const servers: Server[] = [];
  try {
    let port = config.port;
    for (const host of config.hosts) {
      const server = createServer(app);
      servers.push(server);
      port = (await listen(server, port, host)).port;
    }
    onShutdown(anneal, servers);
    const urls = config.hosts.map((h) => `http://${h.includes(':') ? `[${h}]` : h}:${port}`);
    anneal.log.info(`anneal listening on ${urls.join(', ')} (${describeDatabase(config.database)})`);
    if (config.annealer) anneal.annealer.start();
    anneal.powerMonitor.start();
  } catch (err) {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    await anneal.close().catch(() => undefined);
    fatal(err);
  }
}

if (require.main === module) void main();
