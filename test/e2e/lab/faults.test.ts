/**
 * Acceptance (lab issue, fault injection): while 5 lab nodes converge an ssh-jig role, one node's sshd
 * is stopped (case A) or its link is cut (case B). That node-role ends in `error` after a bounded
 * number of attempts, with one line naming the node, the role and the cause; the other 4 reach active
 * with their marker really on the node; after `lab heal` and `retry` the fifth converges; converging
 * again runs nothing.
 *
 * The fault lands while the deployment converges: every node first runs `test-discover` (a noop that
 * sleeps `test/delay-ms`), and the fault is injected while node 5 is in it, so node 5's first ssh
 * connection meets the fault while the other nodes run their ssh role.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import {
  labDown,
  labFault,
  labHeal,
  labNodeCredentials,
  labUp,
  type LabFault,
  type LabStatus,
} from '../../../core/lab';
import { silentLogger } from '../../../core/log';
import { boot, type Anneal } from '../../../core/boot';
import { loadConfig } from '../../../core/config';
import type { NodeRoleRecord } from '../../../core/domain/records';
import testBarclamp from '../../fixtures/barclamps/test/manifest';
import { freshDatabase, type TestDatabase } from '../../helpers/engines';
import { requireLab, ssh } from '../../helpers/lab-e2e';

/** The annealer's retry policy and ssh connect timeout for this test, set through the product's config. */
const RETRY = { ANNEAL_RETRY_MAX_ATTEMPTS: '3', ANNEAL_RETRY_BASE_MS: '200', ANNEAL_RETRY_MAX_MS: '1000' };
const CONNECT_TIMEOUT_MS = 3000;
const MAX_ATTEMPTS = 3;
/** How long node-roles sleep in test-discover before their ssh role runs: the window for the fault. */
const DISCOVER_MS = 1500;

