/**
 * The way out, on both engines with the real annealer: five nodes ready in `system`, a tenant deployment
 * under it that takes three of them (move), binds a cluster and a client of it (test-members renders the
 * member list to a file), converges, shrinks the cluster by one member, and is deleted — three times,
 * the nth install like the first. Asserted from the database (run records against the edges, records
 * gone, nodes back in system) and from the files the roles wrote. Plus retire, forced re-runs and errors.
 */
import { expect } from 'chai';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AppError } from '../../../core/errors';
import type { RunRecord } from '../../../core/domain/records';
import { startTestAnneal, type TestAnneal } from '../../helpers/anneal';
import { waitFor } from '../../helpers/server';
import { dumpDatabase, engines, requireEngine } from '../../helpers/engines';

const SETTLE = { timeoutMs: 30_000 };
const ACTOR = 'test';

async function rejection(p: Promise<unknown>): Promise<AppError> {
  try {
    await p;
  } catch (err) {
    expect(err).to.be.instanceOf(AppError);
    return err as AppError;
  }
  throw new Error('expected a rejection');
}

for (const engine of engines) {
  describe(`[${engine}] annealer/teardown (unbind, delete, move, retire)`, function () {
    this.timeout(120_000);
    let anneal: TestAnneal;
    let store: TestAnneal['store'];
    let out: string;
    const nodes = ['n1.lab', 'n2.lab', 'n3.lab', 'n4.lab', 'n5.lab'];
    const tenantNodes = nodes.slice(0, 3);

    before(async function () {
      await requireEngine(this, engine);
      out = mkdtempSync(path.join(tmpdir(), 'anneal-teardown-'));
      anneal = await startTestAnneal(engine, { localEnv: { ...process.env, ANNEAL_TEST_OUT: out } });
      store = anneal.store;
      const { inventory, binding, changes } = anneal.services;
      const system = await anneal.store.deployments.get('system');
      for (const name of nodes) {
        const n = await inventory.createNode({ name, alive: true }, ACTOR);
        await binding.bind(system.id, 'test-ready', n.id, ACTOR);
      }
      await changes.commitDeployment('system', ACTOR);
      anneal.annealer.start();
      await anneal.annealer.settle(SETTLE);
    });
    after(async () => {
      await anneal?.dispose();
      if (out) rmSync(out, { recursive: true, force: true });
    });

    /** Creates tenant, moves three nodes in, binds the cluster on each and its client on each, converges. */
    async function install(): Promise<number> {
      const { inventory, lifecycle, binding, changes } = anneal.services;
      const tenant = await inventory.createDeployment({ name: 'tenant' }, ACTOR);
      for (const name of tenantNodes) {
        const moved = await lifecycle.moveNode(name, 'tenant', {}, ACTOR);
        // system is tenant's parent: nothing of system's leaves the node.
        expect(moved).to.deep.include({ from: 'system', to: 'tenant', removing: [], deleted: [] });
      }
      for (const name of tenantNodes)
        await binding.bind(tenant.id, 'test-cluster', (await store.nodes.get(name)).id, ACTOR);
      for (const name of tenantNodes)
        await binding.bind(tenant.id, 'test-members', (await store.nodes.get(name)).id, ACTOR);
      await changes.commitDeployment('tenant', ACTOR);
      await anneal.annealer.settle(SETTLE);
      return tenant.id;
    }

    const membersFile = (node: string) => path.join(out, `${node}.members`);
    const members = (node: string) => readFileSync(membersFile(node), 'utf8').trim().split('\n');

    /** What a teardown is judged on: the node-role set with states, and every file the roles wrote. */
    async function snapshot() {
      const nrs = await store.nodeRoles.list({});
      return {
        nodeRoles: nrs.map((nr) => `${nr.role}@${nr.node}:${nr.state}`).sort(),
        files: Object.fromEntries(
          readdirSync(out)
            .sort()
            .map((f) => [f, readFileSync(path.join(out, f), 'utf8')]),
        ),
        checks: await Promise.all(nodes.map(async (n) => (await anneal.services.checks.forNode(n)).ok)),
      };
    }

    it('the nth install works like the first: install → shrink → delete, three times, the same each time', async () => {
      const rounds = [];
      for (let round = 1; round <= 3; round++) {
        const tenantId = await install();
        const installed = await snapshot();
        for (const n of tenantNodes) expect(members(n)).to.deep.equal(tenantNodes);
        const tenantRoles = await store.nodeRoles.list({ deploymentId: tenantId });
        expect(tenantRoles.map((nr) => nr.state)).to.satisfy((s: string[]) => s.every((x) => x === 'active'));

        // Shrinking the cluster: n3 leaves it; the clients on every node re-render without it.
        const clusterN3 = tenantRoles.find((nr) => nr.role === 'test-cluster' && nr.node === 'n3.lab')!;
        const clients = tenantRoles
          .filter((nr) => nr.role === 'test-members')
          .map((nr) => nr.id)
          .sort();
        const shrunk = await anneal.services.lifecycle.unbind('tenant', 'test-cluster', 'n3.lab', {}, ACTOR);
        expect(shrunk).to.deep.equal({ removing: [clusterN3.id], deleted: [], rerun: clients });
        await anneal.annealer.settle(SETTLE);
        for (const n of tenantNodes) expect(members(n)).to.deep.equal(['n1.lab', 'n2.lab']);
        const removeRun = (await store.runs.list({ nodeRoleId: clusterN3.id })).filter((r) => r.action === 'remove');
        expect(removeRun.map((r) => r.status)).to.deep.equal(['succeeded']);
        await rejection(store.nodeRoles.get(clusterN3.id));

        // Delete: children before parents, nodes back in system, what the roles made is gone.
        const before = await store.nodeRoles.list({ deploymentId: tenantId });
        const edges = await store.nodeRoles.childrenOf(before.map((nr) => nr.id));
        const deleting = await anneal.services.lifecycle.deleteDeployment('tenant', {}, ACTOR);
        expect(deleting.deployment.state).to.equal('deleting');
        expect([...deleting.removing].sort()).to.deep.equal(before.map((nr) => nr.id).sort());
        await anneal.annealer.settle(SETTLE);
        expect((await rejection(store.deployments.get('tenant'))).code).to.equal('ERR_DEPLOYMENT_NOT_FOUND');
        const system = await store.deployments.get('system');
        for (const n of tenantNodes) expect((await store.nodes.get(n)).deploymentId).to.equal(system.id);
        expect(await store.nodes.find('tenant.service.anneal.internal')).to.equal(null);
        for (const n of tenantNodes) expect(existsSync(membersFile(n)), membersFile(n)).to.equal(false);

        const removals = new Map<number, RunRecord>();
        for (const nr of before) {
          const runs = (await store.runs.list({ nodeRoleId: nr.id })).filter((r) => r.action === 'remove');
          expect(
            runs.map((r) => r.status),
            `${nr.role}@${nr.node}`,
          ).to.deep.equal(['succeeded']);
          removals.set(nr.id, runs[0]!);
        }
        for (const e of edges) {
          const child = removals.get(e.childId)!;
          const parent = removals.get(e.parentId)!;
          expect(child.endedAt!, `edge ${e.parentId}→${e.childId}`).to.be.at.most(parent.startedAt);
        }
        const removedEvents = (await store.events.list({ type: 'node-role.removed' })).filter((e) =>
          before.some((nr) => nr.id === e.objectId),
        );
        expect(removedEvents).to.have.length(before.length);
        rounds.push({ installed, after: await snapshot() });
      }
      // The same node-role set, check results and files each time (ids differ; names and states do not).
      expect(rounds[1]).to.deep.equal(rounds[0]);
      expect(rounds[2]).to.deep.equal(rounds[0]);
      // After each delete: exactly the ready state of system, as before the first install.
      expect(rounds[0]!.after.nodeRoles.every((s) => s.endsWith(':active'))).to.equal(true);
      expect(
        rounds[0]!.after.nodeRoles.filter((s) => s.startsWith('test-members') || s.startsWith('test-cluster')),
      ).to.deep.equal([]);
    });

    it('moving a node between sibling deployments removes what the old one bound, then binds the new one’s roles', async () => {
      const { inventory, lifecycle, binding, changes } = anneal.services;
      const a = await inventory.createDeployment({ name: 'move-a' }, ACTOR);
      const b = await inventory.createDeployment({ name: 'move-b' }, ACTOR);
      await lifecycle.moveNode('n4.lab', 'move-a', {}, ACTOR);
      await lifecycle.moveNode('n5.lab', 'move-b', {}, ACTOR);
      // Both deployments have the same roles: a role is bound once per node, so n4's move into move-b
      // waits for its move-a node-roles to be removed.
      await binding.bind(a.id, 'test-workload', (await store.nodes.get('n4.lab')).id, ACTOR);
      await binding.bind(b.id, 'test-workload', (await store.nodes.get('n5.lab')).id, ACTOR);
      await changes.commitDeployment('move-a', ACTOR);
      await changes.commitDeployment('move-b', ACTOR);
      await anneal.annealer.settle(SETTLE);
      const inA = await store.nodeRoles.list({ deploymentId: a.id });
      expect(inA.map((nr) => nr.role).sort()).to.deep.equal(['test-cluster', 'test-workload']);

      const moved = await lifecycle.moveNode('n4.lab', 'move-b', {}, ACTOR);
      expect(moved).to.deep.include({ from: 'move-a', to: 'move-b', bound: [], waiting: true });
      expect([...moved.removing].sort()).to.deep.equal(inA.map((nr) => nr.id).sort());
      await anneal.annealer.settle(SETTLE);
      await waitFor(async () => ((await store.nodeRoles.count({ deploymentId: b.id })) === 4 ? true : undefined), {
        timeoutMs: 10_000,
        describe: () => 'the roles of move-b bound on n4 after its move-a node-roles were removed',
      });
      expect(await store.nodeRoles.list({ deploymentId: a.id })).to.deep.equal([]);
      const n4 = await store.nodes.get('n4.lab');
      expect(n4.deploymentId).to.equal(b.id);
      await anneal.annealer.settle(SETTLE);
      const onN4 = await store.nodeRoles.list({ nodeId: n4.id });
      expect(onN4.map((nr) => `${nr.role}:${nr.state}`).sort()).to.deep.equal([
        'test-cluster:active',
        'test-discover:active',
        'test-hardware:active',
        'test-os:active',
        'test-ready:active',
        'test-workload:active',
      ]);
      // The cluster of move-b now has both nodes as members.
      const cluster = (await store.nodeRoles.list({ deploymentId: b.id })).filter((nr) => nr.role === 'test-cluster');
      expect(cluster.map((nr) => nr.node).sort()).to.deep.equal(['n4.lab', 'n5.lab']);
      const settled = await store.events.list({ type: 'node.move-settled', objectId: n4.id });
      expect(settled).to.have.length(1);

      // Back into system: system is nobody's child, so everything of move-b's leaves; nothing is bound.
      for (const n of ['n4.lab', 'n5.lab']) {
        const back = await lifecycle.moveNode(n, 'system', {}, ACTOR);
        expect(back).to.deep.include({ deleted: [], bound: [] });
        expect(back.removing).to.have.length(2);
      }
      await lifecycle.deleteDeployment('move-a', {}, ACTOR);
      await lifecycle.deleteDeployment('move-b', {}, ACTOR);
      await anneal.annealer.settle(SETTLE);
      expect((await store.deployments.list()).map((d) => d.name)).to.deep.equal(['system']);
      for (const n of ['n4.lab', 'n5.lab'])
        expect(
          (await store.nodeRoles.list({ nodeId: (await store.nodes.get(n)).id })).map((nr) => nr.role).sort(),
        ).to.deep.equal(['test-discover', 'test-hardware', 'test-os', 'test-ready']);
    });

    it('a destructive role that ran re-runs only with force (audited); force on another role is refused', async () => {
      const { changes } = anneal.services;
      const hw = (await store.nodeRoles.list({ nodeId: (await store.nodes.get('n4.lab')).id })).find(
        (nr) => nr.role === 'test-hardware',
      )!;
      const runsBefore = (await store.runs.list({ nodeRoleId: hw.id })).length;
      const refused = await rejection(changes.rerunNodeRole(hw.id, ACTOR));
      expect(refused.code).to.equal('ERR_FORCE_REQUIRED');
      expect(refused.message).to.match(/"force": true/);
      const os = (await store.nodeRoles.list({ nodeId: hw.nodeId })).find((nr) => nr.role === 'test-os')!;
      expect((await rejection(changes.rerunNodeRole(os.id, ACTOR, { force: true }))).code).to.equal(
        'ERR_FORCE_INVALID',
      );
      await changes.rerunNodeRole(hw.id, ACTOR, { force: true });
      await anneal.annealer.settle(SETTLE);
      const runs = await store.runs.list({ nodeRoleId: hw.id });
      expect(runs).to.have.length(runsBefore + 1);
      expect(runs.at(-1)!.stdoutTail).to.not.match(/already ran/);
      const audit = (await store.events.list({ type: 'node-role.rerun', objectId: hw.id })).at(-1)!;
      expect(audit.data).to.deep.include({ force: true });
      expect((await store.nodeRoles.get(hw.id)).state).to.equal('active');
    });

    it('retiring a node frees its allocations, deletes its secrets and record, keeps its events and runs', async () => {
      const { networks, power, lifecycle } = anneal.services;
      await networks.createNetwork({ name: 'retire-net', cidr: '10.77.0.0/24' }, ACTOR);
      await networks.createRange('retire-net', { name: 'r', first: '10.77.0.10', last: '10.77.0.10' }, ACTOR);
      const n5 = await store.nodes.get('n5.lab');
      const allocated = await networks.allocate('retire-net', { node: 'n5.lab', range: 'r' }, ACTOR);
      await power.configureBmc('n5.lab', { address: '127.0.0.1:1', username: 'u', password: 'retire-secret' }, ACTOR);
      expect(await store.nodeSecrets.get(n5.id, 'bmc-password')).to.equal('retire-secret');
      const runsBefore = await store.runs.list({ nodeId: n5.id });

      const retiring = await lifecycle.retireNode('n5.lab', {}, ACTOR);
      expect(retiring.node.state).to.equal('retiring');
      await anneal.annealer.settle(SETTLE);
      expect((await rejection(store.nodes.get('n5.lab'))).code).to.equal('ERR_NODE_NOT_FOUND');
      expect(await store.nodeSecrets.get(n5.id, 'bmc-password')).to.equal(null);
      // The address is free again: the range's only address goes to another node.
      const again = await networks.allocate('retire-net', { node: 'n4.lab', range: 'r' }, ACTOR);
      expect(again.allocation.address).to.equal(allocated.allocation.address);
      const events = await store.events.list({ objectType: 'node', objectId: n5.id });
      expect(events.map((e) => e.type)).to.include.members(['node.create', 'node.retire', 'node.retired']);
      expect((await store.runs.list({ nodeId: n5.id })).length).to.be.at.least(runsBefore.length + 4);
    });

    it('refuses what cannot be done with a coded one-line error and changes nothing', async () => {
      const { lifecycle } = anneal.services;
      const before = dumpDatabase(anneal.db);
      const cases: [() => Promise<unknown>, string, RegExp][] = [
        [
          () => lifecycle.unbind('system', 'test-cluster', 'n1.lab', {}, ACTOR),
          'ERR_NOT_BOUND',
          /not bound on node n1.lab/,
        ],
        [() => lifecycle.moveNode('n1.lab', 'nowhere', {}, ACTOR), 'ERR_DEPLOYMENT_NOT_FOUND', /nowhere/],
        [() => lifecycle.deleteDeployment('system', {}, ACTOR), 'ERR_DEPLOYMENT_PROTECTED', /cannot be deleted/],
        [() => lifecycle.retireNode('system.service.anneal.internal', {}, ACTOR), 'ERR_STATE_INVALID', /service node/],
        [
          () => lifecycle.moveNode('system.service.anneal.internal', 'system', {}, ACTOR),
          'ERR_MOVE_INVALID',
          /service node/,
        ],
      ];
      for (const [p, code, message] of cases) {
        const e = await rejection(p());
        expect(e.code).to.equal(code);
        expect(e.message).to.match(message);
        expect(e.message).to.not.include('\n');
      }
      expect(dumpDatabase(anneal.db)).to.equal(before);
    });
  });
}
