import { expect } from 'chai';
import { startTestApi, type TestApi } from '../../helpers/api';
import { engines, requireEngine } from '../../helpers/engines';

for (const engine of engines) {
  describe(`[${engine}] api/checks`, function () {
    let api: TestApi;

    before(async function () {
      await requireEngine(this, engine);
    });
    beforeEach(async () => {
      api = await startTestApi(engine);
      await api.post('/deployments', { name: 'd1' });
      await api.post('/nodes', { name: 'n1.lab', deployment: 'd1', alive: true });
    });
    afterEach(async () => {
      await api?.close();
    });

    async function converge(marker?: string): Promise<void> {
      if (marker !== undefined) {
        expect((await api.call('PUT', '/deployments/d1/attribs/test/marker', { value: marker })).status).to.equal(200);
      }
      expect((await api.post('/deployments/d1/commit')).status).to.equal(200);
      api.anneal.annealer.start();
      await api.anneal.annealer.settle();
      await api.anneal.annealer.stop();
    }

    it('lists no checks before anything is active, and every check of the active node-roles after', async () => {
      expect((await api.get('/nodes/n1.lab/checks')).body).to.deep.equal({
        node: 'n1.lab',
        ok: true,
        passed: 0,
        failed: 0,
        checks: [],
      });
      await api.post('/deployments/d1/bind', { role: 'test-ready', node: 'n1.lab' });
      await converge();
      const res = await api.get('/nodes/n1.lab/checks');
      expect(res.status).to.equal(200);
      const nodeRoleId = (res.body as { checks: { nodeRoleId: number }[] }).checks[0]!.nodeRoleId;
      expect(res.body).to.deep.equal({
        node: 'n1.lab',
        ok: true,
        passed: 2,
        failed: 0,
        checks: [
          {
            role: 'test-ready',
            nodeRoleId,
            name: 'marker is set',
            ok: true,
            detail: 'marker "initial"',
            remediation: 'set test/marker',
          },
          {
            role: 'test-ready',
            nodeRoleId,
            name: 'marker is not broken',
            ok: true,
            detail: 'marker "initial"',
            remediation: 'set test/marker to anything but "broken" and commit',
          },
        ],
      });
    });

    it('reports a failing check with its remediation, and a check that throws as one failed check', async () => {
      await api.post('/deployments/d1/bind', { role: 'test-ready', node: 'n1.lab' });
      await converge('broken');
      const broken = (await api.get('/nodes/n1.lab/checks')).body as { ok: boolean; checks: { ok: boolean }[] };
      expect(broken).to.deep.include({ ok: false, passed: 1, failed: 1 });
      expect(broken.checks[1]).to.deep.include({
        name: 'marker is not broken',
        ok: false,
        remediation: 'set test/marker to anything but "broken" and commit',
      });

      await converge('unreachable');
      const thrown = (await api.get('/nodes/n1.lab/checks')).body as { checks: unknown[] };
      expect(thrown).to.deep.include({ ok: false, passed: 0, failed: 1 });
      expect(thrown.checks).to.deep.equal([
        {
          role: 'test-ready',
          nodeRoleId: (thrown.checks[0] as { nodeRoleId: number }).nodeRoleId,
          name: 'test-ready',
          ok: false,
          code: 'ERR_REMOTE_UNREACHABLE',
          detail: 'n1.lab did not answer',
          remediation: 'fix what the message says, then run the checks again (GET /api/v2/nodes/n1.lab/checks)',
        },
      ]);
    });

    it('answers 404 for an unknown node', async () => {
      const res = await api.get('/nodes/nope.lab/checks');
      expect(res.status).to.equal(404);
      expect((res.body as { error: { code: string } }).error.code).to.equal('ERR_NODE_NOT_FOUND');
    });
  });
}
