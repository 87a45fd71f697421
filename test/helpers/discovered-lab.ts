/**
 * A site as the lab e2e tests start from (test/e2e/lab/{teardown,blueprint-sites}.test.ts): `lab up` of N
 * nodes on a subnet of its own and anneal in-process (the `test` fixture loaded, SQLite or PostgreSQL),
 * serving its API on loopback and on the lab's host address, where the nodes announce themselves. The site
 * settings (`anneal/discover`, the admin address…) are set and committed on loopback before anneal listens
 * on the bridge: a node that registers before them is not discovered. {@link DiscoveredLab.reachReadyNode}
 * starts the annealer and waits until every node discovered itself into `system` and reached ready-node
 * with every check passing.
 *
 * `close()` tears down in a fixed order and runs every step even when one fails (it then throws the
 * first error): anneal (annealer, power monitor), the HTTP servers, the service daemons (stopped and
 * waited for, core/services/service-daemons.ts), the lab, the database, the directories.
 *
 * Prerequisites: the lab's and the ready-state barclamps' programs (call requireReadyLab in `before`).
 */
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { createApp } from '../../core/api/app';
import { boot, type Anneal } from '../../core/boot';
import { loadConfig } from '../../core/config';
import type { NodeRecord, NodeRoleRecord } from '../../core/domain/records';
import { LAB_SUBNET, labDown, labNodeCredentials, labUp, subnetHostIp, type LabStatus } from '../../core/lab';
import { createLogger, silentLogger } from '../../core/log';
import type { NodeChecks } from '../../core/services/checks';
import { stopServiceDaemons } from '../../core/services/service-daemons';
import type { Engine } from '../../core/store/engine';
import { freshDatabase, type TestDatabase } from './engines';
import { exec, sshArgs } from './lab-e2e';
import { addTestAdminToken, apiCaller, freePort, TEST_ADMIN_TOKEN, waitFor } from './server';

export interface ListBody<T> {
  items: T[];
}

/** What discovery sets on `system` before the nodes may reach anneal (as test/e2e/lab/ready-state.test.ts). */
function siteAttribs(hostIp: string): Record<string, unknown> {
  return {
    'anneal/discover': true,
    'anneal/admin-address': hostIp,
    'ntp/set-clock': false,
    'provisioner/os': 'debian-12',
    'inventory/expect': { minDisks: 2, minDiskGib: 8, minNics: 2 },
  };
}

/** What the `test` fixture's ssh roles leave on a node: each path with its content (or as a directory). */
export const FIXTURE_NODE_PATHS = ['/var/lib/anneal-test', '/var/lib/anneal-test/*', '/root/anneal-test.marker'];
/** A script for {@link DiscoveredLab.onNode} that prints {@link FIXTURE_NODE_PATHS} (nothing when none exists). */
export const FIXTURE_NODE_FILES = `
for f in ${FIXTURE_NODE_PATHS.join(' ')}; do
  if [ -d "$f" ]; then echo "$f/"
  elif [ -f "$f" ]; then echo "$f:"; sed 's/^/  /' "$f"; echo
  fi
done
`;

/**
 * The marker processes the fixture's test-node-file started on lab `labName`'s nodes (argv, sorted), read
 * from this host's /proc: lab nodes share the host's pid namespace, and the argv names the node.
 */
export function fixtureMarkerProcesses(labName: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    let argv: string;
    try {
      argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
    } catch {
      continue; // gone meanwhile
    }
    if (argv.startsWith('anneal-test-node-file@') && argv.includes(`.${labName}.lab `)) found.push(argv);
  }
  return found.sort();
}

/** A node's check results without their details (which hold measurements): `role/name: ok|FAILED`, sorted. */
export const checkResults = (r: NodeChecks): string[] =>
  r.checks.map((c) => `${c.role}/${c.name}: ${c.ok ? 'ok' : 'FAILED'}`).sort();

export interface DiscoveredLabOptions {
  /** The lab's name: node i is `n<i>.<name>.lab`. */
  name: string;
  nodes: number;
  engine: Engine;
  /** The lab's subnet (default 10.231.0.0/24); anneal listens on its host address. */
  subnet?: string;
  /**
   * `together` (default): every node is powered on by one `lab up` and announces itself as soon as anneal
   * listens, as a rack powered on at once. `one-by-one`: `lab up` adds node i only once node i-1 is
   * registered, as nodes racked one after another: no two discoveries run at the same time, and none
   * while the annealer runs (it starts with {@link DiscoveredLab.reachReadyNode}). PostgreSQL sites need it:
   * concurrent discoveries conflict (409 ERR_CONFLICT) or lose cluster edges (core/services/binding.ts),
   * and a discovery beside the annealer's heartbeat can deadlock, which stops the annealer's loop.
   */
  discovery?: 'together' | 'one-by-one';
}

