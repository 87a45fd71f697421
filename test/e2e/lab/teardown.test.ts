/**
 * The nth install, end to end on lab nodes (DESIGN §7b; the in-memory version of this scenario is
 * test/integration/annealer/teardown.test.ts): `lab up` of 5 nodes that discover themselves into `system`
 * and reach ready-node. Then, through the REST API as an operator would, three times: create a deployment
 * `tenant` under `system`, move 3 of the nodes into it, bind the `test` fixture's cluster role
 * (`test-cluster`), its service role (`test-registry`) and their clients — `test-member`, `test-members`
 * (jig local: the member list in $ANNEAL_TEST_OUT on the admin host), `test-node-file` (jig ssh: the member
 * list in /var/lib/anneal-test on the node and a marker process) and `test-remote` (jig ssh: a marker file
 * in /root) — commit and converge, then `DELETE /deployments/tenant` and wait until it is gone.
 *
 * Asserted each round: every tenant node-role ran exactly one remove, and it succeeded; for every edge
 * between tenant node-roles read before the delete (`GET /node-roles/:id/parents`), the child's remove
 * ended before the parent's started; the 3 nodes are back in `system` with their ready-state node-roles all
 * active; what the removed roles made (files on the nodes and on the admin host, the marker processes) is
 * gone. Across the rounds: the same node-role set (role@node:state), the same check results and the same
 * files and processes, installed and after the delete; after each delete, exactly what was there before the
 * first install.
 *
 * Lab nodes share the host's pid namespace, so the marker processes are looked for in this host's /proc.
 * Run records of removed node-roles are read from the store: the node-roles (and the tenant's service node)
 * are gone, so the API's per-node-role run routes answer 404 for them.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { createApp } from '../../../core/api/app';
import { boot, type Anneal } from '../../../core/boot';
import { loadConfig } from '../../../core/config';
import type { NodeRecord, NodeRoleRecord, RunRecord } from '../../../core/domain/records';
import { labDown, labNodeCredentials, labUp, type LabStatus } from '../../../core/lab';
import { silentLogger } from '../../../core/log';
import type { NodeChecks } from '../../../core/services/checks';
import { stopServiceDaemons } from '../../../core/services/service-daemons';
import { freshDatabase, type TestDatabase } from '../../helpers/engines';
import { exec, sshArgs } from '../../helpers/lab-e2e';
import { requireReadyLab } from '../../helpers/ready-lab';
import { addTestAdminToken, apiCaller, freePort, waitFor } from '../../helpers/server';

const NODES = 5;
const TENANT = 'tenant';
const TENANT_SERVICE_NODE = `${TENANT}.service.anneal.internal`;
/** Bound on each tenant node, in this order (their implicit parents come with them). */
const TENANT_ROLES = ['test-cluster', 'test-member', 'test-members', 'test-node-file', 'test-remote'];
/** What the tenant's roles leave on a node: shown with its content (or as a directory). */
const NODE_PATHS = ['/var/lib/anneal-test', '/var/lib/anneal-test/*', '/root/anneal-test.marker'];
const NODE_FILES = `
for f in ${NODE_PATHS.join(' ')}; do
  if [ -d "$f" ]; then echo "$f/"
  elif [ -f "$f" ]; then echo "$f:"; sed 's/^/  /' "$f"; echo
  fi
done
`;

interface ListBody<T> {
  items: T[];
}

