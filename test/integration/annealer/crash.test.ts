/**
 * Crash recovery with the real server: SIGKILL a server in the middle of a converge, start another on
 * the same database, and check from the run records that the second finished the work without ever
 * running a node-role twice at the same time, and that the crash really cut runs short (`lost`).
 */
import { expect } from 'chai';
import type { Store } from '../../../core/store';
import { engines, freshDatabase, requireEngine, type TestDatabase } from '../../helpers/engines';
import { bindClusterDeployment } from '../../helpers/graph';
import { bootInProcess, overlaps, spawnServer, waitFor, type ServerChild, watchStore } from '../../helpers/server';

const NODES = 40;
const NODE_ROLES = NODES * 6 + 1;
const LEASE_MS = 2_000;

for (const engine of engines) {
  describe(`[${engine}] annealer/crash (child processes)`, function () {
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

    it('a SIGKILLed server’s work is finished by the next one, never two runs of a node-role at once', async () => {
      db = await freshDatabase(engine);
      const prep = await bootInProcess(db.target);
      try {
        const dep = await bindClusterDeployment(prep, 'crash', NODES);
        await prep.services.changes.setAttrib('deployment', dep.deploymentId, 'test/delay-ms', 30, 'test');
        await prep.services.changes.commitDeployment(dep.deploymentId, 'test');
      } finally {
        await prep.close();
      }

      // SQLite: nothing else may hold the file while a server boots (see watchStore), so the watching
      // store is opened only once each server listens, and closed before the next one starts.
      store = await watchStore(db.target);
      expect(await store.nodeRoles.count()).to.equal(NODE_ROLES);
      await store.close();
      store = undefined;
      const env = { ANNEAL_LEASE_MS: String(LEASE_MS), ANNEAL_MAX_CONCURRENT: '16' };
      const t0 = Date.now();
      const trace = (msg: string) =>
        process.env.ANNEAL_TEST_TRACE && console.log(`      +${Date.now() - t0} ms ${msg}`);

      // First server: kill it once at least 30% is active while runs are in flight.
      const first = await spawnServer('first', db.target, env);
      children.push(first);
      await first.ready();
      trace('first server listening');
      store = await watchStore(db.target);
      let s = store;
      const counts = () => s.nodeRoles.countByState();
      const atKill = await waitFor(
        async () => {
          if (first.hasExited()) throw new Error(`first server exited on its own:\n${first.output()}`);
          const c = await counts();
          return (c.active ?? 0) >= 0.3 * NODE_ROLES && (c.transition ?? 0) > 0 ? c : undefined;
        },
        {
          timeoutMs: 60_000,
          intervalMs: 10,
          describe: async () => `states ${JSON.stringify(await counts())}; output:\n${first.output()}`,
        },
      );
      await first.crash();
      const killedAt = Date.now();
      const afterKill = await counts();
      trace(`first server killed at ${JSON.stringify(atKill)}; after: ${JSON.stringify(afterKill)}`);
      expect(
        afterKill.active ?? 0,
        `not everything was done when the first server died (${JSON.stringify(atKill)})`,
      ).to.be.lessThan(NODE_ROLES);
      expect(afterKill.transition ?? 0, 'the crash left claimed node-roles behind').to.be.greaterThan(0);
      await store.close();
      store = undefined;

      // Second server: recovers the expired leases and finishes.
      const second = await spawnServer('second', db.target, env);
      children.push(second);
      await second.ready();
      trace('second server listening');
      store = s = await watchStore(db.target);
      await waitFor(
        async () => {
          if (second.hasExited()) throw new Error(`second server exited on its own:\n${second.output()}`);
          return (await counts()).active === NODE_ROLES ? true : undefined;
        },
        {
          timeoutMs: 90_000,
          intervalMs: 100,
          describe: async () => `states ${JSON.stringify(await counts())}; output:\n${second.output()}`,
        },
      );
      trace('second server converged');
      const stopped = await second.stop();
      trace('second server stopped');
      expect(stopped, `clean shutdown on SIGTERM; output:\n${second.output()}`).to.deep.equal({
        code: 0,
        signal: null,
      });

      const runs = await s.runs.intervals();
      const workers = [...new Set(runs.map((r) => r.worker))];
      expect(workers, 'runs came from exactly the two servers').to.have.length(2);
      const unfinished = runs.filter((r) => r.endedAt === null || r.status === 'running');
      expect(unfinished, 'no run is left open').to.deep.equal([]);

      // Never two runs of one node-role at once; a lost run ends when its lease expired.
      const overlapping = overlaps(runs, (r) => r.nodeRoleId);
      expect(overlapping.slice(0, 5), `${overlapping.length} overlapping pairs`).to.deep.equal([]);

      // The crash was real: runs of the first server were cut short and recovered as lost.
      const lost = runs.filter((r) => r.status === 'lost');
      expect(lost.length, 'lost runs').to.be.greaterThan(0);
      const firstWorker = lost[0]!.worker;
      for (const r of lost) {
        expect(r.worker, 'only the killed server lost runs').to.equal(firstWorker);
        expect(r.endedAt!, 'a lost run ends at its lease expiry').to.be.greaterThan(r.startedAt);
        expect(r.endedAt!, 'leases stop being extended when the worker dies').to.be.at.most(killedAt + LEASE_MS);
      }
      const secondRuns = runs.filter((r) => r.worker !== firstWorker);
      expect(secondRuns.length).to.be.greaterThan(0);
      expect(secondRuns.every((r) => r.status === 'succeeded')).to.equal(true);

      // Every node-role succeeded exactly once; every lost one was run again and succeeded.
      const succeeded = new Map<number, number>();
      for (const r of runs)
        if (r.status === 'succeeded') succeeded.set(r.nodeRoleId, (succeeded.get(r.nodeRoleId) ?? 0) + 1);
      expect(succeeded.size).to.equal(NODE_ROLES);
      expect([...succeeded.values()].every((n) => n === 1)).to.equal(true);
      expect(runs.every((r) => r.status === 'succeeded' || r.status === 'lost')).to.equal(true);

      const recovered = await s.events.list({ type: 'node-roles.recovered' });
      const recoveredIds = new Set(recovered.flatMap((e) => e.data.nodeRoleIds as number[]));
      for (const r of lost)
        expect(recoveredIds.has(r.nodeRoleId), `node-role ${r.nodeRoleId} recovery was recorded`).to.equal(true);
    });
  });
}