export interface DiscoveredLab {
  name: string;
  lab: LabStatus;
  anneal: Anneal;
  db: TestDatabase;
  /** The lab's ssh key for root on its nodes. */
  key: string;
  dataDir: string;
  /** ANNEAL_TEST_OUT of the local jig: where test-members and test-script write on the admin host. */
  out: string;
  /** The API on loopback (`http://127.0.0.1:<port>`). */
  url: string;
  /** ANNEAL_URL and ANNEAL_TOKEN (the test admin token) for the CLI. */
  cliEnv: Record<string, string>;
  api: ReturnType<typeof apiCaller>;
  /** An API call that must answer `status`; returns the body. */
  call<T>(method: string, route: string, body: unknown, status: number): Promise<T>;
  get<T>(route: string): Promise<T>;
  /** `GET /node-roles` (up to 1000), `query` appended (`&deployment=tenant`). */
  nodeRoles(query?: string): Promise<NodeRoleRecord[]>;
  /** The node-roles of `query` that are not active, one line each with their error; or "all active". */
  describeNodeRoles(query: string): Promise<string>;
  /**
   * Commits a deployment and waits until its node-roles are all active (`GET /deployments/:ref` counts);
   * fails at once when nothing is left to run and some failed, naming them. Returns the time in ms.
   */
  converge(ref: string, timeoutMs: number): Promise<number>;
  /** `DELETE /deployments/:ref` (202), then waits until it answers ERR_DEPLOYMENT_NOT_FOUND. */
  deleteDeployment(ref: string, timeoutMs?: number): Promise<{ ms: number; removing: number[] }>;
  /** Runs `command` on a node over ssh (without blocking this process's servers); exit 0 or it throws. */
  onNode(ip: string, command: string): Promise<string>;
  /** The files the fixture's local roles wrote in {@link out} on the admin host: name → content. */
  adminFiles(): Record<string, string>;
  /** `GET /nodes/:ref/checks` of every lab node, side by side: node name → {@link checkResults}. */
  checks(): Promise<Record<string, string[]>>;
  /**
   * Starts the annealer (so nothing runs before every lab a test brings up is up), waits until the lab's
   * nodes discovered themselves into `system` with ready-node bound on each, converges `system`, and asserts
   * ready-node active on every node and every check passing. Returns the times and the check results.
   */
  reachReadyNode(timeoutMs?: number): Promise<{ ms: number; convergeMs: number; checks: Record<string, string[]> }>;
  close(): Promise<void>;
}

