/**
 * What the CLI tests share: bin/anneal as a child process (the real entry point, its exit code, stdout
 * and stderr, optional stdin) and a real server (spawnServer, SQLite) with an API caller that sends the
 * test admin token.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { freshDatabase, type TestDatabase } from '../../helpers/engines';
import { apiCaller, spawnServer, TEST_ADMIN_TOKEN, type ServerChild } from '../../helpers/server';

export const bin = path.resolve(__dirname, '../../../bin/anneal');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `anneal ...args` with `env` on top of this process's environment; `input` is written to stdin. */
export function cli(args: string[], env: Record<string, string>, input?: string): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
    child.stdin.end(input ?? '');
  });
}

export interface CliServer {
  server: ServerChild;
  /** ANNEAL_URL and ANNEAL_TOKEN (the admin token) for `cli()`. */
  env: Record<string, string>;
  /** The API with the admin token: status and parsed body. */
  api(method: string, p: string, body?: unknown): Promise<{ status: number; body: unknown }>;
  close(): Promise<void>;
}

export async function cliServer(name: string, extraEnv: Record<string, string> = {}): Promise<CliServer> {
  const db: TestDatabase = await freshDatabase('sqlite');
  const server = await spawnServer(name, db.target, extraEnv);
  await server.ready();
  const url = `http://127.0.0.1:${server.port}`;
  const call = apiCaller(url);
  return {
    server,
    env: { ANNEAL_URL: url, ANNEAL_TOKEN: TEST_ADMIN_TOKEN },
    async api(method, p, body) {
      const { status, body: answer } = await call(method, p, body);
      return { status, body: answer };
    },
    async close() {
      await server.stop();
      await db.drop();
    },
  };
}

/** What `--json` prints for a value: 2-space JSON and one newline. */
export const asJson = (v: unknown): string => JSON.stringify(v, null, 2) + '\n';
