import { expect } from 'chai';
import { describeApi, NOW, type TestApi } from '../../helpers/api';

function network(over: Record<string, unknown> = {}) {
  return {
    id: 1,
    name: 'storage',
    description: '',
    deploymentId: 2,
    cidr: '192.168.50.0/24',
    vlan: null,
    gateway: '192.168.50.1',
    category: 'storage',
    interface: 'eth1',
    createdAt: NOW,
    updatedAt: NOW,
    ...over,
  };
}

const nodesRange = {
  id: 1,
  networkId: 1,
  name: 'nodes',
  first: '192.168.50.10',
  last: '192.168.50.12',
  createdAt: NOW,
};

function allocation(over: Record<string, unknown>) {
  return {
    id: 1,
    networkId: 1,
    network: 'storage',
    rangeId: 1,
    range: 'nodes',
    nodeId: 3,
    node: 'n1.lab',
    address: '192.168.50.10',
    createdBy: 'api:test-admin',
    createdAt: NOW,
    ...over,
  };
}

/** Deployment d1 (id 2, its service node is node 2) with nodes n1.lab (3), n2.lab (4), n3.lab (5), n4.lab (6). */
async function seed(api: TestApi, nodes = 4) {
  expect((await api.post('/deployments', { name: 'd1' })).status).to.equal(201);
  for (let i = 1; i <= nodes; i++) {
    const r = await api.post('/nodes', { name: `n${i}.lab`, address: `10.231.0.${10 + i}`, deployment: 'd1' });
    expect(r.status, JSON.stringify(r.body)).to.equal(201);
  }
}

async function storage(api: TestApi) {
  const n = await api.post('/networks', {
    name: 'storage',
    deployment: 'd1',
    cidr: '192.168.50.0/24',
    gateway: '192.168.50.1',
    category: 'storage',
    interface: 'eth1',
  });
  expect(n.status, JSON.stringify(n.body)).to.equal(201);
  const r = await api.post('/networks/storage/ranges', {
    name: 'nodes',
    first: '192.168.50.10',
    last: '192.168.50.12',
  });
  expect(r.status, JSON.stringify(r.body)).to.equal(201);
}

