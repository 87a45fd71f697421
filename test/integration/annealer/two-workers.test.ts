/**
 * Two real servers on one PostgreSQL database share the work: claims are compare-and-set with
 * leases, so every node-role runs exactly once, and node leases keep one job per node at a time
 * across processes (DESIGN §3). PostgreSQL only: SQLite is a single-server engine.
 */
import { expect } from 'chai';
import { openStore, type Store } from '../../../core/store';
import { freshDatabase, requireEngine, type TestDatabase } from '../../helpers/engines';
import { bindClusterDeployment, blockedBehindActiveParents } from '../../helpers/graph';
import { bootInProcess, overlaps, spawnServer, waitFor, type ServerChild } from '../../helpers/server';

// 60 nodes (361 node-roles): enough work that the loser of the first claim races still gets a share.
const NODES = 60;
const NODE_ROLES = NODES * 6 + 1;

describe('[postgresql] annealer/two-workers (child processes)', function () {
  this.timeout(120_000);
  let db: TestDatabase | undefined;
  let store: Store | undefined;
  const children: ServerChild[] = [];

  before(async function () {
    await requireEngine(this, 'postgresql');
  });
  after(async () => {
    for (const c of children) await c.crash().catch(() => undefined);
    await store?.close().catch(() => undefined);
    await db?.drop().catch(() => undefined);
  });

  it('both servers run node-roles, each exactly once, one job per node at a time', async () => {
    const t0 = Date.now();
    const trace = (msg: string) => process.env.ANNEAL_TEST_TRACE && console.log(`      +${Date.now() - t0} ms ${msg}`);
    db = await freshDatabase('postgresql');
    const prep = await bootInProcess(db.target);
    let nodeIds: number[];
    try {
      // Committed with no server running, nodes not yet alive: nothing can run until they come alive.
      const dep = await bindClusterDeployment(prep, 'pair', NODES, { alive: false });
      nodeIds = dep.nodeIds;
      await prep.services.changes.setAttrib('deployment', dep.deploymentId, 'test/delay-ms', 20, 'test');
      await prep.services.changes.commitDeployment(dep.deploymentId, 'test');
    } finally {
      await prep.close();
    }
    trace('prepared');

    // Both servers are listening (annealers running) before the nodes come alive, so neither gets a
    // head start from booting faster. Two gates that would be simpler do not work today:
    // - booting both at the same moment: they race in the catalog sync (core/store/catalog.ts) and one
    //   exits with `Unique constraint failed on the constraint: RoleRequire_pkey`;
    // - committing the deployment while they run: node-roles claimed between the deployment becoming
    //   committed and the attrib re-run bump (core/services/changes.ts commitDeployment) run twice.
    const env = { ANNEAL_MAX_CONCURRENT: '8' };
    const servers: ServerChild[] = [];
    for (const name of ['worker-a', 'worker-b']) {
      const srv = await spawnServer(name, db.target, env);
      children.push(srv);
      servers.push(srv);
      await srv.ready();
    }
    expect(servers[0]!.port).to.not.equal(servers[1]!.port);
    trace('both servers listening');

    store = await openStore(db.target);
    const s = store;
    for (const id of nodeIds) await s.nodes.update(id, { alive: true }, Date.now());
    trace('nodes alive');
    const counts = () => s.nodeRoles.countByState();
    let quietSince: number | null = null;
    await waitFor(
      async () => {
        for (const srv of servers)
          if (srv.hasExited()) throw new Error(`${srv.name} exited on its own:\n${srv.output()}`);
        const c = await counts();
        if (c.active === NODE_ROLES) return true;
        // Nothing to run or running, yet not done: fail fast with what is stuck instead of timing out.
        if (!c.todo && !c.transition) {
          quietSince ??= Date.now();
          if (Date.now() - quietSince > 3_000) {
            const stuck = await blockedBehindActiveParents(s);
            throw new Error(
              `stalled at ${JSON.stringify(c)}; blocked behind all-active parents (${stuck.length}): ${stuck.slice(0, 5).join(', ')}`,
            );
          }
        } else quietSince = null;
        return undefined;
      },
      {
        timeoutMs: 90_000,
        intervalMs: 100,
        describe: async () =>
          `states ${JSON.stringify(await counts())}; output:\n${servers.map((x) => `${x.name}: ${x.output()}`).join('\n')}`,
      },
    );
    trace('converged');
    const stopped = await Promise.all(servers.map((srv) => srv.stop()));
    expect(
      stopped,
      `clean shutdowns; output:\n${servers.map((x) => `${x.name}: ${x.output()}`).join('\n')}`,
    ).to.deep.equal([
      { code: 0, signal: null },
      { code: 0, signal: null },
    ]);

    trace('stopped');
    const runs = await s.runs.intervals();
    // Each node-role ran exactly once, successfully: no claim was won twice.
    expect(runs).to.have.length(NODE_ROLES);
    expect(new Set(runs.map((r) => r.nodeRoleId)).size).to.equal(NODE_ROLES);
    expect(runs.every((r) => r.status === 'succeeded' && r.endedAt !== null)).to.equal(true);

    // Both did a real share of the work.
    const byWorker = new Map<string, number>();
    for (const r of runs) byWorker.set(r.worker, (byWorker.get(r.worker) ?? 0) + 1);
    trace(`runs per worker: ${JSON.stringify([...byWorker])}`);
    expect(byWorker.size, `workers: ${JSON.stringify([...byWorker])}`).to.equal(2);
    for (const [worker, n] of byWorker)
      expect(n, `runs of ${worker} (of ${runs.length})`).to.be.at.least(0.1 * runs.length);

    // No node-role and no node ever had two runs at once, across both processes.
    const nodeOf = new Map((await s.nodeRoles.list()).map((nr) => [nr.id, nr.nodeId]));
    const sameNodeRole = overlaps(runs, (r) => r.nodeRoleId);
    expect(sameNodeRole.slice(0, 5), `${sameNodeRole.length} overlapping pairs on a node-role`).to.deep.equal([]);
    const sameNode = overlaps(runs, (r) => nodeOf.get(r.nodeRoleId)!);
    expect(
      sameNode.slice(0, 5).map(([a, b]) => ({ node: nodeOf.get(a.nodeRoleId), a, b })),
      `${sameNode.length} overlapping pairs on a node`,
    ).to.deep.equal([]);
  });
});
