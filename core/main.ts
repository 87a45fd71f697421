/**
 * The server process (`npm start`): config → boot → API on HOST:PORT → annealer (unless
 * ANNEAL_ANNEALER=off). Logs one `anneal listening on http://HOST:PORT (<engine>: <database>)` line.
 *
 * Contract: a configuration or boot failure prints one line `anneal: <message>` to stderr and exits
 * 1. SIGTERM or SIGINT stops accepting requests, lets in-flight requests and node-role runs finish,
 * closes the database and exits 0; a second signal exits 1 at once.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from './api/app';
import { boot, type Anneal } from './boot';
import { loadConfig } from './config';
import type { DatabaseTarget } from './store/engine';

/** How long open keep-alive or slow connections may delay shutdown before they are cut. */
const SHUTDOWN_GRACE_MS = 10_000;

/** Where the data lives, for the startup line: the SQLite path, or the PostgreSQL URL without credentials or options. */
export function describeDatabase(target: DatabaseTarget): string {
  if (target.engine === 'sqlite') return `sqlite: ${target.url}`;
  const u = new URL(target.url);
  return `postgresql: ${u.protocol}//${u.username ? `${u.username}@` : ''}${u.host}${u.pathname}`;
}

function fatal(err: unknown): never {
  process.stderr.write(`anneal: ${err instanceof Error ? err.message : String(err)}\n`);
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

function onShutdown(anneal: Anneal, server: Server): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      process.stderr.write(`anneal: ${signal} again, exiting without a clean shutdown\n`);
      process.exit(1);
    }
    stopping = true;
    anneal.log.info({ signal }, 'anneal shutting down');
    closeServer(server)
      .then(() => anneal.close())
      .then(
        () => process.exit(0),
        (err) => fatal(err),
      );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

async function main(): Promise<void> {
  let anneal: Anneal;
  try {
    anneal = await boot(loadConfig());
  } catch (err) {
    fatal(err);
  }
  const { config } = anneal;
  const server = createServer(createApp(anneal));
  try {
    const address = await listen(server, config.port, config.host);
    onShutdown(anneal, server);
    if (config.annealer) anneal.annealer.start();
    const host = config.host.includes(':') ? `[${config.host}]` : config.host;
    anneal.log.info(`anneal listening on http://${host}:${address.port} (${describeDatabase(config.database)})`);
  } catch (err) {
    await anneal.close().catch(() => undefined);
    fatal(err);
  }
}

if (require.main === module) void main();
