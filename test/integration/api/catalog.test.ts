/** Plugins, attrib definitions, the role graph, and the list filters of nodes, runs and events. */
import { expect } from 'chai';
import { describeApi } from '../../helpers/api';

type Items<T = Record<string, unknown>> = { items: T[]; offset: number; limit: number };

describeApi('api/catalog and list filters', (api) => {
  it('lists barclamps (filter by kind) and shows one; ERR_BARCLAMP_NOT_FOUND otherwise', async () => {
    const all = (await api().get('/barclamps?limit=1000')).body as Items;
    const names = all.items.map((p) => p.name);
    expect(names).to.include.members(['anneal', 'inventory', 'ntp', 'dns', 'test']);
    const test = (await api().get('/barclamps/test')).body as Record<string, unknown>;
    expect(test).to.deep.include({ name: 'test', kind: 'barclamp', version: '1.0.0' });
    expect(test.roles).to.include.members(['test-discover', 'test-os', 'test-workload']);
    expect(test.attribs).to.deep.equal(['test/delay-ms', 'test/fail', 'test/marker', 'test/secret']);
    const workloads = ((await api().get('/barclamps?kind=workload')).body as Items).items;
    expect(workloads.map((p) => p.kind)).to.deep.equal(workloads.map(() => 'workload'));
    const missing = await api().get('/barclamps/nope');
    expect(missing.status).to.equal(404);
    expect((missing.body as { error: { code: string } }).error.code).to.equal('ERR_BARCLAMP_NOT_FOUND');
  });

  it('shows attrib definitions with their JSON Schema; secret defaults are redacted', async () => {
    const marker = await api().get('/attribs/test/marker');
    expect(marker.body).to.deep.equal({
      name: 'test/marker',
      plugin: 'test',
      description: 'Written to a file by test-script',
      schema: { $schema: 'https://json-schema.org/draft/2020-12/schema', type: 'string' },
      hasDefault: true,
      default: 'initial',
      secret: false,
    });
    const secret = (await api().get('/attribs/test%2Fsecret')).body as Record<string, unknown>;
    expect(secret).to.deep.include({ default: '[redacted]', secret: true });
    expect(JSON.stringify(await api().get('/attribs?limit=1000'))).not.to.contain('hunter2');
    const testAttribs = (await api().get('/attribs?plugin=test')).body as Items;
    expect(testAttribs.items.map((a) => a.name)).to.deep.equal([
      'test/delay-ms',
      'test/fail',
      'test/marker',
      'test/secret',
    ]);
    expect((await api().get('/attribs/test/nope')).status).to.equal(404);
  });

  it('filters roles by plugin and flag, and draws the role graph as edges', async () => {
    const milestones = (await api().get('/roles?plugin=test&flag=milestone')).body as Items;
    expect(milestones.items.map((r) => r.name)).to.deep.equal(['test-discover', 'test-os']);
    const graph = (await api().get('/roles/graph')).body as { nodes: { name: string }[]; edges: unknown[] };
    expect(graph.edges).to.deep.include({ from: 'test-os', to: 'test-hardware', kind: 'requires' });
    expect(graph.edges).to.deep.include({ from: 'test-ready', to: 'test-service', kind: 'requires' });
    expect(graph.nodes.map((n) => n.name)).to.include('test-workload');
    const bad = await api().get('/roles?flag=shiny');
    expect(bad.status).to.equal(400);
  });

  it("filters nodes by deployment, alive and available; lists a node's runs and a deployment's roles", async () => {
    await api().post('/deployments', { name: 'd1' });
    await api().post('/nodes', { name: 'n1.lab', deployment: 'd1', alive: true });
    await api().post('/nodes', { name: 'n2.lab', deployment: 'd1', alive: false });
    await api().post('/nodes', { name: 'n3.lab', alive: true });
    const names = async (q: string) => ((await api().get(`/nodes${q}`)).body as Items).items.map((n) => n.name);
    // The deployment's service node (anneal's own side) is alive from the start.
    expect(await names('?deployment=d1&alive=true')).to.deep.equal(['d1.service.anneal.internal', 'n1.lab']);
    expect(await names('?deployment=d1&alive=false')).to.deep.equal(['n2.lab']);
    expect(await names('?deployment=d1&available=true')).to.deep.equal([
      'd1.service.anneal.internal',
      'n1.lab',
      'n2.lab',
    ]);
    expect((await api().get('/nodes?alive=yes')).status).to.equal(400);

    await api().post('/deployments/d1/bind', { role: 'test-os', node: 'n1.lab' });
    await api().post('/deployments/d1/commit');
    await api().anneal.annealer.start();
    await api().anneal.annealer.settle();
    await api().anneal.annealer.stop();
    const runs = (await api().get('/nodes/n1.lab/runs')).body as Items<{ nodeRoleId: number; status: string }>;
    expect(runs.items.map((r) => [r.nodeRoleId, r.status])).to.deep.equal([
      [1, 'succeeded'],
      [2, 'succeeded'],
      [3, 'succeeded'],
    ]);
    expect(((await api().get('/nodes/n2.lab/runs')).body as Items).items).to.deep.equal([]);
    const roles = (await api().get('/deployments/d1/roles')).body as Items;
    expect(roles.items.map((r) => r.name)).to.deep.equal(['test-discover', 'test-hardware', 'test-os']);
  });

  it('filters events by object type and id', async () => {
    await api().post('/nodes', { name: 'n1.lab' });
    await api().post('/nodes', { name: 'n2.lab' });
    await api().call('PATCH', '/nodes/n2.lab', { description: 'x' });
    const events = (await api().get('/events?object=node:3')).body as Items<{ type: string; objectId: number }>;
    expect(events.items.map((e) => [e.type, e.objectId])).to.deep.equal([
      ['node.create', 3],
      ['node.update', 3],
    ]);
    const nodes = (await api().get('/events?object=node')).body as Items;
    expect(nodes.items).to.have.length(3);
  });
});
