import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AppError } from '../../../core/errors';
import type { NodeRoleRecord } from '../../../core/domain/records';
import { startTestAnneal, type TestAnneal } from '../../helpers/anneal';
import { engines, requireEngine } from '../../helpers/engines';
import { bindClusterDeployment, runCounts, type ClusterDeployment } from '../../helpers/graph';

const SETTLE = { timeoutMs: 30_000 };

for (const engine of engines) {
  describe(`[${engine}] annealer/converge`, function () {
    this.timeout(60_000);

    before(async function () {
      await requireEngine(this, engine);
    });

    describe('a four-node cluster deployment', () => {
      let anneal: TestAnneal;
      let dep: ClusterDeployment;
      let nodeRoles: NodeRoleRecord[];

      before(async () => {
        anneal = await startTestAnneal(engine);
        dep = await bindClusterDeployment(anneal, 'd1', 4);
        await anneal.services.changes.commitDeployment(dep.deploymentId, 'test');
        anneal.annealer.start();
        await anneal.annealer.settle(SETTLE);
        nodeRoles = await anneal.store.nodeRoles.list({ deploymentId: dep.deploymentId });
      });
      after(async () => {
        await anneal?.dispose();
      });

      it('binds six node-roles on each node plus test-service on the service node', () => {
        expect(nodeRoles).to.have.length(4 * 6 + 1);
        for (const nodeId of dep.nodeIds) {
          expect(
            nodeRoles
              .filter((nr) => nr.nodeId === nodeId)
              .map((nr) => nr.role)
              .sort(),
          ).to.deep.equal(['test-cluster', 'test-discover', 'test-hardware', 'test-os', 'test-ready', 'test-workload']);
        }
        const service = nodeRoles.filter((nr) => nr.role === 'test-service');
        expect(service).to.have.length(1);
        expect(service[0]!.nodeId).to.equal(dep.serviceNodeId);
        expect(nodeRoles.filter((nr) => nr.nodeId === dep.serviceNodeId).map((nr) => nr.role)).to.deep.equal([
          'test-service',
        ]);
      });

      it('walks every node-role to active', () => {
        const notActive = nodeRoles
          .filter((nr) => nr.state !== 'active')
          .map((nr) => `${nr.role}@${nr.node}=${nr.state}`);
        expect(notActive).to.deep.equal([]);
        for (const nr of nodeRoles) {
          expect(nr.observedGeneration, `${nr.role}@${nr.node}`).to.equal(nr.generation);
          expect(nr.attempts).to.equal(0);
          expect(nr.runCount).to.equal(1);
          expect(nr.leaseOwner).to.equal(null);
          expect(nr.lastError).to.equal(null);
        }
      });

      it('records exactly one run per node-role, all succeeded and closed', async () => {
        const runs = await anneal.store.runs.list({}, { offset: 0, limit: 10_000 });
        expect(runs.map((r) => r.nodeRoleId).sort((a, b) => a - b)).to.deep.equal(
          nodeRoles.map((nr) => nr.id).sort((a, b) => a - b),
        );
        for (const r of runs) {
          expect(r.status, `run ${r.id}`).to.equal('succeeded');
          expect(r.attempt).to.equal(1);
          expect(r.worker).to.equal(anneal.annealer.workerId);
          expect(r.endedAt).to.be.a('number');
          expect(r.endedAt!).to.be.at.least(r.startedAt);
          expect(r.error).to.equal(null);
        }
      });

      it('gives every child a higher cohort than each of its parents, and runs parents first', async () => {
        const byId = new Map(nodeRoles.map((nr) => [nr.id, nr]));
        const edges = await anneal.store.nodeRoles.childrenOf(nodeRoles.map((nr) => nr.id));
        expect(edges.length).to.be.greaterThan(0);
        const runs = new Map(
          (await anneal.store.runs.list({}, { offset: 0, limit: 10_000 })).map((r) => [r.nodeRoleId, r]),
        );
        for (const e of edges) {
          const parent = byId.get(e.parentId)!;
          const child = byId.get(e.childId)!;
          expect(child.cohort, `${parent.role}@${parent.node} → ${child.role}@${child.node}`).to.be.greaterThan(
            parent.cohort,
          );
          expect(
            runs.get(e.childId)!.startedAt,
            `${child.role}@${child.node} started after ${parent.role}@${parent.node} ended`,
          ).to.be.at.least(runs.get(e.parentId)!.endedAt!);
        }
        // The cluster barrier: every workload waits for every cluster member.
        const members = nodeRoles.filter((nr) => nr.role === 'test-cluster').map((nr) => nr.id);
        for (const w of nodeRoles.filter((nr) => nr.role === 'test-workload')) {
          expect(
            edges
              .filter((e) => e.childId === w.id)
              .map((e) => e.parentId)
              .sort(),
          ).to.deep.equal([...members].sort());
        }
      });

      it('changes nothing on a second converge: no new runs, same generations', async () => {
        const before = await runCounts(anneal.store);
        await anneal.services.changes.commitDeployment(dep.deploymentId, 'test');
        await anneal.annealer.settle(SETTLE);
        expect(await runCounts(anneal.store)).to.deep.equal(before);
        const again = await anneal.store.nodeRoles.list({ deploymentId: dep.deploymentId });
        expect(again.map((nr) => [nr.id, nr.state, nr.generation, nr.runCount])).to.deep.equal(
          nodeRoles.map((nr) => [nr.id, nr.state, nr.generation, nr.runCount]),
        );
      });
    });

    describe('test-script (local jig) writing its marker file', () => {
      let anneal: TestAnneal;
      let out: string;
      // Quotes, spaces and a dollar sign: the template must pass the value through verbatim.
      const marker = `it's "quoted" $HOME & spaced`;

      before(async () => {
        out = mkdtempSync(path.join(tmpdir(), 'anneal-marker-'));
        anneal = await startTestAnneal(engine, { localEnv: { PATH: process.env.PATH, ANNEAL_TEST_OUT: out } });
      });
      after(async () => {
        await anneal?.dispose();
        rmSync(out, { recursive: true, force: true });
      });

      it('writes the attrib value, and a second run rewrites the same content', async () => {
        const { inventory, binding, changes } = anneal.services;
        const d = await inventory.createDeployment({ name: 'd1' }, 'test');
        const n = await inventory.createNode({ name: 'n1.lab', deployment: d.id, alive: true }, 'test');
        await changes.setAttrib('deployment', d.id, 'test/marker', marker, 'test');
        const { nodeRoleId } = await binding.bind(d.id, 'test-script', n.id);
        await changes.commitDeployment(d.id, 'test');
        anneal.annealer.start();
        await anneal.annealer.settle(SETTLE);

        const file = path.join(out, 'n1.lab.marker');
        expect(readFileSync(file, 'utf8')).to.equal(`${marker}\n`);
        expect((await anneal.store.nodeRoles.get(nodeRoleId)).state).to.equal('active');
        const firstRuns = await anneal.store.runs.list({ nodeRoleId });
        expect(firstRuns).to.have.length(1);
        const first = firstRuns[0]!;
        expect(first).to.include({ status: 'succeeded', exitCode: 0 });
        const generation = (await anneal.store.nodeRoles.get(nodeRoleId)).generation;
        expect(first.inputs).to.deep.equal({ attribs: { 'test/marker': marker } });

        // Same resolved value, set again at node scope: a committed change, so the node-role re-runs.
        writeFileSync(file, 'clobbered\n');
        await changes.setAttrib('node', n.id, 'test/marker', marker, 'test');
        await changes.commitDeployment(d.id, 'test');
        await anneal.annealer.settle(SETTLE);

        const runs = await anneal.store.runs.list({ nodeRoleId });
        expect(runs.map((r) => r.status)).to.deep.equal(['succeeded', 'succeeded']);
        expect(runs[1]!.inputs).to.deep.equal({ attribs: { 'test/marker': marker } });
        expect(readFileSync(file, 'utf8')).to.equal(`${marker}\n`);
        const nr = await anneal.store.nodeRoles.get(nodeRoleId);
        expect(nr).to.include({
          state: 'active',
          generation: generation + 1,
          observedGeneration: generation + 1,
          runCount: 2,
        });
      });
    });

    describe('a script that fails terminally', () => {
      let anneal: TestAnneal;
      let dir: string;
      let blocker: string;
      let outDir: string;
      let nodeRoleId: number;
      let discoverId: number;

      before(async () => {
        dir = mkdtempSync(path.join(tmpdir(), 'anneal-fail-'));
        blocker = path.join(dir, 'a-regular-file');
        writeFileSync(blocker, 'not a directory\n');
        // mkdir -p cannot create a directory under a regular file: the script exits non-zero.
        outDir = path.join(blocker, 'out');
        anneal = await startTestAnneal(engine, { localEnv: { PATH: process.env.PATH, ANNEAL_TEST_OUT: outDir } });
        const { inventory, binding, changes } = anneal.services;
        const d = await inventory.createDeployment({ name: 'd1' }, 'test');
        const n = await inventory.createNode({ name: 'n1.lab', deployment: d.id, alive: true }, 'test');
        nodeRoleId = (await binding.bind(d.id, 'test-script', n.id)).nodeRoleId;
        discoverId = (await anneal.store.nodeRoles.list({ nodeId: n.id })).find(
          (nr) => nr.role === 'test-discover',
        )!.id;
        await changes.commitDeployment(d.id, 'test');
        anneal.annealer.start();
        await anneal.annealer.settle(SETTLE);
      });
      after(async () => {
        await anneal?.dispose();
        rmSync(dir, { recursive: true, force: true });
      });

      it('puts the node-role in error at once: one failed run with exit code and stderr', async () => {
        const nr = await anneal.store.nodeRoles.get(nodeRoleId);
        expect(nr.state).to.equal('error');
        expect(nr.attempts).to.equal(1);
        expect(nr.leaseOwner).to.equal(null);
        expect(nr.lastError).to.include({ code: 'ERR_COMMAND_FAILED', kind: 'user' });
        expect(nr.lastError!.message).to.include('n1.lab');

        const runs = await anneal.store.runs.list({ nodeRoleId });
        expect(runs).to.have.length(1);
        const run = runs[0]!;
        expect(run.status).to.equal('failed');
        expect(run.exitCode).to.be.a('number');
        expect(run.exitCode).to.not.equal(0);
        // GNU mkdir -p names the component it could not create: the regular file.
        expect(run.stderrTail).to.include(blocker);
        expect(run.stderrTail).to.match(/Not a directory/);
        expect(run.endedAt).to.be.a('number');
        expect(run.error).to.include({ code: 'ERR_COMMAND_FAILED' });
        expect(run.error!.message).to.include('n1.lab');

        // Its parent ran fine, and the failure is in the audit log.
        expect((await anneal.store.nodeRoles.get(discoverId)).state).to.equal('active');
        const events = await anneal.store.events.list({ type: 'node-role.error', objectId: nodeRoleId });
        expect(events).to.have.length(1);
        expect(events[0]!.data).to.deep.include({ runId: run.id });
      });

      it('retry puts it back to todo; it runs again and fails again', async () => {
        const retried = await anneal.services.changes.retry(nodeRoleId, 'test');
        expect(retried).to.include({ state: 'todo', attempts: 0, lastError: null });
        await anneal.annealer.settle(SETTLE);

        const nr = await anneal.store.nodeRoles.get(nodeRoleId);
        expect(nr.state).to.equal('error');
        expect(nr.attempts).to.equal(1);
        expect(nr.lastError).to.include({ code: 'ERR_COMMAND_FAILED' });
        const runs = await anneal.store.runs.list({ nodeRoleId });
        expect(runs.map((r) => r.status)).to.deep.equal(['failed', 'failed']);
        expect(runs.map((r) => r.attempt)).to.deep.equal([1, 2]);
        expect(runs[1]!.startedAt).to.be.at.least(runs[0]!.endedAt!);
        expect(await anneal.store.events.list({ type: 'node-role.retry', objectId: nodeRoleId })).to.have.length(1);
      });

      it('refuses to retry an active node-role with ERR_STATE_INVALID and changes nothing', async () => {
        const before = await runCounts(anneal.store);
        let caught: unknown;
        try {
          await anneal.services.changes.retry(discoverId, 'test');
        } catch (err) {
          caught = err;
        }
        expect(caught).to.be.instanceOf(AppError);
        expect((caught as AppError).code).to.equal('ERR_STATE_INVALID');
        expect((caught as AppError).message).to.include('active');
        await anneal.annealer.settle(SETTLE);
        expect((await anneal.store.nodeRoles.get(discoverId)).state).to.equal('active');
        expect(await runCounts(anneal.store)).to.deep.equal(before);
      });
    });
  });
}
