import { expect } from 'chai';
import type { NodeRoleRecord } from '../../../core/domain/records';
import { startTestAnneal, type TestAnneal } from '../../helpers/anneal';
import { engines, requireEngine } from '../../helpers/engines';
import {
  bindClusterDeployment,
  descendantsOf,
  grew,
  runCounts,
  sortedIds,
  type ClusterDeployment,
} from '../../helpers/graph';

const SETTLE = { timeoutMs: 30_000 };

for (const engine of engines) {
  describe(`[${engine}] annealer/attrib-change`, function () {
    this.timeout(60_000);
    let anneal: TestAnneal;
    let dep: ClusterDeployment;
    let nodeRoles: NodeRoleRecord[];

    const ids = (role: string, nodeId?: number) =>
      nodeRoles.filter((nr) => nr.role === role && (nodeId === undefined || nr.nodeId === nodeId)).map((nr) => nr.id);
    const label = (id: number) => {
      const nr = nodeRoles.find((n) => n.id === id)!;
      return `${nr.role}@${nr.node}`;
    };

    /** Commits the deployment, settles, and returns the node-roles that got new runs (asserting one each). */
    async function commitAndSettle(): Promise<number[]> {
      const before = await runCounts(anneal.store);
      await anneal.services.changes.commitDeployment(dep.deploymentId, 'test');
      await anneal.annealer.settle(SETTLE);
      const after = await runCounts(anneal.store);
      const changed = grew(before, after);
      for (const id of changed) expect(after.get(id)! - (before.get(id) ?? 0), `new runs of ${label(id)}`).to.equal(1);
      const states = await anneal.store.nodeRoles.countByState({ deploymentId: dep.deploymentId });
      expect(states).to.deep.equal({ active: nodeRoles.length });
      return changed;
    }

    /** The committed test/marker the latest run of each node-role saw. */
    async function lastMarkers(nodeRoleIds: number[]): Promise<Map<number, unknown>> {
      const out = new Map<number, unknown>();
      for (const id of nodeRoleIds) {
        const runs = await anneal.store.runs.list({ nodeRoleId: id });
        out.set(id, (runs.at(-1)!.inputs as { attribs: Record<string, unknown> }).attribs['test/marker']);
      }
      return out;
    }

    before(async function () {
      await requireEngine(this, engine);
      anneal = await startTestAnneal(engine);
      dep = await bindClusterDeployment(anneal, 'd1', 4);
      await anneal.services.changes.commitDeployment(dep.deploymentId, 'test');
      anneal.annealer.start();
      await anneal.annealer.settle(SETTLE);
      nodeRoles = await anneal.store.nodeRoles.list({ deploymentId: dep.deploymentId });
      expect(nodeRoles.every((nr) => nr.state === 'active')).to.equal(true);
      expect(nodeRoles).to.have.length(4 * 6 + 1);
    });
    after(async () => {
      await anneal?.dispose();
    });

    it('a deployment-scoped change re-runs exactly the roles that want it and their descendants', async () => {
      const seeds = ids('test-ready');
      const expected = sortedIds([...seeds, ...(await descendantsOf(anneal.store, seeds))]);
      // What the graph says, spelled out as a guard on the computation above.
      expect(expected).to.deep.equal(
        sortedIds([...ids('test-ready'), ...ids('test-cluster'), ...ids('test-workload')]),
      );

      await anneal.services.changes.setAttrib('deployment', dep.deploymentId, 'test/marker', 'v2', 'test');
      const changed = await commitAndSettle();
      expect(changed.map(label)).to.deep.equal(expected.map(label));

      const markers = await lastMarkers(seeds);
      expect([...markers.values()]).to.deep.equal(seeds.map(() => 'v2'));
      const rerunRecorded = await anneal.store.events.list({ type: 'node-roles.rerun' });
      expect(rerunRecorded).to.have.length(1);
      expect(sortedIds(rerunRecorded[0]!.data.nodeRoleIds as number[])).to.deep.equal(sortedIds(seeds));
    });

    it('re-committing without a change runs nothing', async () => {
      expect(await commitAndSettle()).to.deep.equal([]);
      await anneal.services.changes.setAttrib('deployment', dep.deploymentId, 'test/marker', 'v2', 'test');
      expect(await commitAndSettle(), 'the same value proposed again').to.deep.equal([]);
    });

    it('a node-scoped change on one node re-runs that node’s layer and everything downstream of it', async () => {
      const node1 = dep.nodeIds[0]!;
      const seeds = ids('test-ready', node1);
      expect(seeds).to.have.length(1);
      const expected = sortedIds([...seeds, ...(await descendantsOf(anneal.store, seeds))]);
      // The cluster barrier fans out: this node's cluster member, then every node's workload.
      expect(expected).to.deep.equal(sortedIds([...seeds, ...ids('test-cluster', node1), ...ids('test-workload')]));

      await anneal.services.changes.setAttrib('node', node1, 'test/marker', 'v3', 'test');
      const changed = await commitAndSettle();
      expect(changed.map(label)).to.deep.equal(expected.map(label));

      const markers = await lastMarkers(ids('test-ready'));
      expect(ids('test-ready').map((id) => markers.get(id))).to.deep.equal(
        dep.nodeIds.map((n) => (n === node1 ? 'v3' : 'v2')),
      );
    });

    it('parents of a re-run node-role finish before it starts again', async () => {
      const runs = await anneal.store.runs.intervals();
      const last = new Map<number, (typeof runs)[number]>();
      for (const r of runs) last.set(r.nodeRoleId, r);
      const edges = await anneal.store.nodeRoles.childrenOf(nodeRoles.map((nr) => nr.id));
      for (const e of edges) {
        expect(last.get(e.childId)!.startedAt, `${label(e.childId)} after ${label(e.parentId)}`).to.be.at.least(
          last.get(e.parentId)!.endedAt!,
        );
      }
    });
  });
}
