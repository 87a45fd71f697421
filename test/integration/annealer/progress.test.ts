/**
 * Re-running: actions that take several runs ("not yet" + wall) keep their progress between runs in the
 * node-role's wall and start over on a re-run (new generation); a `rerunOnNewChild` service runs again
 * when a new member is bound.
 */
import { expect } from 'chai';
import { startTestAnneal, type TestAnneal } from '../../helpers/anneal';
import { engines, requireEngine } from '../../helpers/engines';

for (const engine of engines) {
  describe(`[${engine}] annealer/progress and rerunOnNewChild`, function () {
    this.timeout(30_000);
    let anneal: TestAnneal;

    before(async function () {
      await requireEngine(this, engine);
    });
    afterEach(async () => {
      await anneal?.dispose();
    });

    it('keeps the wall of a "not yet" between runs, and starts over on a new generation', async () => {
      anneal = await startTestAnneal(engine);
      const { services, store, annealer } = anneal;
      const d = await services.inventory.createDeployment({ name: 'd1' }, 'test');
      const node = await services.inventory.createNode({ name: 'n1.lab', deployment: 'd1', alive: true }, 'test');
      const { nodeRoleId } = await services.binding.bind(d.id, 'test-progress', node.id);
      await services.changes.commitDeployment('d1', 'test');
      annealer.start();
      await annealer.settle({ timeoutMs: 10_000 });

      const nr = await store.nodeRoles.get(nodeRoleId);
      expect(nr).to.deep.include({ state: 'active', generation: 1 });
      expect(nr.wall).to.deep.equal({ generation: 1, step: 3, done: true });
      const runs = await store.runs.list({ nodeRoleId });
      expect(runs.map((r) => [r.status, r.stdoutTail])).to.deep.equal([
        ['requeued', 'not yet: step 1 of 3'],
        ['requeued', 'not yet: step 2 of 3'],
        ['succeeded', ''],
      ]);

      await store.nodeRoles.bump([nodeRoleId], Date.now());
      annealer.wake();
      await annealer.settle({ timeoutMs: 10_000 });
      expect((await store.nodeRoles.get(nodeRoleId)).wall).to.deep.equal({ generation: 2, step: 3, done: true });
      expect(await store.runs.list({ nodeRoleId })).to.have.length(6);
    });

    it('runs a service again when a new member is bound; the existing members do not re-run', async () => {
      anneal = await startTestAnneal(engine);
      const { services, store, annealer } = anneal;
      const d = await services.inventory.createDeployment({ name: 'd1' }, 'test');
      const n1 = await services.inventory.createNode({ name: 'n1.lab', deployment: 'd1', alive: true }, 'test');
      const m1 = await services.binding.bind(d.id, 'test-member', n1.id);
      await services.changes.commitDeployment('d1', 'test');
      annealer.start();
      await annealer.settle({ timeoutMs: 10_000 });
      const registry = (await store.nodeRoles.list({ deploymentId: d.id })).find((nr) => nr.role === 'test-registry')!;
      expect((await store.runs.list({ nodeRoleId: registry.id })).length).to.equal(1);

      const n2 = await services.inventory.createNode({ name: 'n2.lab', deployment: 'd1', alive: true }, 'test');
      const m2 = await services.binding.bind(d.id, 'test-member', n2.id);
      await services.changes.commitDeployment('d1', 'test');
      await annealer.settle({ timeoutMs: 10_000 });
      const runsOf = async (id: number) => (await store.runs.list({ nodeRoleId: id })).length;
      expect([await runsOf(registry.id), await runsOf(m1.nodeRoleId), await runsOf(m2.nodeRoleId)]).to.deep.equal([
        2, 1, 1,
      ]);
      const m2Run = (await store.runs.list({ nodeRoleId: m2.nodeRoleId }))[0]!;
      const registryRuns = await store.runs.list({ nodeRoleId: registry.id });
      expect(m2Run.startedAt, 'the new member ran after the service').to.be.at.least(registryRuns[1]!.endedAt!);
    });
  });
}