export async function discoveredLab(opts: DiscoveredLabOptions): Promise<DiscoveredLab> {
  const { name } = opts;
  const subnet = opts.subnet ?? LAB_SUBNET;
  const hostIp = subnetHostIp(subnet);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const bridgeUrl = `http://${hostIp}:${port}`;
  const dataDir = mkdtempSync(path.join(tmpdir(), `anneal-${name}-`));
  chmodSync(dataDir, 0o755);
  const out = mkdtempSync(path.join(tmpdir(), `anneal-${name}-out-`));
  const servers: Server[] = [];
  let anneal: Anneal | undefined;
  let db: TestDatabase | undefined;

  async function close(): Promise<void> {
    const errors: unknown[] = [];
    const step = async (f: () => Promise<unknown>) => {
      try {
        await f();
      } catch (err) {
        errors.push(err);
      }
    };
    await step(async () => anneal?.close());
    for (const s of servers.splice(0)) {
      await step(
        () =>
          new Promise<void>((resolve, reject) => {
            s.close((err) => (err ? reject(err) : resolve()));
            s.closeAllConnections();
          }),
      );
    }
    await step(() => stopServiceDaemons(path.join(dataDir, 'services'), silentLogger, { purge: true }));
    // Also after a lab up that failed half-way: its parts would take the subnet from every later lab test.
    await step(() => labDown({ name }));
    await step(async () => db?.drop());
    await step(async () => rmSync(dataDir, { recursive: true, force: true }));
    await step(async () => rmSync(out, { recursive: true, force: true }));
    if (errors.length) throw errors[0];
  }

  try {
    const oneByOne = opts.discovery === 'one-by-one';
    // What anneal logs at error level (an annealer loop that stopped, a job that could not be scheduled):
    // shown when a wait fails, and a converge fails at once when the annealer stopped.
    const errorLines: string[] = [];
    const errorLog = createLogger({ level: 'error', name, destination: { write: (l: string) => errorLines.push(l) } });
    const errors = () =>
      errorLines.map((l) => {
        const e = JSON.parse(l) as { msg: string; err?: { message?: string } };
        return `${e.msg}${e.err?.message ? `: ${e.err.message}` : ''}`;
      });
    const up = (nodes: number) => labUp({ name, nodes, subnet, annealUrl: bridgeUrl, log: silentLogger });
    let lab = await up(oneByOne ? 1 : opts.nodes);
    const key = (await labNodeCredentials({ name, node: 1 })).ssh.privateKeyPath;
    db = await freshDatabase(opts.engine);
    anneal = await boot(
      {
        ...loadConfig({ ANNEAL_DATA_DIR: dataDir }),
        database: db.target,
        fixtures: ['test'],
        provisionerUrl: bridgeUrl,
        ssh: { keyFile: key, user: 'root' },
        powerPollMs: 1000,
      },
      { log: errorLog, localEnv: { ...process.env, ANNEAL_TEST_OUT: out } },
    );
    await addTestAdminToken(anneal);
    const { annealer } = anneal;
    const api = apiCaller(url);
    const app = createApp(anneal);
    const listen = (host: string) =>
      new Promise<Server>((resolve, reject) => {
        const s = app.listen(port, host, () => resolve(s));
        s.once('error', reject);
        servers.push(s);
      });

    const call = async <T>(method: string, route: string, body: unknown, status: number): Promise<T> => {
      const res = await api(method, route, body);
      expect(res.status, `${name}: ${method} ${route}: ${res.text}`).to.equal(status);
      return res.body as T;
    };
    const get = <T>(route: string) => call<T>('GET', route, undefined, 200);
    const nodeRoles = async (query = '') =>
      (await get<ListBody<NodeRoleRecord>>(`/node-roles?limit=1000${query}`)).items;
    const store = anneal.store;
    const describeNodeRoles = async (query: string) => {
      const lines = await Promise.all(
        (await nodeRoles(query))
          .filter((nr) => nr.state !== 'active')
          .map(async (nr) => {
            const line = `${nr.role}@${nr.node}=${nr.state} ${nr.lastError?.message ?? ''}`;
            if (!nr.state.includes('error')) return line;
            const last = (await store.runs.list({ nodeRoleId: nr.id })).at(-1);
            return `${line}\n  stderr: ${last?.stderrTail.trim().split('\n').join('\n          ') ?? '(no run)'}`;
          }),
      );
      const logged = errors().map((e) => `anneal logged: ${e}`);
      return [...lines, ...logged].join('\n') || 'all active';
    };

    const site: DiscoveredLab = {
      name,
      get lab() {
        return lab;
      },
      anneal,
      db,
      key,
      dataDir,
      out,
      url,
      cliEnv: { ANNEAL_URL: url, ANNEAL_TOKEN: TEST_ADMIN_TOKEN },
      api,
      call,
      get,
      nodeRoles,
      describeNodeRoles,
      async converge(ref, timeoutMs) {
        const t0 = Date.now();
        await call('POST', `/deployments/${ref}/commit`, undefined, 200);
        await waitFor(
          async () => {
            const c = (await get<{ nodeRoles: Record<string, number> }>(`/deployments/${ref}`)).nodeRoles;
            const busy = (c.proposed ?? 0) + (c.blocked ?? 0) + (c.todo ?? 0) + (c.transition ?? 0) + (c.removing ?? 0);
            const failed = (c.error ?? 0) + (c['remove-error'] ?? 0);
            const stopped = errors().find((e) => e.startsWith('annealer loop stopped'));
            if (stopped) throw new Error(`${name}: converge ${ref}: ${stopped}`);
            if (busy === 0 && failed > 0)
              throw new Error(`${name}: ${ref} failed:\n${await describeNodeRoles(`&deployment=${ref}`)}`);
            return busy + failed === 0 && (c.active ?? 0) > 0 ? true : undefined;
          },
          {
            timeoutMs,
            intervalMs: 100,
            describe: async () => `${name}: converge ${ref}:\n${await describeNodeRoles(`&deployment=${ref}`)}`,
          },
        );
        return Date.now() - t0;
      },
      async deleteDeployment(ref, timeoutMs = 60_000) {
        const t0 = Date.now();
        const deleting = await call<{ deployment: { state: string }; removing: number[] }>(
          'DELETE',
          `/deployments/${ref}`,
          undefined,
          202,
        );
        expect(deleting.deployment.state).to.equal('deleting');
        await waitFor(
          async () => {
            const res = await api('GET', `/deployments/${ref}`);
            if (res.status !== 404) return undefined;
            expect((res.body as { error: { code: string } }).error.code).to.equal('ERR_DEPLOYMENT_NOT_FOUND');
            return true;
          },
          {
            timeoutMs,
            intervalMs: 100,
            describe: async () => `${name}: delete ${ref}:\n${await describeNodeRoles(`&deployment=${ref}`)}`,
          },
        );
        return { ms: Date.now() - t0, removing: deleting.removing };
      },
      async onNode(ip, command) {
        const r = await exec('ssh', sshArgs(key, ip, command));
        if (r.code !== 0) throw new Error(`ssh ${ip}: exit ${r.code}: ${r.stderr}`);
        return r.stdout;
      },
      adminFiles: () =>
        Object.fromEntries(
          readdirSync(out)
            .sort()
            .map((f) => [f, readFileSync(path.join(out, f), 'utf8')]),
        ),
      async checks() {
        // The nodes side by side: a node's checks take seconds (each runs on the node, under its lease).
        const all = await Promise.all(lab.nodes.map((n) => get<NodeChecks>(`/nodes/${n.name}/checks`)));
        return Object.fromEntries(all.map((c) => [c.node, checkResults(c)]));
      },
      async reachReadyNode(timeoutMs = 180_000) {
        const t0 = Date.now();
        annealer.start();
        await waitFor(
          async () => {
            const nodes = (await get<ListBody<NodeRecord>>('/nodes?deployment=system&limit=1000')).items;
            const found = nodes.filter((n) => n.name.endsWith(`.${name}.lab`));
            // Discovery binds ready-node on each node it registers.
            const bound = await nodeRoles('&role=ready-node');
            return found.length === opts.nodes && bound.length === opts.nodes ? true : undefined;
          },
          {
            timeoutMs: Math.min(timeoutMs, 60_000),
            intervalMs: 250,
            describe: () => `${name}: discovery of ${opts.nodes} nodes, ready-node bound on each`,
          },
        );
        const convergeMs = await site.converge('system', Math.max(timeoutMs - (Date.now() - t0), 1_000));
        const readyNode = (await nodeRoles('&role=ready-node')).map((nr) => `${nr.node}:${nr.state}`).sort();
        expect(readyNode, name).to.deep.equal(lab.nodes.map((n) => `${n.name}:active`).sort());
        const all = await Promise.all(lab.nodes.map((n) => get<NodeChecks>(`/nodes/${n.name}/checks`)));
        for (const c of all) {
          expect(
            c.checks.filter((x) => !x.ok).map((x) => `${x.role}/${x.name}: ${x.detail}`),
            c.node,
          ).to.deep.equal([]);
          expect(c.passed, c.node).to.be.above(0);
        }
        const checks = Object.fromEntries(all.map((c) => [c.node, checkResults(c)]));
        return { ms: Date.now() - t0, convergeMs, checks };
      },
      close,
    };

    // The site's settings, through the API on loopback, before any node can reach anneal on the lab bridge.
    await listen('127.0.0.1');
    for (const [attrib, value] of Object.entries(siteAttribs(hostIp)))
      await call('PUT', `/deployments/system/attribs/${attrib}`, { value }, 200);
    await call('POST', '/deployments/system/commit', undefined, 200);
    await listen(hostIp);
    anneal.powerMonitor.start();
    if (oneByOne) {
      for (let i = 1; i <= opts.nodes; i++) {
        const node = lab.nodes[i - 1]!.name;
        await waitFor(async () => ((await api('GET', `/nodes/${node}`)).status === 200 ? true : undefined), {
          timeoutMs: 60_000,
          intervalMs: 100,
          describe: () => `${name}: discovery of ${node}`,
        });
        if (i < opts.nodes) lab = await up(i + 1);
      }
    }
    return site;
  } catch (err) {
    await close().catch(() => undefined);
    throw err;
  }
}
