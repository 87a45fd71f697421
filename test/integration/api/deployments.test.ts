import { expect } from 'chai';
import { describeApi, NOW } from '../../helpers/api';

function deployment(over: Record<string, unknown>) {
  return {
    id: 2,
    name: 'd1',
    description: '',
    parentId: 1,
    system: false,
    state: 'proposed',
    createdAt: NOW,
    updatedAt: NOW,
    ...over,
  };
}

const system = deployment({
  id: 1,
  name: 'system',
  description: 'The root deployment; new nodes start here.',
  parentId: null,
  system: true,
  state: 'committed',
});
const noNodeRoles = {
  proposed: 0,
  blocked: 0,
  todo: 0,
  transition: 0,
  active: 0,
  error: 0,
  removing: 0,
  'remove-error': 0,
};

describeApi('api/deployments', (api) => {
  it('creates a deployment under system and returns it by name, by id and in the list', async () => {
    const created = await api().post('/deployments', { name: 'd1', description: 'lab one' });
    const expected = deployment({ description: 'lab one' });
    expect(created.status).to.equal(201);
    expect(created.body).to.deep.equal(expected);
    const detail = { ...expected, roles: [], nodeRoles: noNodeRoles };
    expect(await api().get('/deployments/d1'))
      .to.include({ status: 200 })
      .and.have.deep.property('body', detail);
    expect(await api().get('/deployments/2'))
      .to.include({ status: 200 })
      .and.have.deep.property('body', detail);
    expect((await api().get('/deployments')).body).to.deep.equal({ items: [system, expected], offset: 0, limit: 100 });
  });

  it('creates a child deployment under the named parent, with its service node', async () => {
    await api().post('/deployments', { name: 'd1' });
    const child = await api().post('/deployments', { name: 'd1-a', parent: 'd1' });
    expect(child.status).to.equal(201);
    expect(child.body).to.deep.equal(deployment({ id: 3, name: 'd1-a', parentId: 2 }));
    const nodes = await api().get('/deployments/d1-a/nodes');
    expect(nodes.status).to.equal(200);
    expect(nodes.body).to.deep.equal({
      items: [
        {
          id: 3,
          name: 'd1-a.service.anneal.internal',
          description: '',
          macs: [],
          bmcAddress: null,
          bmcUsername: null,
          bmcDriver: 'ipmi',
          address: null,
          sshHostKey: null,
          powerState: 'unknown',
          powerCheckedAt: null,
          bootDevice: 'unknown',
          alive: true,
          available: true,
          admin: false,
          system: true,
          state: 'committed',
          facts: {},
          tags: [],
          deploymentId: 3,
          createdAt: NOW,
          updatedAt: NOW,
        },
      ],
      offset: 0,
      limit: 100,
    });
  });

  it('answers 409 ERR_NAME_TAKEN when the name exists', async () => {
    await api().post('/deployments', { name: 'd1' });
    const res = await api().post('/deployments', { name: 'd1' });
    expect(res.status).to.equal(409);
    expect(res.body).to.deep.equal({
      error: {
        code: 'ERR_NAME_TAKEN',
        message: 'a deployment named "d1" already exists (id 2); choose another name',
      },
    });
  });

  it('answers 404 ERR_DEPLOYMENT_NOT_FOUND for an unknown name, id or parent', async () => {
    const byName = await api().get('/deployments/nope');
    expect(byName.status).to.equal(404);
    expect(byName.body).to.deep.equal({
      error: { code: 'ERR_DEPLOYMENT_NOT_FOUND', message: 'deployment "nope" not found', details: { ref: 'nope' } },
    });
    const byId = await api().post('/deployments/42/commit');
    expect(byId.status).to.equal(404);
    expect(byId.body).to.deep.equal({
      error: { code: 'ERR_DEPLOYMENT_NOT_FOUND', message: 'deployment 42 not found', details: { ref: 42 } },
    });
    const parent = await api().post('/deployments', { name: 'd1', parent: 7 });
    expect(parent.status).to.equal(404);
    expect(parent.body).to.deep.equal({
      error: { code: 'ERR_DEPLOYMENT_NOT_FOUND', message: 'deployment 7 not found', details: { ref: 7 } },
    });
  });

  it('rejects an invalid name and parent, naming both', async () => {
    const res = await api().post('/deployments', { name: 'Lab One', parent: -1 });
    const issues = [
      {
        field: 'name',
        message:
          'expected a lowercase name of letters, digits, hyphens and dots (e.g. node-1.example.com), at most 229 characters, not only digits',
      },
      { field: 'parent', message: 'expected a deployment id (positive integer) or name' },
    ];
    expect(res.status).to.equal(400);
    expect(res.body).to.deep.equal({
      error: {
        code: 'ERR_INPUT_INVALID',
        message: issues.map((i) => `${i.field}: ${i.message}`).join('; '),
        details: { issues },
      },
    });
  });

  it('binds a role with everything it requires and shows the roles and counts on the deployment', async () => {
    await api().post('/deployments', { name: 'd1' });
    await api().post('/nodes', { name: 'n1.lab', deployment: 'd1' });
    const res = await api().post('/deployments/d1/bind', { role: 'test-ready', node: 'n1.lab' });
    const roleIds = (await api().anneal.store.catalog.ids()).roleIds;
    expect(res.status).to.equal(201);
    expect(res.body).to.deep.equal({
      nodeRole: {
        id: 5,
        deploymentId: 2,
        roleId: roleIds.get('test-ready'),
        nodeId: 3,
        role: 'test-ready',
        node: 'n1.lab',
        deployment: 'd1',
        state: 'proposed',
        cohort: 3,
        generation: 1,
        observedGeneration: 0,
        attempts: 0,
        runCount: 0,
        nextRunAt: 0,
        leaseOwner: null,
        leaseUntil: null,
        lastError: null,
        wall: {},
        updatedAt: NOW,
      },
      created: [1, 2, 3, 4, 5],
    });
    const detail = await api().get('/deployments/d1');
    expect(detail.body).to.deep.equal({
      ...deployment({}),
      roles: ['test-discover', 'test-hardware', 'test-os', 'test-ready', 'test-service'],
      nodeRoles: { ...noNodeRoles, proposed: 5 },
    });
  });

  it('answers 200 with nothing created when the role is already bound', async () => {
    await api().post('/deployments', { name: 'd1' });
    await api().post('/nodes', { name: 'n1.lab', deployment: 'd1' });
    const first = await api().post('/deployments/d1/bind', { role: 'test-os', node: 'n1.lab' });
    const again = await api().post('/deployments/d1/bind', { role: 'test-os', node: 3 });
    expect(again.status).to.equal(200);
    expect(again.body).to.deep.equal({ nodeRole: (first.body as { nodeRole: unknown }).nodeRole, created: [] });
  });

  it('answers 404 for an unknown role or node in a bind', async () => {
    await api().post('/deployments', { name: 'd1' });
    await api().post('/nodes', { name: 'n1.lab', deployment: 'd1' });
    const role = await api().post('/deployments/d1/bind', { role: 'nope', node: 'n1.lab' });
    expect(role.status).to.equal(404);
    expect(role.body).to.deep.equal({
      error: { code: 'ERR_ROLE_NOT_FOUND', message: 'role "nope" not found', details: { ref: 'nope' } },
    });
    const node = await api().post('/deployments/d1/bind', { role: 'test-os', node: 'nope.lab' });
    expect(node.status).to.equal(404);
    expect(node.body).to.deep.equal({
      error: { code: 'ERR_NODE_NOT_FOUND', message: 'node "nope.lab" not found', details: { ref: 'nope.lab' } },
    });
  });

  it('answers 422 ERR_BIND_INVALID for a service role on a normal node', async () => {
    await api().post('/deployments', { name: 'd1' });
    await api().post('/nodes', { name: 'n1.lab', deployment: 'd1' });
    const res = await api().post('/deployments/d1/bind', { role: 'test-ready', node: 'd1.service.anneal.internal' });
    expect(res.status).to.equal(422);
    expect(res.body).to.deep.equal({
      error: {
        code: 'ERR_BIND_INVALID',
        message: 'role "test-ready" is not a service role: bind it to a real node, not the service node',
      },
    });
  });

  it('commits and proposes a deployment', async () => {
    await api().post('/deployments', { name: 'd1' });
    const committed = await api().post('/deployments/d1/commit');
    expect(committed.status).to.equal(200);
    expect(committed.body).to.deep.equal(deployment({ state: 'committed' }));
    const proposed = await api().post('/deployments/d1/propose');
    expect(proposed.status).to.equal(200);
    expect(proposed.body).to.deep.equal(deployment({}));
  });

  it('records deployment attribs and lists them', async () => {
    await api().post('/deployments', { name: 'd1' });
    const put = await api().call('PUT', '/deployments/d1/attribs/test/marker', { value: 'blue' });
    const value = {
      attrib: 'test/marker',
      scope: 'deployment',
      targetId: 2,
      proposed: 'blue',
      committed: null,
      hasProposed: true,
      hasCommitted: false,
    };
    expect(put.status).to.equal(200);
    expect(put.body).to.deep.equal(value);
    expect((await api().get('/deployments/d1/attribs')).body).to.deep.equal({ items: [value], offset: 0, limit: 100 });
    expect((await api().get('/deployments/d1/attribs/test%2Fmarker')).body).to.deep.equal(value);
    const bad = await api().call('PUT', '/deployments/d1/attribs/test/delay-ms', { value: -1 });
    expect(bad.status).to.equal(422);
    expect(bad.body).to.deep.equal({
      error: {
        code: 'ERR_ATTRIB_INVALID',
        message: 'test/delay-ms: Too small: expected number to be >=0',
        details: { issues: [{ field: 'test/delay-ms', message: 'Too small: expected number to be >=0' }] },
      },
    });
  });
});
