/**
 * An in-process anneal behind its HTTP API on an ephemeral port, driven with Node's global fetch.
 * The clock is fixed at {@link NOW} so whole response bodies (timestamps included) can be asserted.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from '../../core/api/app';
import type { Engine } from '../../core/store/engine';
import { startTestAnneal, type TestAnneal } from './anneal';
import { engines, requireEngine } from './engines';
import { addTestAdminToken, TEST_ADMIN_TOKEN } from './server';

/** The fixed clock of every API test, in ms since the epoch. */
export const NOW = 1_700_000_000_000;

/**
 * The admin token every test API has (created in the store directly, so it adds no audit event); every
 * call sends it unless the test passes its own `authorization` header ('' sends none).
 */
export const TEST_API_TOKEN = TEST_ADMIN_TOKEN;

const SAMPLE_PARAMS: Record<string, string> = {
  ref: 'n1.lab',
  id: '1',
  name: 'r1',
  address: '10.0.0.1',
  attrib: 'test/marker',
};

/** A route path (`/nodes/:ref`, `/nodes/{ref}`, `/attribs/*name`) with sample values for its parameters. */
export function samplePath(path: string): string {
  return path.replace(
    /[:*]([A-Za-z_]+)|\{([A-Za-z_]+)\}/g,
    (_m, a?: string, b?: string) => SAMPLE_PARAMS[(a ?? b)!] ?? '1',
  );
}

export interface ApiResponse {
  status: number;
  body: unknown;
  headers: Headers;
}

export interface TestApi {
  anneal: TestAnneal;
  /** `http://127.0.0.1:<port>/api/v2` */
  base: string;
  /** Sends `body` as JSON (or as-is when it is a string, with Content-Type application/json). */
  call(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<ApiResponse>;
  get(path: string): Promise<ApiResponse>;
  post(path: string, body?: unknown): Promise<ApiResponse>;
  close(): Promise<void>;
}

/** `localEnv` is the environment of `local` jig scripts (default: this process's). */
export async function startTestApi(
  engine: Engine,
  opts: { localEnv?: Record<string, string | undefined> } = {},
): Promise<TestApi> {
  const anneal = await startTestAnneal(engine, { now: () => NOW, localEnv: opts.localEnv });
  await addTestAdminToken(anneal, NOW);
  const server: Server = await new Promise((resolve) => {
    const s = createApp(anneal).listen(0, '127.0.0.1', () => resolve(s));
  });
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v2`;

  async function call(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<ApiResponse> {
    const auth = headers.authorization ?? `Bearer ${TEST_API_TOKEN}`;
    const sent: Record<string, string> = { ...headers, ...(auth ? { authorization: auth } : {}) };
    if (!auth) delete sent.authorization;
    const init: RequestInit = { method, headers: sent };
    if (body !== undefined) {
      init.body = typeof body === 'string' ? body : JSON.stringify(body);
      init.headers = { 'content-type': 'application/json', ...sent };
    }
    const res = await fetch(base + path, init);
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
  }

  return {
    anneal,
    base,
    call,
    get: (path) => call('GET', path),
    post: (path, body) => call('POST', path, body ?? {}),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await anneal.dispose();
    },
  };
}

/**
 * One suite per engine, each test on a fresh anneal + API; `api()` returns the current test's API.
 * Skips (or fails in CI) an engine that is not available, as requireEngine does.
 */
export function describeApi(title: string, body: (api: () => TestApi, engine: Engine) => void): void {
  for (const engine of engines) {
    describe(`[${engine}] ${title}`, function () {
      let current: TestApi | undefined;
      before(async function () {
        await requireEngine(this, engine);
      });
      beforeEach(async () => {
        current = await startTestApi(engine);
      });
      afterEach(async () => {
        await current?.close();
        current = undefined;
      });
      body(() => {
        if (!current) throw new Error('api() is only available inside a test');
        return current;
      }, engine);
    });
  }
}