async function until(what: string, cond: () => Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('e2e: fault injection while 5 lab nodes converge an ssh role', function () {
  this.timeout(180_000);
  const name = `f${randomBytes(2).toString('hex')}`;
  let lab: LabStatus;
  let key: string;

  before(async function () {
    requireLab(this);
    lab = await labUp({ name, nodes: 5, annealUrl: null, log: silentLogger });
    key = (await labNodeCredentials({ name, node: 1 })).ssh.privateKeyPath;
  });

  after(async () => {
    if (lab) await labDown({ name });
  });

  const cases: Array<{ fault: LabFault; cause: RegExp; boundMs: number }> = [
    // Refused at once: the bound is the backoff (≤ 200 + 400 ms) plus three quick connects.
    { fault: 'sshd-down', cause: /ssh to 10\.231\.0\.15:22 refused the connection \(ECONNREFUSED\)/, boundMs: 5_000 },
    // No answer: each attempt ends at the connect timeout at the latest (or earlier with no route).
    {
      fault: 'link-down',
      cause: /ssh to 10\.231\.0\.15:22 (got no answer within 3000 ms|found no route to the node \(EHOSTUNREACH\))/,
      boundMs: MAX_ATTEMPTS * CONNECT_TIMEOUT_MS + 600 + 3_000,
    },
  ];

  for (const c of cases) {
    describe(`case ${c.fault}`, () => {
      let anneal: Anneal;
      let db: TestDatabase;
      const deployment = `faults-${c.fault}`;
      const marker = `${c.fault}-${randomBytes(3).toString('hex')}`;

      before(async () => {
        db = await freshDatabase('sqlite');
        anneal = await boot(
          {
            ...loadConfig({ ...RETRY, ANNEAL_SSH_CONNECT_TIMEOUT_MS: String(CONNECT_TIMEOUT_MS) }),
            database: db.target,
            ssh: { keyFile: key, user: 'root' },
          },
          // Only the fixture: the test does not depend on the shipped barclamps.
          { plugins: [testBarclamp], log: silentLogger },
        );
      });

      after(async () => {
        await anneal?.close();
        await db?.drop();
        await labHeal({ name }).catch(() => undefined);
      });

      it(`ends node 5 in error after ${MAX_ATTEMPTS} bounded attempts naming node, role and cause; the other 4 converge; heal + retry converges it; a second converge runs nothing`, async () => {
        const { services, store, annealer } = anneal;
        const d = await services.inventory.createDeployment({ name: deployment }, 'test');
        await services.changes.setAttrib('deployment', d.id, 'test/delay-ms', DISCOVER_MS, 'test');
        await services.changes.setAttrib('deployment', d.id, 'test/marker', marker, 'test');
        for (const n of lab.nodes) {
          const node = await services.inventory.createNode(
            { name: n.name, address: n.ip, macs: n.macs, alive: true, deployment },
            'test',
          );
          await services.binding.bind(d.id, 'test-remote', node.id);
        }
        const list = () => store.nodeRoles.list({ deploymentId: d.id });
        const remoteOf = (nrs: NodeRoleRecord[], node: string) =>
          nrs.find((nr) => nr.node === node && nr.role === 'test-remote')!;
        const n5 = lab.nodes[4]!;

        await services.changes.commitDeployment(deployment, 'test');
        annealer.start();
        await until(
          'node 5 in test-discover',
          async () =>
            (await list()).some(
              (nr) => nr.node === n5.name && nr.role === 'test-discover' && nr.state === 'transition',
            ),
          10_000,
        );
        const faultAt = Date.now();
        const faulted = await labFault({ name, node: 5, fault: c.fault });
        expect(faulted.faults).to.include(c.fault);
        // The fault landed before node 5's first ssh attempt, while the deployment converges.
        const atFault = await list();
        expect(await store.runs.list({ nodeRoleId: remoteOf(atFault, n5.name).id })).to.have.length(0);
        expect(atFault.filter((nr) => nr.role === 'test-remote' && nr.state === 'active')).to.have.length.below(4);

        await annealer.settle({ timeoutMs: 60_000 });
        const settledAt = Date.now();
        const nrs = await list();

        // Node 5: error after exactly MAX_ATTEMPTS operational failures, within the bound.
        const bad = remoteOf(nrs, n5.name);
        expect(bad.state).to.equal('error');
        expect(bad.attempts).to.equal(MAX_ATTEMPTS);
        expect(bad.lastError).to.include({ code: 'ERR_REMOTE_UNREACHABLE', kind: 'operational' });
        const line = bad.lastError!.message;
        expect(line.startsWith(`${n5.name}: test-remote: `), line).to.equal(true);
        expect(line).to.match(c.cause);
        expect(line)
          .to.include(`after ${MAX_ATTEMPTS} attempts — `)
          .and.to.match(/, then retry$/);
        expect(line).not.to.include('\n');
        const runs = await store.runs.list({ nodeRoleId: bad.id });
        expect(runs.map((r) => r.attempt)).to.deep.equal([1, 2, 3]);
        for (const r of runs) {
          expect(r.status).to.equal('failed');
          expect(r.error).to.include({ code: 'ERR_REMOTE_UNREACHABLE', kind: 'operational' });
          expect(r.error!.message).to.include(n5.name).and.to.include('test-remote').and.to.match(c.cause);
        }
        expect(runs[0]!.error!.message).to.match(/\(attempt 1 of 3; next in \d+\.\d s\)$/);
        expect(runs[2]!.error!.message).to.equal(line);
        const elapsed = runs[2]!.endedAt! - runs[0]!.startedAt;
        // Bounded, and the retries really waited for their backoff (≥ 100 + 200 ms).
        expect(elapsed).to.be.within(300, c.boundMs);
        expect(settledAt - faultAt).to.be.below(c.boundMs + DISCOVER_MS + 2_000);
        console.log(
          `      ${c.fault}: ${runs.length} attempts in ${elapsed} ms (first start → last end); ` +
            `fault → settled ${settledAt - faultAt} ms\n      ${line}`,
        );

        // The other 4: active, one successful run each, marker really on the node.
        const mtimes = new Map<string, string>();
        for (const n of lab.nodes.slice(0, 4)) {
          const nr = remoteOf(nrs, n.name);
          expect(nr.state, n.name).to.equal('active');
          const good = await store.runs.list({ nodeRoleId: nr.id });
          expect(good.map((r) => r.status)).to.deep.equal(['succeeded']);
          expect(good[0]!.stdoutTail).to.equal(`changed: /root/anneal-test.marker on ${n.name}\n`);
          expect(ssh(key, n.ip, 'cat /root/anneal-test.marker').stdout).to.equal(marker);
          mtimes.set(n.name, ssh(key, n.ip, 'stat -c %Y.%y /root/anneal-test.marker').stdout);
        }
        // Everything above node 5's failed role is untouched; its discover ran before the fault.
        expect(nrs.find((nr) => nr.node === n5.name && nr.role === 'test-discover')!.state).to.equal('active');

        // Heal the node, retry through the same service as POST /node-roles/:id/retry.
        await labHeal({ name, node: 5 });
        const retried = await services.changes.retry(bad.id, 'test');
        expect(retried).to.include({ attempts: 0, lastError: null });
        await annealer.settle({ timeoutMs: 60_000 });
        const healed = await store.nodeRoles.get(bad.id);
        expect(healed).to.include({ state: 'active', attempts: 0, lastError: null });
        const after = await store.runs.list({ nodeRoleId: bad.id });
        expect(after.map((r) => r.status)).to.deep.equal(['failed', 'failed', 'failed', 'succeeded']);
        expect(ssh(key, n5.ip, 'cat /root/anneal-test.marker').stdout).to.equal(marker);
        mtimes.set(n5.name, ssh(key, n5.ip, 'stat -c %Y.%y /root/anneal-test.marker').stdout);

        // Converging again changes nothing: no node-role runs, no marker is rewritten.
        const runCount = async () => {
          let total = 0;
          for (const nr of await list()) total += (await store.runs.list({ nodeRoleId: nr.id })).length;
          return total;
        };
        const before = await runCount();
        await services.changes.commitDeployment(deployment, 'test');
        await annealer.settle({ timeoutMs: 60_000 });
        expect(await runCount()).to.equal(before);
        expect((await list()).map((nr) => nr.state)).to.deep.equal((await list()).map(() => 'active'));
        for (const n of lab.nodes) {
          expect(ssh(key, n.ip, 'stat -c %Y.%y /root/anneal-test.marker').stdout, n.name).to.equal(mtimes.get(n.name));
        }
      });
    });
  }
});
