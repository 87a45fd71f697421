/**
 * Crash recovery of a teardown with the real server: a child deployment `tenant` of 241 node-roles (40
 * nodes × the test graph's six roles, plus test-service on its service node) is built and converged
 * through the REST API, deleted (`DELETE /api/v2/deployments/tenant`), and the server is SIGKILLed once
 * some removes are done but not all. A second server on the same database finishes the teardown. Checked
 * from the run records: every node-role was removed exactly once, no two removes of a node-role (or of a
 * node) ran at overlapping times, children were removed before their parents, the crash really cut
 * removes short (`lost`), and nothing of the tenant is left.
 */
import { expect } from 'chai';
import type { RunRecord } from '../../../core/domain/records';
import type { Store } from '../../../core/store';
import { engines, freshDatabase, requireEngine, type TestDatabase } from '../../helpers/engines';
import { apiCaller, overlaps, spawnServer, waitFor, type ServerChild, watchStore } from '../../helpers/server';

const NODES = 40;
/** test-discover, -hardware, -os, -ready, -cluster and -workload on each node, test-service on the service node. */
const NODE_ROLES = NODES * 6 + 1;
/**
 * Longer than the second server takes to boot (a few seconds), so it is usually up while the dead
 * server's leases still run: its annealer then sees those removals come due before crash recovery has
 * closed their runs (the case that once let a removal be taken over with its dead run left open). When
 * the boot is slower, recovery runs first: both orders must work.
 */
const LEASE_MS = 8_000;
/** How long each apply and each remove (but test-discover's and test-service's) sleeps. */
const DELAY_MS = 40;

