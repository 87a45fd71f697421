import { expect } from 'chai';
import { describeApi } from '../../helpers/api';

describeApi('api/deployments/:ref/status (the layer cake)', (api) => {
  async function anneal(): Promise<void> {
    await api().anneal.annealer.start();
    await api().anneal.annealer.settle();
    await api().anneal.annealer.stop();
  }

  it('groups node-roles by milestone layer per node, before and after a converge', async () => {
    await api().post('/deployments', { name: 'd1' });
    await api().post('/nodes', { name: 'n1.lab', deployment: 'd1', alive: true });
    await api().post('/nodes', { name: 'n2.lab', deployment: 'd1', alive: true });
    for (const node of ['n1.lab', 'n2.lab']) {
      expect((await api().post('/deployments/d1/bind', { role: 'test-ready', node })).status).to.equal(201);
    }
    const proposed = await api().get('/deployments/d1/status');
    expect(proposed.status).to.equal(200);
    const body = proposed.body as Record<string, unknown>;
    expect(body.deployment).to.deep.equal({ id: 2, name: 'd1', state: 'proposed' });
    expect(body.layers).to.deep.equal(['test-discover', 'test-os', 'services', 'other']);
    expect(body.total).to.equal(9);
    expect(body.counts).to.deep.equal({
      proposed: 9,
      blocked: 0,
      todo: 0,
      transition: 0,
      active: 0,
      error: 0,
      removing: 0,
      'remove-error': 0,
    });
    expect(body.converged).to.equal(false);

    await api().post('/deployments/d1/commit');
    await anneal();
    const done = await api().get('/deployments/d1/status');
    const cell = (total: number) => ({ state: 'active', total, counts: { active: total } });
    const nodeRow = (id: number, name: string, first: number) => ({
      id,
      name,
      alive: true,
      available: true,
      layers: { 'test-discover': cell(1), 'test-os': cell(2), other: cell(1) },
      nodeRoles: [
        { id: first, role: 'test-discover', layer: 'test-discover', state: 'active', attempts: 0 },
        { id: first + 1, role: 'test-hardware', layer: 'test-os', state: 'active', attempts: 0 },
        { id: first + 2, role: 'test-os', layer: 'test-os', state: 'active', attempts: 0 },
        { id: first === 1 ? 5 : first + 3, role: 'test-ready', layer: 'other', state: 'active', attempts: 0 },
      ],
    });
    expect(done.body).to.deep.equal({
      deployment: { id: 2, name: 'd1', state: 'committed' },
      layers: ['test-discover', 'test-os', 'services', 'other'],
      nodes: [
        nodeRow(3, 'n1.lab', 1),
        nodeRow(4, 'n2.lab', 6),
        {
          id: 2,
          name: 'd1.service.anneal.internal',
          alive: true,
          available: true,
          layers: { services: cell(1) },
          nodeRoles: [{ id: 4, role: 'test-service', layer: 'services', state: 'active', attempts: 0 }],
        },
      ].sort((a, b) => (a.name < b.name ? -1 : 1)),
      total: 9,
      counts: { proposed: 0, blocked: 0, todo: 0, transition: 0, active: 9, error: 0, removing: 0, 'remove-error': 0 },
      layerTotals: {
        'test-discover': { total: 2, counts: { active: 2 } },
        'test-os': { total: 4, counts: { active: 4 } },
        services: { total: 1, counts: { active: 1 } },
        other: { total: 2, counts: { active: 2 } },
      },
      converged: true,
      failing: [],
    });
  });

  it('lists failing node-roles with their error, and aggregates a cell to error', async () => {
    await api().post('/deployments', { name: 'd1' });
    await api().post('/nodes', { name: 'n1.lab', deployment: 'd1', alive: true });
    // test-script's template exits 1 when ANNEAL_TEST_OUT is not set, and the test API's local jig has none.
    await api().post('/deployments/d1/bind', { role: 'test-script', node: 'n1.lab' });
    await api().post('/deployments/d1/commit');
    await anneal();
    const body = (await api().get('/deployments/d1/status')).body as {
      nodes: { layers: Record<string, unknown> }[];
      failing: { node: string; role: string; layer: string; error: { code: string } }[];
      converged: boolean;
    };
    expect(body.converged).to.equal(false);
    const n1 = body.nodes.find((n) => (n as unknown as { name: string }).name === 'n1.lab')!;
    expect(n1.layers).to.deep.equal({
      'test-discover': { state: 'active', total: 1, counts: { active: 1 } },
      other: { state: 'error', total: 1, counts: { error: 1 } },
    });
    expect(body.failing).to.have.length(1);
    expect(body.failing[0]).to.include({ node: 'n1.lab', role: 'test-script', layer: 'other' });
    expect(body.failing[0]!.error.code).to.equal('ERR_COMMAND_FAILED');
  });

  it('answers ERR_DEPLOYMENT_NOT_FOUND for an unknown deployment', async () => {
    const res = await api().get('/deployments/nope/status');
    expect(res.status).to.equal(404);
    expect((res.body as { error: { code: string } }).error.code).to.equal('ERR_DEPLOYMENT_NOT_FOUND');
  });
});
