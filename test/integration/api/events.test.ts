import { expect } from 'chai';
import { NOW, startTestApi, type TestApi } from '../../helpers/api';
import { engines, requireEngine } from '../../helpers/engines';

function event(
  id: number,
  actor: string,
  type: string,
  objectType: string,
  objectId: number | null,
  data: Record<string, unknown>,
) {
  return { id, at: NOW, actor, type, objectType, objectId, data };
}

for (const engine of engines) {
  describe(`[${engine}] api/events`, function () {
    let api: TestApi;

    before(async function () {
      await requireEngine(this, engine);
    });
    beforeEach(async () => {
      api = await startTestApi(engine);
      await api.post('/deployments', { name: 'd1' });
      await api.post('/nodes', { name: 'n1.lab', deployment: 'd1' });
      await api.call('PUT', '/deployments/d1/attribs/test/marker', { value: 'blue' });
      await api.post('/deployments/d1/commit');
    });
    afterEach(async () => {
      await api?.close();
    });

    const all = [
      event(1, 'anneal', 'deployment.create', 'deployment', 1, { name: 'system' }),
      event(2, 'api:test-admin', 'deployment.create', 'deployment', 2, { name: 'd1' }),
      event(3, 'api:test-admin', 'node.create', 'node', 3, { name: 'n1.lab' }),
      event(4, 'api:test-admin', 'attrib.propose', 'deployment', 2, { attrib: 'test/marker', value: 'blue' }),
      event(5, 'api:test-admin', 'deployment.commit', 'deployment', 2, { nodeRoles: 0 }),
    ];

    it('lists the changes made through the API, oldest first', async () => {
      const res = await api.get('/events');
      expect(res.status).to.equal(200);
      expect(res.body).to.deep.equal({ items: all, after: 0, limit: 100 });
    });

    it('pages by cursor with after and limit', async () => {
      const res = await api.get('/events?after=2&limit=2');
      expect(res.status).to.equal(200);
      expect(res.body).to.deep.equal({ items: all.slice(2, 4), after: 2, limit: 2 });
    });

    it('filters by type', async () => {
      const res = await api.get('/events?type=deployment.create');
      expect(res.status).to.equal(200);
      expect(res.body).to.deep.equal({ items: all.slice(0, 2), after: 0, limit: 100 });
    });

    it('rejects a bad cursor, naming it', async () => {
      const res = await api.get('/events?after=last');
      expect(res.status).to.equal(400);
      expect(res.body).to.deep.equal({
        error: {
          code: 'ERR_INPUT_INVALID',
          message: 'after: expected a whole number between 0 and 2147483647',
          details: { issues: [{ field: 'after', message: 'expected a whole number between 0 and 2147483647' }] },
        },
      });
    });
  });
}
