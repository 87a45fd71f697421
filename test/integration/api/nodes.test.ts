import { expect } from 'chai';
import { describeApi, NOW } from '../../helpers/api';

const nameExpected =
  'expected a lowercase name of letters, digits, hyphens and dots (e.g. node-1.example.com), at most 253 characters, not only digits';

function node(over: Record<string, unknown>) {
  return {
    id: 2,
    name: 'n1.lab',
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
    alive: false,
    available: true,
    admin: false,
    system: false,
    state: 'proposed',
    facts: {},
    tags: [],
    deploymentId: 1,
    createdAt: NOW,
    updatedAt: NOW,
    ...over,
  };
}

const systemServiceNode = node({
  id: 1,
  name: 'system.service.anneal.internal',
  alive: true,
  system: true,
  state: 'committed',
});

describeApi('api/nodes', (api) => {
  it('creates a node with normalised MACs and returns it by name, by id and in the list', async () => {
    const created = await api().post('/nodes', {
      name: 'n1.lab',
      description: 'rack 3',
      macs: ['52-54-00-AA-BB-CC', '52:54:00:aa:bb:cc', '52:54:00:00:00:01'],
      bmcAddress: '10.0.0.21',
      alive: true,
    });
    const expected = node({
      description: 'rack 3',
      macs: ['52:54:00:aa:bb:cc', '52:54:00:00:00:01'],
      bmcAddress: '10.0.0.21',
      bmcUsername: null,
      address: null,
      sshHostKey: null,
      powerState: 'unknown',
      bootDevice: 'unknown',
      alive: true,
    });
    expect(created.status).to.equal(201);
    expect(created.body).to.deep.equal(expected);

    expect(await api().get('/nodes/n1.lab'))
      .to.include({ status: 200 })
      .and.have.deep.property('body', expected);
    expect(await api().get('/nodes/2'))
      .to.include({ status: 200 })
      .and.have.deep.property('body', expected);
    const list = await api().get('/nodes');
    expect(list.status).to.equal(200);
    expect(list.body).to.deep.equal({ items: [systemServiceNode, expected], offset: 0, limit: 100 });
  });

  it('places a node in the deployment named in the body', async () => {
    await api().post('/deployments', { name: 'd1' });
    const created = await api().post('/nodes', { name: 'n1.lab', deployment: 'd1' });
    expect(created.status).to.equal(201);
    expect(created.body).to.deep.equal(node({ id: 3, deploymentId: 2 }));
  });

  it('pages the list with offset and limit', async () => {
    for (const name of ['a.lab', 'b.lab', 'c.lab']) await api().post('/nodes', { name });
    const res = await api().get('/nodes?offset=2&limit=1');
    expect(res.status).to.equal(200);
    expect(res.body).to.deep.equal({ items: [node({ id: 3, name: 'b.lab' })], offset: 2, limit: 1 });
  });

  it('rejects bad paging parameters, naming each', async () => {
    const res = await api().get('/nodes?offset=-1&limit=1001');
    expect(res.status).to.equal(400);
    expect(res.body).to.deep.equal({
      error: {
        code: 'ERR_INPUT_INVALID',
        message:
          'offset: expected a whole number between 0 and 2147483647; limit: expected a whole number between 1 and 1000',
        details: {
          issues: [
            { field: 'offset', message: 'expected a whole number between 0 and 2147483647' },
            { field: 'limit', message: 'expected a whole number between 1 and 1000' },
          ],
        },
      },
    });
  });

  it('answers 409 ERR_NAME_TAKEN when the name exists', async () => {
    await api().post('/nodes', { name: 'n1.lab' });
    const res = await api().post('/nodes', { name: 'n1.lab' });
    expect(res.status).to.equal(409);
    expect(res.body).to.deep.equal({
      error: { code: 'ERR_NAME_TAKEN', message: 'a node named "n1.lab" already exists (id 2); choose another name' },
    });
  });

  it('answers 404 ERR_NODE_NOT_FOUND for an unknown name or id', async () => {
    const byName = await api().get('/nodes/nope.lab');
    expect(byName.status).to.equal(404);
    expect(byName.body).to.deep.equal({
      error: { code: 'ERR_NODE_NOT_FOUND', message: 'node "nope.lab" not found', details: { ref: 'nope.lab' } },
    });
    const byId = await api().get('/nodes/999');
    expect(byId.status).to.equal(404);
    expect(byId.body).to.deep.equal({
      error: { code: 'ERR_NODE_NOT_FOUND', message: 'node 999 not found', details: { ref: 999 } },
    });
  });

  it('answers 404 ERR_DEPLOYMENT_NOT_FOUND when the body names an unknown deployment', async () => {
    const res = await api().post('/nodes', { name: 'n1.lab', deployment: 'nope' });
    expect(res.status).to.equal(404);
    expect(res.body).to.deep.equal({
      error: { code: 'ERR_DEPLOYMENT_NOT_FOUND', message: 'deployment "nope" not found', details: { ref: 'nope' } },
    });
  });

  it('answers 400 naming the field for an invalid MAC', async () => {
    const res = await api().post('/nodes', { name: 'n1.lab', macs: ['52:54:00:aa:bb:cc', '52:54:00:zz:bb:cc'] });
    expect(res.status).to.equal(400);
    expect(res.body).to.deep.equal({
      error: {
        code: 'ERR_INPUT_INVALID',
        message: 'macs[1]: expected a MAC address like 52:54:00:12:34:56',
        details: { issues: [{ field: 'macs[1]', message: 'expected a MAC address like 52:54:00:12:34:56' }] },
      },
    });
  });

  it('stores a BMC password given at creation as a node secret and never returns it', async () => {
    const created = await api().post('/nodes', {
      name: 'n1.lab',
      bmcAddress: '127.0.0.1:9001',
      bmcUsername: 'admin',
      bmcPassword: 'not-shown-S3cret',
    });
    expect(created.status).to.equal(201);
    expect(JSON.stringify(created.body)).to.not.include('not-shown-S3cret');
    expect(JSON.stringify((await api().get('/nodes/n1.lab')).body)).to.not.include('not-shown-S3cret');
    const id = (created.body as { id: number }).id;
    expect(await api().anneal.store.nodeSecrets.get(id, 'bmc-password')).to.equal('not-shown-S3cret');
    expect(JSON.stringify((await api().get('/events?limit=1000')).body)).to.not.include('not-shown-S3cret');
  });

  it('lists every invalid field at once, including unknown ones', async () => {
    const res = await api().post('/nodes', { name: 'N1_lab', alive: 'yes', bmcAddress: 'not an address', mac: 'x' });
    expect(res.status).to.equal(400);
    const issues = [
      { field: 'name', message: nameExpected },
      { field: 'bmcAddress', message: 'expected an IPv4 or IPv6 address or a host name, optionally with :port' },
      { field: 'alive', message: 'expected boolean, received string' },
      {
        field: 'mac',
        message:
          'unknown field; expected only: name, description, macs, bmcAddress, bmcUsername, bmcDriver, bmcPassword, address, alive, available, deployment',
      },
    ];
    expect(res.body).to.deep.equal({
      error: {
        code: 'ERR_INPUT_INVALID',
        message: issues.map((i) => `${i.field}: ${i.message}`).join('; '),
        details: { issues },
      },
    });
  });

  it('rejects an all-digit name, which would read as an id', async () => {
    const res = await api().post('/nodes', { name: '12345' });
    expect(res.status).to.equal(400);
    expect(res.body).to.deep.equal({
      error: {
        code: 'ERR_INPUT_INVALID',
        message: `name: ${nameExpected}`,
        details: { issues: [{ field: 'name', message: nameExpected }] },
      },
    });
  });

  it('rejects a ref with control characters or over 253 characters, naming it', async () => {
    const control = await api().get('/nodes/n1%01.lab');
    expect(control.status).to.equal(400);
    expect(control.body).to.deep.equal({
      error: {
        code: 'ERR_INPUT_INVALID',
        message: 'ref: expected an id or a name without control characters',
        details: { issues: [{ field: 'ref', message: 'expected an id or a name without control characters' }] },
      },
    });
    const long = await api().get(`/nodes/${'a'.repeat(254)}`);
    expect(long.status).to.equal(400);
    expect(long.body).to.deep.equal({
      error: {
        code: 'ERR_INPUT_INVALID',
        message: 'ref: expected an id or a name of at most 253 characters',
        details: { issues: [{ field: 'ref', message: 'expected an id or a name of at most 253 characters' }] },
      },
    });
  });

  it('updates description, alive and available with PATCH and records an event', async () => {
    await api().post('/nodes', { name: 'n1.lab' });
    const res = await api().call('PATCH', '/nodes/n1.lab', { description: 'spare', alive: true, available: false });
    expect(res.status).to.equal(200);
    expect(res.body).to.deep.equal(node({ description: 'spare', alive: true, available: false }));
    const events = await api().get('/events?type=node.update');
    expect(events.body).to.deep.equal({
      items: [
        {
          id: 3,
          at: NOW,
          actor: 'api:test-admin',
          type: 'node.update',
          objectType: 'node',
          objectId: 2,
          data: { changed: ['description', 'alive', 'available'] },
        },
      ],
      after: 0,
      limit: 100,
    });
  });

  it('rejects an empty PATCH and fields PATCH cannot change', async () => {
    await api().post('/nodes', { name: 'n1.lab' });
    const empty = await api().call('PATCH', '/nodes/n1.lab', {});
    expect(empty.status).to.equal(400);
    expect(empty.body).to.deep.equal({
      error: {
        code: 'ERR_INPUT_INVALID',
        message: 'body: expected at least one of: description, alive, available, address, bmcAddress, bmcUsername',
        details: {
          issues: [
            {
              field: 'body',
              message: 'expected at least one of: description, alive, available, address, bmcAddress, bmcUsername',
            },
          ],
        },
      },
    });
    const name = await api().call('PATCH', '/nodes/n1.lab', { name: 'n2.lab' });
    expect(name.status).to.equal(400);
    expect(name.body).to.deep.equal({
      error: {
        code: 'ERR_INPUT_INVALID',
        message: 'name: unknown field; expected only: description, alive, available, address, bmcAddress, bmcUsername',
        details: {
          issues: [
            {
              field: 'name',
              message: 'unknown field; expected only: description, alive, available, address, bmcAddress, bmcUsername',
            },
          ],
        },
      },
    });
  });

  it('commits and proposes a node', async () => {
    await api().post('/nodes', { name: 'n1.lab' });
    const committed = await api().post('/nodes/n1.lab/commit');
    expect(committed.status).to.equal(200);
    expect(committed.body).to.deep.equal(node({ state: 'committed' }));
    const proposed = await api().post('/nodes/2/propose');
    expect(proposed.status).to.equal(200);
    expect(proposed.body).to.deep.equal(node({ state: 'proposed' }));
  });

  it('lists no node-roles for a node nothing is bound to', async () => {
    await api().post('/nodes', { name: 'n1.lab' });
    const res = await api().get('/nodes/n1.lab/node-roles');
    expect(res.status).to.equal(200);
    expect(res.body).to.deep.equal({ items: [], offset: 0, limit: 100 });
  });

  describe('attribs', () => {
    beforeEach(async () => {
      await api().post('/nodes', { name: 'n1.lab' });
    });

    it('answers 422 ERR_ATTRIB_INVALID naming the attrib for a value its schema rejects', async () => {
      const res = await api().call('PUT', '/nodes/n1.lab/attribs/test/delay-ms', { value: 'abc' });
      expect(res.status).to.equal(422);
      expect(res.body).to.deep.equal({
        error: {
          code: 'ERR_ATTRIB_INVALID',
          message: 'test/delay-ms: Invalid input: expected number, received string',
          details: {
            issues: [{ field: 'test/delay-ms', message: 'Invalid input: expected number, received string' }],
          },
        },
      });
    });

    it('records a proposed value by path or by encoded name, and lists it', async () => {
      const put = await api().call('PUT', '/nodes/n1.lab/attribs/test/delay-ms', { value: 5 });
      const value = {
        attrib: 'test/delay-ms',
        scope: 'node',
        targetId: 2,
        proposed: 5,
        committed: null,
        hasProposed: true,
        hasCommitted: false,
      };
      expect(put.status).to.equal(200);
      expect(put.body).to.deep.equal(value);
      const encoded = await api().call('PUT', '/nodes/n1.lab/attribs/test%2Fmarker', { value: 'm1' });
      const marker = { ...value, attrib: 'test/marker', proposed: 'm1' };
      expect(encoded.status).to.equal(200);
      expect(encoded.body).to.deep.equal(marker);
      const list = await api().get('/nodes/n1.lab/attribs');
      expect(list.status).to.equal(200);
      expect(list.body).to.deep.equal({ items: [value, marker], offset: 0, limit: 100 });
      expect((await api().get('/nodes/2/attribs/test/marker')).body).to.deep.equal(marker);
    });

    it('moves the value to committed when the node is committed', async () => {
      await api().call('PUT', '/nodes/n1.lab/attribs/test/delay-ms', { value: 5 });
      await api().post('/nodes/n1.lab/commit');
      const res = await api().get('/nodes/n1.lab/attribs/test/delay-ms');
      expect(res.status).to.equal(200);
      expect(res.body).to.deep.equal({
        attrib: 'test/delay-ms',
        scope: 'node',
        targetId: 2,
        proposed: null,
        committed: 5,
        hasProposed: false,
        hasCommitted: true,
      });
    });

    it('never returns the value of a secret attrib', async () => {
      const put = await api().call('PUT', '/nodes/n1.lab/attribs/test/secret', { value: 's3cret-value' });
      const redacted = {
        attrib: 'test/secret',
        scope: 'node',
        targetId: 2,
        proposed: '[redacted]',
        committed: null,
        hasProposed: true,
        hasCommitted: false,
      };
      expect(put.status).to.equal(200);
      expect(put.body).to.deep.equal(redacted);
      expect((await api().get('/nodes/n1.lab/attribs')).body).to.deep.equal({
        items: [redacted],
        offset: 0,
        limit: 100,
      });
      const events = await api().get('/events?type=attrib.propose');
      expect(JSON.stringify(events.body)).not.to.contain('s3cret-value');
    });

    it('shows an attrib that was never set as empty', async () => {
      const res = await api().get('/nodes/n1.lab/attribs/test/marker');
      expect(res.status).to.equal(200);
      expect(res.body).to.deep.equal({
        attrib: 'test/marker',
        scope: 'node',
        targetId: 2,
        proposed: null,
        committed: null,
        hasProposed: false,
        hasCommitted: false,
      });
    });

    it('answers 404 ERR_ATTRIB_NOT_FOUND for an unknown attrib', async () => {
      const res = await api().call('PUT', '/nodes/n1.lab/attribs/nope/thing', { value: 1 });
      expect(res.status).to.equal(404);
      expect(res.body).to.deep.equal({
        error: {
          code: 'ERR_ATTRIB_NOT_FOUND',
          message: 'attrib "nope/thing" not found',
          details: { ref: 'nope/thing' },
        },
      });
    });

    it('answers 400 naming value when the body has none', async () => {
      const res = await api().call('PUT', '/nodes/n1.lab/attribs/test/delay-ms', {});
      expect(res.status).to.equal(400);
      expect(res.body).to.deep.equal({
        error: {
          code: 'ERR_INPUT_INVALID',
          message: 'value: expected a value (any JSON the attrib accepts)',
          details: { issues: [{ field: 'value', message: 'expected a value (any JSON the attrib accepts)' }] },
        },
      });
    });

    it('answers 404 ERR_NODE_NOT_FOUND for attribs of an unknown node', async () => {
      const res = await api().call('PUT', '/nodes/nope.lab/attribs/test/delay-ms', { value: 1 });
      expect(res.status).to.equal(404);
      expect(res.body).to.deep.equal({
        error: { code: 'ERR_NODE_NOT_FOUND', message: 'node "nope.lab" not found', details: { ref: 'nope.lab' } },
      });
    });
  });
});
