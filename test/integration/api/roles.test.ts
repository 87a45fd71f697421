import { expect } from 'chai';
import { startTestApi, type TestApi } from '../../helpers/api';
import { engines, requireEngine } from '../../helpers/engines';

const testOs = {
  name: 'test-os',
  plugin: 'test',
  description: 'Installed-OS milestone',
  flags: ['implicit', 'milestone'],
  requires: ['test-hardware'],
  precedes: [],
  wants: ['test/delay-ms'],
  jig: 'noop',
  cohort: 2,
};

for (const engine of engines) {
  describe(`[${engine}] api/roles`, function () {
    let api: TestApi;

    before(async function () {
      await requireEngine(this, engine);
      api = await startTestApi(engine);
    });
    after(async () => {
      await api?.close();
    });

    it('lists every role, each after the roles it requires', async () => {
      const res = await api.get('/roles?limit=1000');
      expect(res.status).to.equal(200);
      const items = api.anneal.registry.rolesInOrder.map((r) => ({
        name: r.name,
        plugin: r.plugin,
        description: r.description,
        flags: [...r.flags].sort(),
        requires: [...r.requires],
        precedes: [...r.precedes],
        wants: [...r.wants],
        jig: r.jig,
        cohort: r.cohort,
      }));
      expect(res.body).to.deep.equal({ items, offset: 0, limit: 1000 });
      const body = res.body as { items: { name: string; requires: string[] }[] };
      const seen = new Set<string>();
      for (const r of body.items) {
        for (const req of r.requires) expect(seen.has(req), `${r.name} listed before ${req}`).to.equal(true);
        seen.add(r.name);
      }
      expect(body.items.find((r) => r.name === 'test-os')).to.deep.equal(testOs);
    });

    it('returns one role by name', async () => {
      const res = await api.get('/roles/test-os');
      expect(res.status).to.equal(200);
      expect(res.body).to.deep.equal(testOs);
    });

    it('answers 404 ERR_ROLE_NOT_FOUND for an unknown role', async () => {
      const res = await api.get('/roles/nope');
      expect(res.status).to.equal(404);
      expect(res.body).to.deep.equal({
        error: { code: 'ERR_ROLE_NOT_FOUND', message: 'role "nope" not found', details: { ref: 'nope' } },
      });
    });
  });
}
