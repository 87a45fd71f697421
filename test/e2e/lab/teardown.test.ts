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
import { expect } from 'chai';
import type { NodeRecord, NodeRoleRecord, RunRecord } from '../../../core/domain/records';
import type { NodeChecks } from '../../../core/services/checks';
import {
  checkResults,
  discoveredLab,
  FIXTURE_NODE_FILES,
  fixtureMarkerProcesses,
  type DiscoveredLab,
  type ListBody,
} from '../../helpers/discovered-lab';
import { requireReadyLab } from '../../helpers/ready-lab';

const NODES = 5;
const TENANT = 'tenant';
const TENANT_SERVICE_NODE = `${TENANT}.service.anneal.internal`;
/** Bound on each tenant node, in this order (their implicit parents come with them). */
const TENANT_ROLES = ['test-cluster', 'test-member', 'test-members', 'test-node-file', 'test-remote'];
describe('e2e: the nth install — a tenant on 3 of 5 discovered lab nodes, created, converged and deleted 3 times', function () {
  this.timeout(300_000);
  const name = `t${randomBytes(2).toString('hex')}`;
  let site: DiscoveredLab;
  const get = <T>(route: string) => site.get<T>(route);
  const call = <T>(method: string, route: string, body: unknown, status: number) =>
    site.call<T>(method, route, body, status);
  const nodeRolesOf = (query = '') => site.nodeRoles(query);

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
      site.lab.nodes.map(async (n) => {
        nodeFiles[n.name] = await site.onNode(n.ip, FIXTURE_NODE_FILES);
        checks[n.name] = known?.[n.name] ?? checkResults(await get<NodeChecks>(`/nodes/${n.name}/checks`));
      }),
    );
    return {
      nodeRoles: (await nodeRolesOf()).map((nr) => `${nr.role}@${nr.node}:${nr.state}`).sort(),
      checks,
      nodeFiles,
      processes: fixtureMarkerProcesses(name),
      adminFiles: site.adminFiles(),
    };
  }

  before(async function () {
    requireReadyLab(this, ['chronyd', 'chronyc', 'dnsmasq', 'tinyproxy', 'setsid', 'pgrep', 'pkill']);
    site = await discoveredLab({ name, nodes: NODES, engine: 'sqlite' });
  });

  after(async () => {
    await site?.close();
  });

  it('the 5 nodes discover themselves into system and reach ready-node with every check passing', async () => {
    const ready = await site.reachReadyNode(120_000);
    console.log(`    discovered and at ready-node in ${ready.ms} ms (converge ${ready.convergeMs} ms)`);
    readyChecks = ready.checks;
  });

  it('create → converge → delete, three times: removes children first, nodes back in system, nothing left, the same each time', async () => {
    const tenantNodes = site.lab.nodes.slice(0, 3);
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
      const convergeMs = await site.converge(TENANT, 120_000);

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
      for (const n of site.lab.nodes.slice(3)) expect(installed.nodeFiles[n.name], n.name).to.equal('');
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

      const deleted = await site.deleteDeployment(TENANT);
      expect([...deleted.removing].sort()).to.deep.equal([...ids].sort());

      // Every tenant node-role ran exactly one remove, which succeeded; children ended before parents began.
      const removals = new Map<number, RunRecord>();
      for (const nr of before) {
        const runs = (await site.anneal.store.runs.list({ nodeRoleId: nr.id })).filter((r) => r.action === 'remove');
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
      expect((await site.api('GET', `/nodes/${TENANT_SERVICE_NODE}`)).status).to.equal(404);

      const after = await snapshot();
      // What the removed roles made is gone: files on the nodes and on the admin host, the processes.
      for (const n of site.lab.nodes) expect(after.nodeFiles[n.name], n.name).to.equal('');
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
