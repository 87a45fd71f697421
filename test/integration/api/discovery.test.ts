/** `anneal/discover`: nodes created in a deployment that has it get the discovery roles and are committed. */
import { expect } from 'chai';
import { startTestApi, type TestApi } from '../../helpers/api';
import { engines, requireEngine } from '../../helpers/engines';

interface NodeRoleBody {
  role: string;
  node: string;
  state: string;
}

for (const engine of engines) {
  describe(`[${engine}] api/discovery (anneal/discover)`, function () {
    let api: TestApi;

    before(async function () {
      await requireEngine(this, engine);
    });
    beforeEach(async () => {
      api = await startTestApi(engine);
      await api.post('/deployments', { name: 'd1' });
    });
    afterEach(async () => {
      await api?.close();
    });

    const nodeRoles = async (node: string) =>
      ((await api.get(`/nodes/${node}/node-roles`)).body as { items: NodeRoleBody[] }).items.map(
        (nr) => [nr.role, nr.state] as [string, string],
      );

    it('leaves a new node alone by default', async () => {
      await api.post('/deployments/d1/commit');
      const created = await api.post('/nodes', { name: 'n1.lab', deployment: 'd1', alive: true });
      expect(created.body).to.deep.include({ state: 'proposed' });
      expect(await nodeRoles('n1.lab')).to.deep.equal([]);
    });

    it('binds the discovery roles and commits the node when the deployment discovers', async () => {
      const set = await api.call('PUT', '/deployments/d1/attribs/anneal/discover', { value: true });
      expect(set.status).to.equal(200);
      await api.post('/deployments/d1/commit');
      const created = await api.post('/nodes', { name: 'n1.lab', deployment: 'd1', alive: true });
      expect(created.status).to.equal(201);
      expect(created.body).to.deep.include({ name: 'n1.lab', state: 'committed' });
      // Every discovery role (the fixture's test-discover, and the shipped ready-node and ssh-access with the
      // stack ready-node requires), bound on the node itself and committed.
      const bound = new Map(await nodeRoles('n1.lab'));
      expect(bound.get('test-discover')).to.equal('todo');
      expect([...bound.keys()]).to.include.members([
        'ready-node',
        'ssh-access',
        'inventory',
        'os-install',
        'ntp-client',
      ]);
      expect([...bound.values()].filter((s) => s === 'proposed')).to.deep.equal([]);
      api.anneal.annealer.start();
      await api.anneal.annealer.settle();
      await api.anneal.annealer.stop();
      expect(new Map(await nodeRoles('n1.lab')).get('test-discover')).to.equal('active');
    });

    it('rejects a value that is not a boolean, naming the attrib', async () => {
      const res = await api.call('PUT', '/deployments/d1/attribs/anneal/discover', { value: 'yes' });
      expect(res.status).to.equal(422);
      expect((res.body as { error: { code: string } }).error.code).to.equal('ERR_ATTRIB_INVALID');
    });
  });
}