describeApi('api/networks (IPAM)', (api) => {
  it('creates a network and a range; shows them by name, by id, in lists and filtered by deployment', async () => {
    await seed(api(), 0);
    await storage(api());
    const withRanges = { ...network(), ranges: [nodesRange] };
    expect(await api().get('/networks/storage'))
      .to.include({ status: 200 })
      .and.have.deep.property('body', withRanges);
    expect((await api().get('/networks/1')).body).to.deep.equal(withRanges);
    expect((await api().get('/networks')).body).to.deep.equal({ items: [network()], offset: 0, limit: 100 });
    expect((await api().get('/networks?deployment=d1')).body).to.deep.equal({
      items: [network()],
      offset: 0,
      limit: 100,
    });
    expect((await api().get('/networks?deployment=system')).body).to.deep.equal({ items: [], offset: 0, limit: 100 });
    expect((await api().get('/networks/storage/ranges')).body).to.deep.equal({ items: [nodesRange] });
    // Defaults: the system deployment, category general, no gateway, VLAN or interface.
    const admin = await api().post('/networks', { name: 'admin', cidr: '10.231.0.0/24', vlan: 10 });
    expect(admin.status).to.equal(201);
    expect(admin.body).to.deep.equal(
      network({
        id: 2,
        name: 'admin',
        deploymentId: 1,
        cidr: '10.231.0.0/24',
        vlan: 10,
        gateway: null,
        category: 'general',
        interface: null,
      }),
    );
    const events = (await api().get('/events?type=network.create')).body as { items: { data: unknown }[] };
    expect(events.items.map((e) => e.data)).to.deep.equal([
      { name: 'storage', cidr: '192.168.50.0/24', deployment: 'd1' },
      { name: 'admin', cidr: '10.231.0.0/24', deployment: 'system' },
    ]);
  });

  it('allocates the next free address of a range, returns the existing one again, and reports exhaustion', async () => {
    await seed(api());
    await storage(api());
    const a1 = await api().post('/networks/storage/allocations', { node: 'n1.lab' });
    expect(a1).to.include({ status: 201 });
    expect(a1.body).to.deep.equal(allocation({}));
    // Idempotent: the node's allocation again (200), by the same range or address too.
    for (const body of [
      { node: 'n1.lab' },
      { node: 3, range: 'nodes' },
      { node: 'n1.lab', address: '192.168.50.10' },
    ]) {
      expect(await api().post('/networks/storage/allocations', body))
        .to.include({ status: 200 })
        .and.have.deep.property('body', allocation({}));
    }
    expect((await api().post('/networks/storage/allocations', { node: 'n2.lab', range: 'nodes' })).body).to.deep.equal(
      allocation({ id: 2, nodeId: 4, node: 'n2.lab', address: '192.168.50.11' }),
    );
    expect((await api().post('/networks/storage/allocations', { node: 'n3.lab' })).body).to.deep.equal(
      allocation({ id: 3, nodeId: 5, node: 'n3.lab', address: '192.168.50.12' }),
    );
    const full = await api().post('/networks/storage/allocations', { node: 'n4.lab' });
    expect(full).to.include({ status: 409 });
    expect(full.body).to.deep.equal({
      error: {
        code: 'ERR_RANGE_EXHAUSTED',
        message: 'every range of network "storage" is fully allocated',
        details: { network: 'storage', range: null },
      },
    });
    // Released in the middle: handed out again first.
    expect(await api().call('DELETE', '/networks/storage/allocations/192.168.50.11')).to.include({ status: 204 });
    expect((await api().post('/networks/storage/allocations', { node: 'n4.lab' })).body).to.deep.equal(
      allocation({ id: 4, nodeId: 6, node: 'n4.lab', address: '192.168.50.11' }),
    );
    expect((await api().get('/networks/storage/allocations')).body).to.deep.equal({
      items: [
        allocation({}),
        allocation({ id: 4, nodeId: 6, node: 'n4.lab', address: '192.168.50.11' }),
        allocation({ id: 3, nodeId: 5, node: 'n3.lab', address: '192.168.50.12' }),
      ],
    });
  });

  it("records a node's existing address exactly (outside every range), and refuses taken and outside addresses", async () => {
    await seed(api());
    expect(
      (
        await api().post('/networks', {
          name: 'admin',
          deployment: 'd1',
          cidr: '10.231.0.0/24',
          category: 'admin',
          interface: 'eth0',
          gateway: '10.231.0.1',
        })
      ).status,
    ).to.equal(201);
    const adminAlloc = (over: Record<string, unknown>) =>
      allocation({ network: 'admin', rangeId: null, range: null, ...over });
    const a = await api().post('/networks/admin/allocations', { node: 'n1.lab', address: '10.231.0.11' });
    expect(a).to.include({ status: 201 });
    expect(a.body).to.deep.equal(adminAlloc({ address: '10.231.0.11' }));
    const before = (await api().get('/networks/admin/allocations')).body;
    const cases: [unknown, number, unknown][] = [
      [
        { node: 'n2.lab', address: '10.231.0.11' },
        409,
        {
          code: 'ERR_ADDRESS_TAKEN',
          message: '10.231.0.11 is already allocated to n1.lab',
          details: { address: '10.231.0.11', node: 'n1.lab' },
        },
      ],
      [
        { node: 'n1.lab', address: '10.231.0.99' },
        409,
        {
          code: 'ERR_ADDRESS_TAKEN',
          message:
            'n1.lab already has 10.231.0.11 on network "admin": release it first (DELETE /api/v2/networks/admin/allocations/10.231.0.11)',
          details: { node: 'n1.lab', address: '10.231.0.11' },
        },
      ],
      [
        { node: 'n2.lab', address: '10.231.1.12' },
        422,
        {
          code: 'ERR_ADDRESS_OUTSIDE',
          message: '10.231.1.12 is not a host address of 10.231.0.0/24 (10.231.0.1..10.231.0.254)',
          details: { address: '10.231.1.12' },
        },
      ],
      [
        { node: 'n2.lab', address: '10.231.0.1' },
        422,
        {
          code: 'ERR_ADDRESS_OUTSIDE',
          message: '10.231.0.1 is the gateway of 10.231.0.0/24',
          details: { address: '10.231.0.1' },
        },
      ],
      [
        { node: 'n2.lab' },
        400,
        {
          code: 'ERR_INPUT_INVALID',
          message:
            'address: network "admin" has no ranges to pick from: give an address, or add a range (POST /api/v2/networks/admin/ranges)',
          details: {
            issues: [
              {
                field: 'address',
                message:
                  'network "admin" has no ranges to pick from: give an address, or add a range (POST /api/v2/networks/admin/ranges)',
              },
            ],
          },
        },
      ],
      [
        { node: 'n2.lab', range: 'nodes' },
        404,
        { code: 'ERR_RANGE_NOT_FOUND', message: 'network "admin" has no range "nodes"', details: { ref: 'nodes' } },
      ],
      [
        { node: 'nope.lab' },
        404,
        { code: 'ERR_NODE_NOT_FOUND', message: 'node "nope.lab" not found', details: { ref: 'nope.lab' } },
      ],
      [
        { node: 'd1.service.anneal.internal', address: '10.231.0.50' },
        409,
        {
          code: 'ERR_STATE_INVALID',
          message: "d1.service.anneal.internal is a deployment's service node: it gets no addresses",
        },
      ],
      [
        { node: 'n2.lab', address: '10.231.0.012', extra: 1 },
        400,
        {
          code: 'ERR_INPUT_INVALID',
          message:
            'address: expected an IPv4 address like 192.168.50.10; extra: unknown field; expected only: node, range, address',
          details: {
            issues: [
              { field: 'address', message: 'expected an IPv4 address like 192.168.50.10' },
              { field: 'extra', message: 'unknown field; expected only: node, range, address' },
            ],
          },
        },
      ],
    ];
    for (const [body, status, error] of cases) {
      const r = await api().post('/networks/admin/allocations', body);
      expect(r.status, JSON.stringify(body)).to.equal(status);
      expect(r.body, JSON.stringify(body)).to.deep.equal({ error });
    }
    expect((await api().get('/networks/admin/allocations')).body).to.deep.equal(before);
    expect((await api().post('/networks/nope/allocations', { node: 'n1.lab' })).body).to.deep.equal({
      error: { code: 'ERR_NETWORK_NOT_FOUND', message: 'network "nope" not found', details: { ref: 'nope' } },
    });
  });

  it('refuses bad networks and ranges with every field named, and changes nothing', async () => {
    await seed(api(), 1);
    await storage(api());
    const bad = await api().post('/networks', {
      name: 'Bad Name',
      cidr: '192.168.50.1/24',
      vlan: 5000,
      category: 'Storage!',
      interface: 'eth1/0',
      deployment: 'nope',
    });
    expect(bad.status).to.equal(400);
    expect(bad.body).to.have.nested.property('error.code', 'ERR_INPUT_INVALID');
    expect(
      (bad.body as { error: { details: { issues: { field: string }[] } } }).error.details.issues.map((i) => i.field),
    ).to.deep.equal(['name', 'cidr', 'vlan', 'category', 'interface']);
    const gw = await api().post('/networks', { name: 'other', cidr: '192.168.60.0/24', gateway: '192.168.61.1' });
    expect(gw.body).to.deep.equal({
      error: {
        code: 'ERR_INPUT_INVALID',
        message: 'gateway: expected a host address of 192.168.60.0/24 (192.168.60.1..192.168.60.254)',
        details: {
          issues: [
            { field: 'gateway', message: 'expected a host address of 192.168.60.0/24 (192.168.60.1..192.168.60.254)' },
          ],
        },
      },
    });
    const taken = await api().post('/networks', { name: 'storage', cidr: '192.168.60.0/24' });
    expect(taken).to.include({ status: 409 });
    expect(taken.body).to.have.nested.property('error.code', 'ERR_NAME_TAKEN');
    const noDeployment = await api().post('/networks', { name: 'other', cidr: '192.168.60.0/24', deployment: 'nope' });
    expect(noDeployment).to.include({ status: 404 });
    expect(noDeployment.body).to.have.nested.property('error.code', 'ERR_DEPLOYMENT_NOT_FOUND');

    const overlap = await api().post('/networks/storage/ranges', {
      name: 'more',
      first: '192.168.50.12',
      last: '192.168.50.20',
    });
    expect(overlap).to.include({ status: 400 });
    expect(overlap.body).to.deep.equal({
      error: {
        code: 'ERR_INPUT_INVALID',
        message: 'first: 192.168.50.12..192.168.50.20 overlaps range "nodes" (192.168.50.10..192.168.50.12)',
        details: {
          issues: [
            {
              field: 'first',
              message: '192.168.50.12..192.168.50.20 overlaps range "nodes" (192.168.50.10..192.168.50.12)',
            },
          ],
        },
      },
    });
    const outside = await api().post('/networks/storage/ranges', {
      name: 'more',
      first: '192.168.50.30',
      last: '192.168.50.255',
    });
    expect(outside.body).to.deep.equal({
      error: {
        code: 'ERR_INPUT_INVALID',
        message:
          'last: 192.168.50.255 is not a host address of 192.168.50.0/24 (expected one in 192.168.50.1..192.168.50.254)',
        details: {
          issues: [
            {
              field: 'last',
              message:
                '192.168.50.255 is not a host address of 192.168.50.0/24 (expected one in 192.168.50.1..192.168.50.254)',
            },
          ],
        },
      },
    });
    const dup = await api().post('/networks/storage/ranges', {
      name: 'nodes',
      first: '192.168.50.30',
      last: '192.168.50.40',
    });
    expect(dup).to.include({ status: 409 });
    expect(dup.body).to.have.nested.property('error.code', 'ERR_NAME_TAKEN');
    expect((await api().get('/networks')).body).to.deep.equal({ items: [network()], offset: 0, limit: 100 });
    expect((await api().get('/networks/storage/ranges')).body).to.deep.equal({ items: [nodesRange] });
  });

  it('deletes ranges and networks only once their allocations are released', async () => {
    await seed(api(), 1);
    await storage(api());
    await api().post('/networks/storage/allocations', { node: 'n1.lab' });
    const busy = await api().call('DELETE', '/networks/storage');
    expect(busy).to.include({ status: 409 });
    expect(busy.body).to.deep.equal({
      error: {
        code: 'ERR_STATE_INVALID',
        message:
          'network "storage" still has 1 allocation(s): release them first (DELETE /api/v2/networks/storage/allocations/{address})',
        details: { allocations: 1 },
      },
    });
    const busyRange = await api().call('DELETE', '/networks/storage/ranges/nodes');
    expect(busyRange).to.include({ status: 409 });
    expect(busyRange.body).to.have.nested.property('error.code', 'ERR_STATE_INVALID');
    const notAllocated = await api().call('DELETE', '/networks/storage/allocations/192.168.50.99');
    expect(notAllocated).to.include({ status: 404 });
    expect(notAllocated.body).to.deep.equal({
      error: {
        code: 'ERR_ALLOCATION_NOT_FOUND',
        message: 'network "storage" has no allocation of 192.168.50.99',
        details: { ref: '192.168.50.99' },
      },
    });
    const badAddress = await api().call('DELETE', '/networks/storage/allocations/n1.lab');
    expect(badAddress).to.include({ status: 400 });
    expect(badAddress.body).to.have.nested.property('error.code', 'ERR_INPUT_INVALID');
    expect((await api().get('/networks/storage')).body).to.deep.equal({ ...network(), ranges: [nodesRange] });

    expect(await api().call('DELETE', '/networks/storage/allocations/192.168.50.10')).to.include({ status: 204 });
    expect(await api().call('DELETE', '/networks/storage/ranges/nodes')).to.include({ status: 204 });
    expect((await api().call('DELETE', '/networks/storage/ranges/nodes')).body).to.deep.equal({
      error: {
        code: 'ERR_RANGE_NOT_FOUND',
        message: 'network "storage" has no range "nodes"',
        details: { ref: 'nodes' },
      },
    });
    expect(await api().call('DELETE', '/networks/storage')).to.include({ status: 204 });
    expect((await api().get('/networks/storage')).status).to.equal(404);
    const types = ((await api().get('/events')).body as { items: { type: string }[] }).items
      .map((e) => e.type)
      .filter((t) => t.startsWith('network.'));
    expect(types).to.deep.equal([
      'network.create',
      'network.range.create',
      'network.allocation.create',
      'network.allocation.delete',
      'network.range.delete',
      'network.delete',
    ]);
  });
});