for (const engine of engines) {
  describe(`[${engine}] annealer/teardown crash (child processes)`, function () {
    this.timeout(120_000);
    let db: TestDatabase | undefined;
    let store: Store | undefined;
    const children: ServerChild[] = [];

    before(async function () {
      await requireEngine(this, engine);
    });
    after(async () => {
      for (const c of children) await c.crash().catch(() => undefined);
      await store?.close().catch(() => undefined);
      await db?.drop().catch(() => undefined);
    });

    it('a teardown cut short by SIGKILL is finished by the next server: each remove once, never two at once', async () => {
      db = await freshDatabase(engine);
      const env = { ANNEAL_LEASE_MS: String(LEASE_MS), ANNEAL_MAX_CONCURRENT: '16' };
      const t0 = Date.now();
      const trace = (msg: string) =>
        process.env.ANNEAL_TEST_TRACE && console.log(`      +${Date.now() - t0} ms ${msg}`);

      const first = await spawnServer('first', db.target, env);
      children.push(first);
      await first.ready();
      trace('first server listening');
      let api = apiCaller(`http://127.0.0.1:${first.port}`);
      const call = async (method: string, route: string, body?: unknown, status = [200, 201]) => {
        const res = await api(method, route, body);
        expect(status, `${method} ${route}: ${res.status} ${res.text}`).to.include(res.status);
        return res.body as Record<string, unknown>;
      };

      // Build the tenant through the API: nodes created in it, the cluster on each, then its workload.
      await call('POST', '/deployments', { name: 'tenant' });
      await call('PUT', '/deployments/tenant/attribs/test/delay-ms', { value: DELAY_MS });
      const nodeNames = Array.from({ length: NODES }, (_, i) => `tenant-n${String(i + 1).padStart(3, '0')}.lab`);
      for (let i = 0; i < NODES; i += 8)
        await Promise.all(
          nodeNames.slice(i, i + 8).map((name) => call('POST', '/nodes', { name, deployment: 'tenant', alive: true })),
        );
      for (const role of ['test-cluster', 'test-workload'])
        for (const node of nodeNames) await call('POST', '/deployments/tenant/bind', { role, node });
      await call('POST', '/deployments/tenant/commit');
      trace('tenant built and committed');
      const tenant = () =>
        call('GET', '/deployments/tenant') as Promise<{ id: number; nodeRoles: Record<string, number> }>;
      await waitFor(async () => ((await tenant()).nodeRoles.active === NODE_ROLES ? true : undefined), {
        timeoutMs: 60_000,
        intervalMs: 100,
        describe: async () => `node-roles ${JSON.stringify((await tenant()).nodeRoles)}; output:\n${first.output()}`,
      });
      trace('tenant converged');

      // What the teardown is judged against: the node-roles and their edges before the delete.
      store = await watchStore(db.target);
      let s = store;
      const tenantId = (await tenant()).id;
      const system = await s.deployments.get('system');
      const before = await s.nodeRoles.list({ deploymentId: tenantId });
      expect(before).to.have.length(NODE_ROLES);
      const ids = before.map((nr) => nr.id).sort((a, b) => a - b);
      const label = new Map(before.map((nr) => [nr.id, `${nr.role}@${nr.node} (id ${nr.id})`]));
      const edges = await s.nodeRoles.childrenOf(ids);
      expect(edges.length, 'edges of the tenant graph').to.be.greaterThan(NODE_ROLES);
      const applyRuns = (await s.runs.list({}, { offset: 0, limit: 100_000 })).length;

      const deleting = await call('DELETE', '/deployments/tenant', undefined, [202]);
      expect(deleting).to.deep.include({ deleted: [], rerun: [] });
      expect((deleting.deployment as { state: string }).state).to.equal('deleting');
      expect([...(deleting.removing as number[])].sort((a, b) => a - b)).to.deep.equal(ids);
      const deletedAt = Date.now();
      trace('DELETE answered 202');

      // Kill the first server once at least 40% of the node-roles are gone while several removes are in flight.
      const remaining = () => s.nodeRoles.count({ deploymentId: tenantId });
      const running = async () => (await s.runs.list({ status: 'running' })).length;
      const atKill = await waitFor(
        async () => {
          if (first.hasExited()) throw new Error(`first server exited on its own:\n${first.output()}`);
          const left = await remaining();
          const inFlight = await running();
          return left <= 0.6 * NODE_ROLES && inFlight >= 4 ? { left, inFlight } : undefined;
        },
        {
          timeoutMs: 60_000,
          intervalMs: 10,
          describe: async () => `${await remaining()} node-roles left; output:\n${first.output()}`,
        },
      );
      await first.crash();
      const killedAt = Date.now();
      const afterKill = { left: await remaining(), inFlight: await running() };
      trace(`first server killed ${killedAt - deletedAt} ms after the delete at ${JSON.stringify(atKill)}`);
      trace(`after the kill: ${JSON.stringify(afterKill)}`);
      expect(afterKill.left, 'not everything was removed when the first server died').to.be.greaterThan(0);
      expect(afterKill.inFlight, 'the crash left removes running').to.be.greaterThan(0);
      expect((await s.deployments.get(tenantId)).state).to.equal('deleting');
      await store.close();
      store = undefined;

      // Second server: recovers the expired leases and finishes the teardown.
      const second = await spawnServer('second', db.target, env);
      children.push(second);
      await second.ready();
      const secondUp = Date.now();
      trace(`second server listening, ${killedAt + LEASE_MS - secondUp} ms before the dead leases expire`);
      api = apiCaller(`http://127.0.0.1:${second.port}`);
      store = s = await watchStore(db.target);
      const gone = await waitFor(
        async () => {
          if (second.hasExited()) throw new Error(`second server exited on its own:\n${second.output()}`);
          const res = await api('GET', '/deployments/tenant');
          return res.status === 404 ? res : undefined;
        },
        {
          timeoutMs: 60_000,
          intervalMs: 50,
          describe: async () => `${await remaining()} node-roles left; output:\n${second.output()}`,
        },
      );
      trace('tenant gone');
      expect((gone.body as { error: { code: string } }).error.code).to.equal('ERR_DEPLOYMENT_NOT_FOUND');
      const stopped = await second.stop();
      trace('second server stopped');
      expect(stopped, `clean shutdown on SIGTERM; output:\n${second.output()}`).to.deep.equal({
        code: 0,
        signal: null,
      });

      // Nothing of the tenant is left; its nodes are back in system.
      expect(await s.deployments.find('tenant')).to.equal(null);
      expect(await s.nodes.find('tenant.service.anneal.internal')).to.equal(null);
      for (const name of nodeNames) expect((await s.nodes.get(name)).deploymentId, name).to.equal(system.id);
      const left = await s.nodeRoles.list({});
      expect(left.filter((nr) => label.has(nr.id)).map((nr) => label.get(nr.id))).to.deep.equal([]);
      expect(left.filter((nr) => nodeNames.includes(nr.node)).map((nr) => `${nr.role}@${nr.node}`)).to.deep.equal([]);
      expect(await s.deployments.list().then((ds) => ds.map((d) => d.name))).to.deep.equal(['system']);
      expect(await s.attribs.list('deployment', tenantId), 'its attrib values').to.deep.equal([]);

      const runs = await s.runs.list({}, { offset: 0, limit: 100_000 });
      expect(runs.slice(0, applyRuns).every((r) => r.action === 'apply')).to.equal(true);
      const removes = runs.filter((r) => r.action === 'remove');
      expect(runs.length - removes.length, 'no apply ran after the delete').to.equal(applyRuns);
      expect(
        removes.filter((r) => r.endedAt === null || r.status === 'running'),
        'no run is left open',
      ).to.deep.equal([]);
      const workers = [...new Set(removes.map((r) => r.worker))];
      expect(workers, 'removes came from exactly the two servers').to.have.length(2);

      // Never two removes of one node-role at once, nor two jobs on one node; a lost run ends when its
      // lease expired (the rule of crash.test.ts).
      const overlapping = overlaps(removes, (r) => r.nodeRoleId);
      expect(overlapping.slice(0, 5), `${overlapping.length} overlapping pairs`).to.deep.equal([]);
      const onNode = overlaps(removes, (r) => r.nodeId);
      expect(onNode.slice(0, 5), `${onNode.length} overlapping pairs on a node`).to.deep.equal([]);

      // The crash was real: removes of the first server were cut short and recovered as lost.
      const lost = removes.filter((r) => r.status === 'lost');
      expect(lost.length, 'lost removes').to.be.greaterThan(0);
      const firstWorker = lost[0]!.worker;
      for (const r of lost) {
        expect(r.worker, 'only the killed server lost runs').to.equal(firstWorker);
        expect(r.endedAt!, 'a lost run ends at its lease expiry').to.be.greaterThan(r.startedAt);
        expect(r.endedAt!, 'leases stop being extended when the worker dies').to.be.at.most(killedAt + LEASE_MS);
      }
      const secondRuns = removes.filter((r) => r.worker !== firstWorker);
      expect(secondRuns.length).to.be.greaterThan(0);
      expect(secondRuns.every((r) => r.status === 'succeeded')).to.equal(true);
      expect(removes.every((r) => r.status === 'succeeded' || r.status === 'lost')).to.equal(true);
      const recovered = await s.events.list({ type: 'node-roles.recovered' });
      const recoveredIds = new Set(recovered.flatMap((e) => e.data.nodeRoleIds as number[]));
      for (const r of lost)
        expect(recoveredIds.has(r.nodeRoleId), `${label.get(r.nodeRoleId)}: recovery was recorded`).to.equal(true);

      // Every node-role that existed was removed exactly once, and audited once.
      const succeeded = new Map<number, RunRecord>();
      for (const r of removes) {
        if (r.status !== 'succeeded') continue;
        expect(succeeded.has(r.nodeRoleId), `${label.get(r.nodeRoleId)} removed twice`).to.equal(false);
        succeeded.set(r.nodeRoleId, r);
      }
      expect([...succeeded.keys()].sort((a, b) => a - b)).to.deep.equal(ids);
      const removed = (await s.events.list({ type: 'node-role.removed' }, 100_000))
        .map((e) => e.objectId!)
        .sort((a, b) => a - b);
      expect(removed).to.deep.equal(ids);
      expect(await s.events.list({ type: 'deployment.deleted', objectId: tenantId })).to.have.length(1);

      // Children before parents: a parent's removes (lost ones too) start only once its child is removed.
      for (const e of edges) {
        const child = succeeded.get(e.childId)!;
        for (const parent of removes.filter((r) => r.nodeRoleId === e.parentId))
          expect(
            child.endedAt!,
            `${label.get(e.childId)} removed before its parent ${label.get(e.parentId)}`,
          ).to.be.at.most(parent.startedAt);
      }
      trace(`${removes.length} removes (${lost.length} lost), ${killedAt - deletedAt} ms before the kill`);
    });
  });
}
