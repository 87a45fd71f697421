/**
 * The real server (`tsx core/main.ts`) as a child process, for crash and multi-worker tests.
 *
 * tsx runs the program in a grandchild process, so a SIGKILL to the tsx process alone would orphan
 * the server: children are spawned in their own process group and `crash()` kills the whole group.
 * `stop()` sends SIGTERM to tsx, which relays it once (a second SIGTERM would make anneal exit
 * without a clean shutdown).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import { boot, type Anneal } from '../../core/boot';
import { loadConfig } from '../../core/config';
import { silentLogger } from '../../core/log';
import { hashToken } from '../../core/services/tokens';
import type { DatabaseTarget } from '../../core/store/engine';
import { createStore, type Store } from '../../core/store';
import { openDatabase } from '../../core/store/db';

const repoRoot = path.resolve(__dirname, '../..');

export interface ServerChild {
  readonly name: string;
  readonly port: number;
  readonly child: ChildProcess;
  /** Resolves when the tsx process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** True once the tsx process has exited. */
  hasExited(): boolean;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** SIGKILL to the whole process group (tsx and the server): a crash, no cleanup at all. */
  crash(): Promise<void>;
  /** SIGTERM (a clean shutdown), then SIGKILL to the group if it is still alive after `graceMs`. */
  stop(graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves once the HTTP port answers (the annealer starts right after `listen`). */
  ready(timeoutMs?: number): Promise<void>;
}

/**
 * The admin token every spawned test server starts with (ANNEAL_ADMIN_TOKEN on first start): pass it as
 * `Authorization: Bearer …` to the server's API, or as ANNEAL_TOKEN to the CLI.
 */
export const TEST_ADMIN_TOKEN = 'anneal-test-admin-token-0123456789abcdefghij';

/** Adds TEST_ADMIN_TOKEN to an in-process anneal's store (no audit event), for tests that serve createApp(anneal). */
export async function addTestAdminToken(anneal: Anneal, now = Date.now()): Promise<string> {
  await anneal.store.apiTokens.create(
    { name: 'test-admin', role: 'admin', hash: hashToken(TEST_ADMIN_TOKEN), createdBy: 'test' },
    now,
  );
  return TEST_ADMIN_TOKEN;
}

/** The Authorization header for TEST_ADMIN_TOKEN. */
export const testAuth = { authorization: `Bearer ${TEST_ADMIN_TOKEN}` };

/** Calls a server's API (`<url>/api/v2<route>`) with a token (default TEST_ADMIN_TOKEN); JSON in and out. */
export function apiCaller(url: string, token = TEST_ADMIN_TOKEN) {
  return async (
    method: string,
    route: string,
    body?: unknown,
  ): Promise<{ status: number; body: unknown; text: string }> => {
    const res = await fetch(`${url}/api/v2${route}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as unknown) : undefined, text };
  };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** DATABASE_URL for a test database: a bare path for SQLite, the URL for PostgreSQL. */
export function databaseUrl(target: DatabaseTarget): string {
  return target.url;
}

export async function spawnServer(
  name: string,
  target: DatabaseTarget,
  env: Record<string, string> = {},
): Promise<ServerChild> {
  const port = env.PORT ? Number(env.PORT) : await freePort();
  const child = spawn(path.join(repoRoot, 'node_modules/.bin/tsx'), ['core/main.ts'], {
    cwd: repoRoot,
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl(target),
      ANNEAL_FIXTURES: 'test',
      ANNEAL_LOG_LEVEL: 'warn',
      HOST: '127.0.0.1',
      PORT: String(port),
      ANNEAL_ADMIN_TOKEN: TEST_ADMIN_TOKEN,
      ...env,
    },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let done = false;
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      done = true;
      resolve({ code, signal });
    });
  });
  const killGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      /* already gone */
    }
  };
  return {
    name,
    port,
    child,
    exited,
    hasExited: () => done,
    output: () => out,
    async crash() {
      if (!done) killGroup('SIGKILL');
      await exited;
      // The server itself is in the same group; make sure nothing of the group outlived tsx.
      killGroup('SIGKILL');
    },
    async stop(graceMs = 15_000) {
      if (!done) child.kill('SIGTERM');
      const timer = setTimeout(() => killGroup('SIGKILL'), graceMs);
      const result = await exited;
      clearTimeout(timer);
      killGroup('SIGKILL');
      return result;
    },
    async ready(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        if (done) throw new Error(`${name} exited before listening:\n${out}`);
        try {
          await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(1_000) });
          return;
        } catch {
          if (Date.now() > deadline)
            throw new Error(`${name} did not listen on ${port} within ${timeoutMs} ms:\n${out}`);
          await sleep(50);
        }
      }
    },
  };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `probe` until it returns a value (not undefined); fails with `describe()` after `timeoutMs`. */
export async function waitFor<T>(
  probe: () => Promise<T | undefined>,
  opts: { timeoutMs: number; intervalMs?: number; describe: () => string | Promise<string> },
): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${opts.timeoutMs} ms: ${await opts.describe()}`);
    await sleep(opts.intervalMs ?? 50);
  }
}

/**
 * Boots anneal in-process (annealer not started) on `target` with the `test` fixture, for preparing
 * or committing deployments that child servers then anneal.
 */
export async function bootInProcess(target: DatabaseTarget): Promise<Anneal> {
  return boot({ ...loadConfig({}), database: target, fixtures: ['test'] }, { log: silentLogger });
}

/**
 * A store for watching the database while servers run. Without migrations: the schema engine takes
 * an exclusive lock on SQLite, which fails while another process has the file open.
 */
export async function watchStore(target: DatabaseTarget): Promise<Store> {
  return createStore(await openDatabase(target, { migrate: false }));
}

export interface RunInterval {
  nodeRoleId: number;
  startedAt: number;
  endedAt: number | null;
  status: string;
  worker: string;
}

/**
 * Pairs of runs in the same group (by `key`) whose time intervals overlap: sorted by start, each run
 * must end no later than the next one starts. An unfinished run overlaps everything after it.
 */
export function overlaps<R extends RunInterval>(runs: R[], key: (r: R) => number | string): [R, R][] {
  const groups = new Map<number | string, R[]>();
  for (const r of runs) groups.set(key(r), [...(groups.get(key(r)) ?? []), r]);
  const bad: [R, R][] = [];
  for (const group of groups.values()) {
    group.sort((a, b) => a.startedAt - b.startedAt || (a.endedAt ?? Infinity) - (b.endedAt ?? Infinity));
    for (let i = 0; i + 1 < group.length; i++) {
      const a = group[i]!;
      const b = group[i + 1]!;
      if (a.endedAt === null || a.endedAt > b.startedAt) bad.push([a, b]);
    }
  }
  return bad;
}
