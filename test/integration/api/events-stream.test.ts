import { expect } from 'chai';
import { describeApi, TEST_API_TOKEN } from '../../helpers/api';
import { openSse, type SseReader } from '../../helpers/sse';

describeApi('api/events/stream (server-sent events)', (api) => {
  const open: SseReader[] = [];
  async function stream(query = '', headers: Record<string, string> = {}): Promise<SseReader> {
    const s = await openSse(`${api().base}/events/stream${query}`, {
      authorization: `Bearer ${TEST_API_TOKEN}`,
      ...headers,
    });
    open.push(s);
    return s;
  }
  afterEach(() => open.splice(0).forEach((s) => s.close()));

  it('streams new audit events and node-role state changes as they happen', async () => {
    const s = await stream();
    expect(s.status).to.equal(200);
    expect(s.headers.get('content-type')).to.equal('text/event-stream; charset=utf-8');
    await api().post('/deployments', { name: 'd1' });
    await api().post('/nodes', { name: 'n1.lab', deployment: 'd1', alive: true });
    const created = await s.waitFor((m) => m.event === 'node.create');
    expect(created.id).to.equal(String(created.data.id));
    expect(created.data).to.include({ type: 'node.create', objectType: 'node', objectId: 3, actor: 'api:test-admin' });

    await api().post('/deployments/d1/bind', { role: 'test-os', node: 'n1.lab' });
    await api().post('/deployments/d1/commit');
    await api().anneal.annealer.start();
    await api().anneal.annealer.settle();
    await api().anneal.annealer.stop();
    const active = await s.waitFor(
      (m) =>
        m.event === 'node-role.state' &&
        (m.data.data as { role: string; to: string }).role === 'test-os' &&
        (m.data.data as { to: string }).to === 'active',
    );
    expect(active.id).to.equal(null);
    expect(active.data).to.deep.include({ type: 'node-role.state', objectType: 'node-role', actor: 'annealer' });
    expect(active.data.data).to.deep.include({
      node: 'n1.lab',
      role: 'test-os',
      nodeId: 3,
      deploymentId: 2,
      to: 'active',
    });
    // A node-role is first seen when bound (from null), then follows its states.
    const discover = s.messages
      .filter((m) => m.event === 'node-role.state' && (m.data.data as { role: string }).role === 'test-discover')
      .map((m) => (m.data.data as { from: string | null }).from);
    expect(discover[0]).to.equal(null);
  });

  it('filters by type (a comma list) and by object type and id', async () => {
    const byType = await stream('?type=node.create,deployment.create');
    const byObject = await stream('?object=node:4');
    await api().post('/deployments', { name: 'd1' });
    await api().post('/nodes', { name: 'n1.lab', deployment: 'd1' });
    await api().post('/nodes', { name: 'n2.lab', deployment: 'd1' });
    await api().call('PATCH', '/nodes/n2.lab', { description: 'second' });
    await byType.waitFor((m) => m.event === 'node.create' && m.data.objectId === 4);
    await byObject.waitFor((m) => m.event === 'node.update');
    expect(byType.messages.map((m) => [m.event, m.data.objectId])).to.deep.equal([
      ['deployment.create', 2],
      ['node.create', 3],
      ['node.create', 4],
    ]);
    expect(byObject.messages.map((m) => [m.event, m.data.objectType, m.data.objectId])).to.deep.equal([
      ['node.create', 'node', 4],
      ['node.update', 'node', 4],
    ]);
  });

  it('replays stored events after ?after= or Last-Event-ID, then goes on live without gaps', async () => {
    await api().post('/nodes', { name: 'n1.lab' });
    await api().post('/nodes', { name: 'n2.lab' });
    const all = (await api().get('/events')).body as { items: { id: number; type: string }[] };
    const first = all.items.find((e) => e.type === 'node.create')!.id;
    const fromQuery = await stream(`?after=${first}&type=node.create`);
    const fromHeader = await stream('?type=node.create', { 'last-event-id': String(first) });
    await api().post('/nodes', { name: 'n3.lab' });
    for (const s of [fromQuery, fromHeader]) {
      await s.waitFor((m) => m.data.objectId === 4);
      expect(s.messages.map((m) => m.data.objectId)).to.deep.equal([3, 4]);
    }
  });

  it('rejects bad filters with ERR_INPUT_INVALID naming the parameter, before streaming', async () => {
    const res = await api().get('/events/stream?object=Node;3&type=a,,b');
    expect(res.status).to.equal(400);
    expect(res.body).to.deep.equal({
      error: {
        code: 'ERR_INPUT_INVALID',
        message:
          'type: expected event types separated by commas, e.g. node.create,node-role.state; object: expected an object type, optionally with :id, e.g. node or node:3',
        details: {
          issues: [
            { field: 'type', message: 'expected event types separated by commas, e.g. node.create,node-role.state' },
            { field: 'object', message: 'expected an object type, optionally with :id, e.g. node or node:3' },
          ],
        },
      },
    });
  });
});
