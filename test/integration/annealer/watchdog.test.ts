import { expect } from 'chai';
import { engines, requireEngine } from '../../helpers/engines';
import { startTestAnneal, type TestAnneal } from '../../helpers/anneal';

for (const engine of engines) {
  describe(`[${engine}] annealer/watchdog`, function () {
    let anneal: TestAnneal;
    before(async function () {
      await requireEngine(this, engine);
    });
    beforeEach(async () => {
      anneal = await startTestAnneal(engine);
    });
    afterEach(async () => {
      await anneal?.dispose();
    });

    it('explains why each waiting node-role is not running, and lists nothing once converged', async () => {
      const { services, store, annealer } = anneal;
      const d = await services.inventory.createDeployment({ name: 'wd' }, 'test');
      const node = await services.inventory.createNode({ name: 'dark.lab', deployment: 'wd', alive: false }, 'test');
      await services.binding.bind(d.id, 'test-os', node.id);
      await services.changes.commitDeployment('wd', 'test');
      annealer.start();
      await annealer.settle({ timeoutMs: 30_000 });

      const waiting = await services.watchdog.waiting({ deploymentId: d.id });
      expect(waiting.map((w) => [w.role, w.state, w.reasons])).to.deep.equal([
        [
          'test-discover',
          'todo',
          ['node dark.lab is not alive (powered off or unreachable): power it on or check its BMC and network'],
        ],
        [
          'test-hardware',
          'blocked',
          [
            'node dark.lab is not alive (powered off or unreachable): power it on or check its BMC and network',
            'waiting for parent test-discover on dark.lab (todo)',
          ],
        ],
        [
          'test-os',
          'blocked',
          [
            'node dark.lab is not alive (powered off or unreachable): power it on or check its BMC and network',
            'waiting for parent test-hardware on dark.lab (blocked)',
          ],
        ],
      ]);

      await store.nodes.update(node.id, { alive: true }, Date.now());
      annealer.wake();
      await annealer.settle({ timeoutMs: 30_000 });
      expect(await services.watchdog.waiting({ deploymentId: d.id })).to.deep.equal([]);
      expect(await store.nodeRoles.countByState({ deploymentId: d.id })).to.deep.equal({ active: 3 });
    });

    it('names an unavailable node, and the node-roles run once it is available again', async () => {
      const { services, store, annealer } = anneal;
      const d = await services.inventory.createDeployment({ name: 'wd2' }, 'test');
      const node = await services.inventory.createNode({ name: 'n.lab', deployment: 'wd2', alive: true }, 'test');
      await services.binding.bind(d.id, 'test-os', node.id);
      await services.changes.commitDeployment('wd2', 'test');
      await store.nodes.update(node.id, { available: false }, Date.now());
      const reasons = (await services.watchdog.waiting({ deploymentId: d.id })).find(
        (w) => w.role === 'test-discover',
      )!.reasons;
      expect(reasons).to.deep.equal(['node n.lab is marked unavailable: set available=true to let work run on it']);
      await store.nodes.update(node.id, { available: true }, Date.now());
      annealer.start();
      await annealer.settle({ timeoutMs: 30_000 });
      expect(await store.nodeRoles.countByState({ deploymentId: d.id })).to.deep.equal({ active: 3 });
    });
  });
}