describe('e2e: the nth install — a tenant on 3 of 5 discovered lab nodes, created, converged and deleted 3 times', function () {
  this.timeout(300_000);
  const name = `t${randomBytes(2).toString('hex')}`;
  let lab: LabStatus;
  let anneal: Anneal;
  let db: TestDatabase;
  let key = '';
  let dataDir = '';
  /** ANNEAL_TEST_OUT of the local jig: where test-members writes on the admin host. */
  let out = '';
  let api: ReturnType<typeof apiCaller>;
  const servers: Server[] = [];

  /** An API call that must answer `status`; returns the body. */
  async function call<T>(method: string, route: string, body: unknown, status: number): Promise<T> {
    const res = await api(method, route, body);
    expect(res.status, `${method} ${route}: ${res.text}`).to.equal(status);
    return res.body as T;
  }
  const get = <T>(route: string) => call<T>('GET', route, undefined, 200);
  const nodeRolesOf = async (query = ''): Promise<NodeRoleRecord[]> =>
    (await get<ListBody<NodeRoleRecord>>(`/node-roles?limit=1000${query}`)).items;
  const describeNodeRoles = async (query: string) =>
    (await nodeRolesOf(query))
      .filter((nr) => nr.state !== 'active')
      .map((nr) => `${nr.role}@${nr.node}=${nr.state} ${nr.lastError?.message ?? ''}`)
      .join('\n') || 'all active';

  /**
   * Commits a deployment and waits until its node-roles are all active (`GET /deployments/:ref` counts);
   * fails at once when nothing is left to run and some failed, naming them.
   */
  async function converge(ref: string, timeoutMs: number): Promise<number> {
    const t0 = Date.now();
    await call('POST', `/deployments/${ref}/commit`, undefined, 200);
    await waitFor(
      async () => {
        const c = (await get<{ nodeRoles: Record<string, number> }>(`/deployments/${ref}`)).nodeRoles;
        const busy = (c.proposed ?? 0) + (c.blocked ?? 0) + (c.todo ?? 0) + (c.transition ?? 0) + (c.removing ?? 0);
        const failed = (c.error ?? 0) + (c['remove-error'] ?? 0);
        if (busy === 0 && failed > 0)
          throw new Error(`${ref} failed:\n${await describeNodeRoles(`&deployment=${ref}`)}`);
        return busy + failed === 0 && (c.active ?? 0) > 0 ? true : undefined;
      },
      {
        timeoutMs,
        intervalMs: 100,
        describe: async () => `converge ${ref}:\n${await describeNodeRoles(`&deployment=${ref}`)}`,
      },
    );
    return Date.now() - t0;
  }

  /** `DELETE /deployments/:ref` (202), then waits until it answers ERR_DEPLOYMENT_NOT_FOUND. */
  async function deleteDeployment(ref: string): Promise<{ ms: number; removing: number[] }> {
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
        if (res.status === 404) {
          expect((res.body as { error: { code: string } }).error.code).to.equal('ERR_DEPLOYMENT_NOT_FOUND');
          return true;
        }
        return undefined;
      },
      {
        timeoutMs: 60_000,
        intervalMs: 100,
        describe: async () => `delete ${ref}:\n${await describeNodeRoles(`&deployment=${ref}`)}`,
      },
    );
    return { ms: Date.now() - t0, removing: deleting.removing };
  }

  async function onNode(ip: string, command: string): Promise<string> {
    const r = await exec('ssh', sshArgs(key, ip, command));
    if (r.code !== 0) throw new Error(`ssh ${ip}: exit ${r.code}: ${r.stderr}`);
    return r.stdout;
  }

  /** The marker processes test-node-file started on this lab's nodes (argv, from this host's /proc). */
  function markerProcesses(): string[] {
    const found: string[] = [];
    for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
      let argv: string;
      try {
        argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
      } catch {
        continue; // gone meanwhile
      }
      if (argv.startsWith('anneal-test-node-file@') && argv.includes(`.${name}.lab `)) found.push(argv);
    }
    return found.sort();
  }

  /** A node's check results, without their details (which hold measurements). */
  const checkResults = (r: NodeChecks) => r.checks.map((c) => `${c.role}/${c.name}: ${c.ok ? 'ok' : 'FAILED'}`).sort();
  /** The check results of the nodes at ready-node, before the first install (the first test reads them). */
  let readyChecks: Record<string, string[]> | undefined;

  /**
   * What a round is judged on; the same in every round (ids, pids and details aside). `known`: check
   * results read already in this state (a node's checks take seconds).
   */
  async function snapshot(known?: Record<string, string[]>) {
    const nodeFiles: Record<string, string> = {};
    const checks: Record<string, string[]> = {};
    // The nodes side by side: a node's checks take seconds (each runs on the node, under its lease).
    await Promise.all(
      lab.nodes.map(async (n) => {
        nodeFiles[n.name] = await onNode(n.ip, NODE_FILES);
        checks[n.name] = known?.[n.name] ?? checkResults(await get<NodeChecks>(`/nodes/${n.name}/checks`));
      }),
    );
    return {
      nodeRoles: (await nodeRolesOf()).map((nr) => `${nr.role}@${nr.node}:${nr.state}`).sort(),
      checks,
      nodeFiles,
      processes: markerProcesses(),
      adminFiles: Object.fromEntries(
        readdirSync(out)
          .sort()
          .map((f) => [f, readFileSync(path.join(out, f), 'utf8')]),
      ),
    };
  }

  before(async function () {
    requireReadyLab(this, ['chronyd', 'chronyc', 'dnsmasq', 'tinyproxy', 'setsid', 'pgrep', 'pkill']);
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const bridgeUrl = `http://10.231.0.1:${port}`;
    dataDir = mkdtempSync(path.join(tmpdir(), `anneal-${name}-`));
    chmodSync(dataDir, 0o755);
    out = mkdtempSync(path.join(tmpdir(), `anneal-${name}-out-`));
    lab = await labUp({ name, nodes: NODES, annealUrl: bridgeUrl, log: silentLogger });
    key = (await labNodeCredentials({ name, node: 1 })).ssh.privateKeyPath;
    db = await freshDatabase('sqlite');
    anneal = await boot(
      {
        ...loadConfig({ ANNEAL_DATA_DIR: dataDir }),
        database: db.target,
        fixtures: ['test'],
        provisionerUrl: bridgeUrl,
        ssh: { keyFile: key, user: 'root' },
        powerPollMs: 1000,
      },
      { log: silentLogger, localEnv: { ...process.env, ANNEAL_TEST_OUT: out } },
    );
    await addTestAdminToken(anneal);
    api = apiCaller(url);
    const app = createApp(anneal);
    const listen = (host: string) =>
      new Promise<Server>((resolve) => {
        const s = app.listen(port, host, () => resolve(s));
      });
    // The site's settings, through the API on loopback, before any node can reach anneal on the lab bridge
    // (as in test/e2e/lab/ready-state.test.ts): a node that registers before them is not discovered.
    servers.push(await listen('127.0.0.1'));
    const site: Record<string, unknown> = {
      'anneal/discover': true,
      'anneal/admin-address': lab.hostIp,
      'ntp/set-clock': false,
      'provisioner/os': 'debian-12',
      'inventory/expect': { minDisks: 2, minDiskGib: 8, minNics: 2 },
    };
    for (const [attrib, value] of Object.entries(site))
      await call('PUT', `/deployments/system/attribs/${attrib}`, { value }, 200);
    await call('POST', '/deployments/system/commit', undefined, 200);
    servers.push(await listen('10.231.0.1'));
    anneal.annealer.start();
    anneal.powerMonitor.start();
  });

  after(async () => {
    await anneal?.close();
    for (const s of servers) s.close();
    await db?.drop();
    await labDown({ name }).catch(() => undefined); // also after a lab up that failed half-way
    if (dataDir) await stopServiceDaemons(path.join(dataDir, 'services'), silentLogger, { purge: true });
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    if (out) rmSync(out, { recursive: true, force: true });
  });

  it('the 5 nodes discover themselves into system and reach ready-node with every check passing', async () => {
    const t0 = Date.now();
    await waitFor(
      async () => {
        const nodes = (await get<ListBody<NodeRecord>>('/nodes?deployment=system&limit=1000')).items;
        const found = nodes.filter((n) => n.name.endsWith(`.${name}.lab`));
        // Discovery binds ready-node on each node it registers.
        const bound = await nodeRolesOf('&role=ready-node');
        return found.length === NODES && bound.length === NODES ? found : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 250, describe: () => 'discovery of 5 nodes, ready-node bound on each' },
    );
    const ms = await converge('system', 120_000);
    console.log(`    discovered and at ready-node in ${Date.now() - t0} ms (converge ${ms} ms)`);
    const readyNode = (await nodeRolesOf('&role=ready-node')).map((nr) => `${nr.node}:${nr.state}`).sort();
    expect(readyNode).to.deep.equal(lab.nodes.map((n) => `${n.name}:active`).sort());
    const checks = await Promise.all(lab.nodes.map((n) => get<NodeChecks>(`/nodes/${n.name}/checks`)));
    for (const c of checks) {
      expect(
        c.checks.filter((x) => !x.ok).map((x) => `${x.role}/${x.name}: ${x.detail}`),
        c.node,
      ).to.deep.equal([]);
      expect(c.passed, c.node).to.be.above(0);
    }
    readyChecks = Object.fromEntries(checks.map((c) => [c.node, checkResults(c)]));
  });

  it('create → converge → delete, three times: removes children first, nodes back in system, nothing left, the same each time', async () => {
    const tenantNodes = lab.nodes.slice(0, 3);
    const names = tenantNodes.map((n) => n.name);
    const system = await get<{ id: number }>('/deployments/system');
    const readyState = async (node: string) =>
      (await get<ListBody<NodeRoleRecord>>(`/nodes/${node}/node-roles?limit=1000`)).items
        .map((nr) => `${nr.role}@${nr.deployment}:${nr.state}`)
        .sort();
    const initialReadyState = new Map<string, string[]>();
    for (const n of names) initialReadyState.set(n, await readyState(n));
    for (const [n, roles] of initialReadyState) {
      expect(roles, n).to.include('ready-node@system:active');
      expect(
        roles.every((r) => r.endsWith('@system:active')),
        n,
      ).to.equal(true);
    }
    const baseline = await snapshot(readyChecks);
    expect(baseline.processes).to.deep.equal([]);
    expect(baseline.adminFiles).to.deep.equal({});

    const rounds = [];
    for (let round = 1; round <= 3; round++) {
      // Create, move three nodes in, bind, converge.
      const t0 = Date.now();
      const tenant = await call<{ id: number; name: string; parentId: number }>(
        'POST',
        '/deployments',
        { name: TENANT, parent: 'system' },
        201,
      );
      expect(tenant.parentId).to.equal(system.id);
      for (const n of names) {
        const moved = await call<Record<string, unknown>>('POST', `/nodes/${n}/move`, { deployment: TENANT }, 202);
        // system is tenant's parent: nothing of system's leaves the node.
        expect(moved).to.deep.include({ from: 'system', to: TENANT, removing: [], deleted: [], waiting: false });
      }
      await call('POST', `/deployments/${TENANT}/bind`, { role: 'test-registry', node: TENANT_SERVICE_NODE }, 201);
      for (const role of TENANT_ROLES)
        for (const n of names) await call('POST', `/deployments/${TENANT}/bind`, { role, node: n }, 201);
      const convergeMs = await converge(TENANT, 120_000);

      const installed = await snapshot();
      for (const n of tenantNodes) {
        const files = installed.nodeFiles[n.name]!;
        expect(files, n.name).to.include('/var/lib/anneal-test/test-node-file.txt:');
        const members = /\/var\/lib\/anneal-test\/test-node-file\.txt:\n((?: {2}.*\n)*)/.exec(files)![1]!;
        expect(members.trim().split(/\n\s*/).sort(), n.name).to.deep.equal([...names].sort());
        expect(files, n.name).to.include('/root/anneal-test.marker:\n  initial');
        expect(installed.adminFiles[`${n.name}.members`]?.trim().split('\n').sort(), n.name).to.deep.equal(
          [...names].sort(),
        );
      }
      for (const n of lab.nodes.slice(3)) expect(installed.nodeFiles[n.name], n.name).to.equal('');
      expect(installed.processes).to.deep.equal(names.map((n) => `anneal-test-node-file@${n} infinity`).sort());
      for (const [n, checks] of Object.entries(installed.checks))
        expect(
          checks.filter((c) => !c.endsWith(': ok')),
          n,
        ).to.deep.equal([]);

      // What the delete is judged against: the tenant's node-roles and the edges between them.
      const before = await nodeRolesOf(`&deployment=${TENANT}`);
      expect(before.every((nr) => nr.state === 'active')).to.equal(true);
      const ids = new Set(before.map((nr) => nr.id));
      const edges: { parentId: number; childId: number; soft: boolean }[] = [];
      for (const nr of before) {
        const parents = (
          await get<ListBody<NodeRoleRecord & { soft: boolean }>>(`/node-roles/${nr.id}/parents?limit=1000`)
        ).items;
        for (const p of parents) if (ids.has(p.id)) edges.push({ parentId: p.id, childId: nr.id, soft: p.soft });
      }
      const byId = new Map(before.map((nr) => [nr.id, nr]));
      const label = (id: number) => `${byId.get(id)!.role}@${byId.get(id)!.node}`;
      // The cluster's clients wait for every member: test-node-file on each node has all three as parents.
      for (const n of names) {
        const child = before.find((nr) => nr.role === 'test-node-file' && nr.node === n)!;
        const parents = edges.filter((e) => e.childId === child.id).map((e) => label(e.parentId));
        expect(parents.sort(), n).to.deep.equal(names.map((m) => `test-cluster@${m}`).sort());
      }

      const deleted = await deleteDeployment(TENANT);
      expect([...deleted.removing].sort()).to.deep.equal([...ids].sort());

      // Every tenant node-role ran exactly one remove, which succeeded; children ended before parents began.
      const removals = new Map<number, RunRecord>();
      for (const nr of before) {
        const runs = (await anneal.store.runs.list({ nodeRoleId: nr.id })).filter((r) => r.action === 'remove');
        expect(
          runs.map((r) => r.status),
          `${nr.role}@${nr.node}: ${runs.map((r) => r.stderrTail).join(' ')}`,
        ).to.deep.equal(['succeeded']);
        removals.set(nr.id, runs[0]!);
      }
      for (const e of edges) {
        const child = removals.get(e.childId)!;
        const parent = removals.get(e.parentId)!;
        expect(child.endedAt!, `${label(e.childId)} removed before ${label(e.parentId)}`).to.be.at.most(
          parent.startedAt,
        );
      }
      // The ssh removes ran on the nodes and undid something there.
      for (const nr of before.filter((x) => x.role === 'test-node-file')) {
        expect(removals.get(nr.id)!.stdoutTail, nr.node).to.match(
          new RegExp(`^stopped: anneal-test-node-file@${nr.node.replace(/\./g, '\\.')} \\d+\\nremoved: `),
        );
      }
      for (const nr of before.filter((x) => x.role === 'test-remote'))
        expect(removals.get(nr.id)!.stdoutTail, nr.node).to.match(/^removed: \/root\/anneal-test\.marker on /);

      // The nodes are back in system with their ready state as it was; the tenant's service node is gone.
      for (const n of names) {
        expect((await get<NodeRecord>(`/nodes/${n}`)).deploymentId, n).to.equal(system.id);
        expect(await readyState(n), n).to.deep.equal(initialReadyState.get(n));
      }
      expect((await api('GET', `/nodes/${TENANT_SERVICE_NODE}`)).status).to.equal(404);

      const after = await snapshot();
      // What the removed roles made is gone: files on the nodes and on the admin host, the processes.
      for (const n of lab.nodes) expect(after.nodeFiles[n.name], n.name).to.equal('');
      expect(after.processes).to.deep.equal([]);
      expect(after.adminFiles).to.deep.equal({});
      expect(after).to.deep.equal(baseline);
      console.log(
        `    round ${round}: ${before.length} tenant node-roles, ${edges.length} edges; converge ${convergeMs} ms, ` +
          `delete ${deleted.ms} ms, round ${Date.now() - t0} ms`,
      );
      rounds.push({ installed, after });
    }
    // The nth install is the first: the same node-roles, check results, files and processes each time.
    expect(rounds[1]).to.deep.equal(rounds[0]);
    expect(rounds[2]).to.deep.equal(rounds[0]);
  });
});
