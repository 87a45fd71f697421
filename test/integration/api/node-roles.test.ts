import { expect } from 'chai';
import { NOW, startTestApi, type TestApi } from '../../helpers/api';
import { engines, requireEngine } from '../../helpers/engines';

type NodeRoleState = 'proposed' | 'blocked' | 'todo' | 'transition' | 'active' | 'error';

for (const engine of engines) {
  describe(`[${engine}] api/node-roles`, function () {
    let api: TestApi;
    let roleIds: Map<string, number>;

    /** The body of a node-role on n1.lab (node 3) in d1 (deployment 2), or on d1's service node (node 2). */
    function nodeRole(
      id: number,
      role: string,
      cohort: number,
      state: NodeRoleState,
      over: Record<string, unknown> = {},
    ) {
      const ran = state === 'active';
      return {
        id,
        deploymentId: 2,
        roleId: roleIds.get(role),
        nodeId: role === 'test-service' ? 2 : 3,
        role,
        node: role === 'test-service' ? 'd1.service.anneal.internal' : 'n1.lab',
        deployment: 'd1',
        state,
        cohort,
        generation: 1,
        observedGeneration: ran ? 1 : 0,
        attempts: 0,
        runCount: ran ? 1 : 0,
        nextRunAt: state === 'proposed' ? 0 : NOW,
        leaseOwner: null,
        leaseUntil: null,
        lastError: null,
        wall: {},
        updatedAt: NOW,
        ...over,
      };
    }

    const workloadGraph: [number, string, number][] = [
      [1, 'test-discover', 0],
      [4, 'test-service', 0],
      [2, 'test-hardware', 1],
      [3, 'test-os', 2],
      [5, 'test-ready', 3],
      [6, 'test-cluster', 4],
      [7, 'test-workload', 5],
    ];

    before(async function () {
      await requireEngine(this, engine);
    });
    beforeEach(async () => {
      api = await startTestApi(engine, { localEnv: { PATH: process.env.PATH } });
      roleIds = (await api.anneal.store.catalog.ids()).roleIds;
      await api.post('/deployments', { name: 'd1' });
      await api.post('/nodes', { name: 'n1.lab', deployment: 'd1', alive: true });
    });
    afterEach(async () => {
      await api?.close();
    });

    async function bindAndAnneal(role: string): Promise<void> {
      expect((await api.post('/deployments/d1/bind', { role, node: 'n1.lab' })).status).to.equal(201);
      expect((await api.post('/deployments/d1/commit')).status).to.equal(200);
      await api.anneal.annealer.start();
      await api.anneal.annealer.settle();
      await api.anneal.annealer.stop();
    }

    it('anneals every node-role of a bound workload to active after commit', async () => {
      await bindAndAnneal('test-workload');
      const expected = workloadGraph.map(([id, role, cohort]) => nodeRole(id, role, cohort, 'active'));
      const all = await api.get('/node-roles');
      expect(all.status).to.equal(200);
      expect(all.body).to.deep.equal({ items: expected, offset: 0, limit: 100 });
      expect((await api.get('/deployments/d1/node-roles')).body).to.deep.equal({
        items: expected,
        offset: 0,
        limit: 100,
      });
      expect((await api.get('/nodes/n1.lab/node-roles?limit=2')).body).to.deep.equal({
        items: [expected[0], expected[2]],
        offset: 0,
        limit: 2,
      });
      expect((await api.get('/node-roles/7')).body).to.deep.equal(expected[6]);
    });

    it('re-runs an active node-role and what depends on it; refuses a proposed one', async () => {
      await bindAndAnneal('test-workload');
      const res = await api.post('/node-roles/5/rerun');
      expect(res.status).to.equal(202);
      expect(res.body).to.deep.equal({ nodeRole: 5, rerun: [5, 6, 7] });
      await api.anneal.annealer.start();
      await api.anneal.annealer.settle();
      await api.anneal.annealer.stop();
      const runs = (id: number) => api.get(`/node-roles/${id}/runs`);
      expect(((await runs(5)).body as { items: unknown[] }).items).to.have.length(2);
      expect(((await runs(7)).body as { items: unknown[] }).items).to.have.length(2);
      expect(((await runs(3)).body as { items: unknown[] }).items).to.have.length(1);

      await api.post('/nodes', { name: 'n2.lab', deployment: 'd1', alive: true });
      const bound = await api.post('/deployments/d1/bind', { role: 'test-discover', node: 'n2.lab' });
      const id = (bound.body as { nodeRole: { id: number } }).nodeRole.id;
      const refused = await api.post(`/node-roles/${id}/rerun`);
      expect(refused.status).to.equal(409);
      expect((refused.body as { error: { code: string; message: string } }).error).to.deep.include({
        code: 'ERR_STATE_INVALID',
        message: `node-role ${id} (test-discover on n2.lab) is proposed: commit it first`,
      });
    });

    it('filters by deployment, node, role and state', async () => {
      await api.post('/deployments/d1/bind', { role: 'test-os', node: 'n1.lab' });
      const res = await api.get('/node-roles?deployment=d1&node=3&role=test-hardware&state=proposed');
      expect(res.status).to.equal(200);
      expect(res.body).to.deep.equal({ items: [nodeRole(2, 'test-hardware', 1, 'proposed')], offset: 0, limit: 100 });
      expect((await api.get('/node-roles?state=active')).body).to.deep.equal({ items: [], offset: 0, limit: 100 });
    });

    it('rejects a bad filter and bad paging together, naming each parameter', async () => {
      const res = await api.get('/node-roles?state=done&limit=0');
      const issues = [
        { field: 'limit', message: 'expected a whole number between 1 and 1000' },
        {
          field: 'state',
          message: 'expected one of: proposed, blocked, todo, transition, active, error, removing, remove-error',
        },
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

    it('answers 404 for a filter naming an unknown deployment or role', async () => {
      const deployment = await api.get('/node-roles?deployment=nope');
      expect(deployment.status).to.equal(404);
      expect(deployment.body).to.deep.equal({
        error: { code: 'ERR_DEPLOYMENT_NOT_FOUND', message: 'deployment "nope" not found', details: { ref: 'nope' } },
      });
      const role = await api.get('/node-roles?role=nope');
      expect(role.status).to.equal(404);
      expect(role.body).to.deep.equal({
        error: { code: 'ERR_ROLE_NOT_FOUND', message: 'role "nope" not found', details: { ref: 'nope' } },
      });
    });

    it('answers 404 ERR_NODE_ROLE_NOT_FOUND for an unknown id and 400 for a non-numeric one', async () => {
      const unknown = await api.get('/node-roles/99/runs');
      expect(unknown.status).to.equal(404);
      expect(unknown.body).to.deep.equal({
        error: { code: 'ERR_NODE_ROLE_NOT_FOUND', message: 'node-role 99 not found', details: { ref: 99 } },
      });
      const named = await api.get('/node-roles/test-os');
      expect(named.status).to.equal(400);
      expect(named.body).to.deep.equal({
        error: {
          code: 'ERR_INPUT_INVALID',
          message: 'id: expected a numeric id between 0 and 2147483647',
          details: { issues: [{ field: 'id', message: 'expected a numeric id between 0 and 2147483647' }] },
        },
      });
    });

    it('lists the node-roles it waits for, each marked hard or soft', async () => {
      await api.post('/deployments/d1/bind', { role: 'test-ready', node: 'n1.lab' });
      const res = await api.get('/node-roles/5/parents');
      expect(res.status).to.equal(200);
      expect(res.body).to.deep.equal({
        items: [
          { ...nodeRole(4, 'test-service', 0, 'proposed'), soft: false },
          { ...nodeRole(3, 'test-os', 2, 'proposed'), soft: false },
        ],
        offset: 0,
        limit: 100,
      });
    });

    it('lists the runs of a node-role and returns each by id', async () => {
      await bindAndAnneal('test-os');
      const runs = await api.get('/node-roles/3/runs');
      const runId = (await api.anneal.store.runs.list({ nodeRoleId: 3 }))[0]!.id;
      const run = {
        id: runId,
        nodeRoleId: 3,
        nodeId: (await api.anneal.store.nodeRoles.get(3)).nodeId,
        action: 'apply',
        attempt: 1,
        worker: api.anneal.annealer.workerId,
        status: 'succeeded',
        startedAt: NOW,
        endedAt: NOW,
        exitCode: null,
        stdoutTail: '',
        stderrTail: '',
        command: null,
        inputs: { attribs: { 'test/delay-ms': 0 } },
        error: null,
      };
      expect(runs.status).to.equal(200);
      expect(runs.body).to.deep.equal({ items: [run], offset: 0, limit: 100 });
      expect(await api.get(`/runs/${runId}`))
        .to.include({ status: 200 })
        .and.have.deep.property('body', run);
    });

    it('answers 404 ERR_RUN_NOT_FOUND for an unknown run', async () => {
      const res = await api.get('/runs/12345');
      expect(res.status).to.equal(404);
      expect(res.body).to.deep.equal({
        error: { code: 'ERR_RUN_NOT_FOUND', message: 'run 12345 not found', details: { ref: 12345 } },
      });
    });

    it('answers 409 ERR_STATE_INVALID when retrying an active node-role', async () => {
      await bindAndAnneal('test-workload');
      const res = await api.post('/node-roles/7/retry');
      expect(res.status).to.equal(409);
      expect(res.body).to.deep.equal({
        error: {
          code: 'ERR_STATE_INVALID',
          message:
            'node-role 7 (test-workload on n1.lab) is active, not error or remove-error: only failed node-roles can be retried',
        },
      });
    });

    it('retries a failed node-role: error → todo with 202', async () => {
      await bindAndAnneal('test-script');
      const failed = nodeRole(2, 'test-script', 1, 'error', {
        attempts: 1,
        lastError: { code: 'ERR_COMMAND_FAILED', kind: 'user', message: 'test-script.sh.hbs exited 1 on n1.lab' },
      });
      expect((await api.get('/node-roles/2')).body).to.deep.equal(failed);
      const res = await api.post('/node-roles/2/retry');
      expect(res.status).to.equal(202);
      expect(res.body).to.deep.equal(nodeRole(2, 'test-script', 1, 'todo'));
    });
  });
}
