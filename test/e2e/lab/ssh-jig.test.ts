import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { labDown, labNodeCredentials, labStatus, labUp, type LabStatus } from '../../../core/lab';
import { silentLogger } from '../../../core/log';
import { createIpmiDriver } from '../../../core/power/ipmi';
import type { BmcTarget } from '../../../core/power/driver';
import { boot, type Anneal } from '../../../core/boot';
import { loadConfig } from '../../../core/config';
import { freshDatabase, type TestDatabase } from '../../helpers/engines';
import type { RunRecord } from '../../../core/domain/records';
import { requireLab, ssh } from '../../helpers/lab-e2e';

/**
 * A failed attempt is acceptable only as an operational ssh error that the annealer retried (seen
 * rarely right after the lab starts); a script failure or anything terminal is not.
 */
function expectOnlyOperationalFailures(runs: RunRecord[]): void {
  for (const r of runs.filter((x) => x.status !== 'succeeded')) {
    console.warn(`    retried attempt ${r.attempt} of node-role ${r.nodeRoleId}: ${JSON.stringify(r.error)}`);
    expect(r.status).to.equal('failed');
    expect(r.error?.kind, JSON.stringify(r.error)).to.equal('operational');
    expect(r.error?.code).to.be.oneOf(['ERR_REMOTE_UNREACHABLE', 'ERR_REMOTE_TIMEOUT', 'ERR_SSH_AUTH']);
  }
}

describe('e2e: the ssh jig and the ipmi driver on lab nodes', function () {
  this.timeout(240_000);
  const name = `j${randomBytes(2).toString('hex')}`;
  let lab: LabStatus;
  let anneal: Anneal;
  let db: TestDatabase;
  let key: string;

  before(async function () {
    requireLab(this);
    lab = await labUp({ name, nodes: 3, annealUrl: null, log: silentLogger });
    key = (await labNodeCredentials({ name, node: 1 })).ssh.privateKeyPath;
    db = await freshDatabase('sqlite');
    anneal = await boot(
      { ...loadConfig({}), database: db.target, fixtures: ['test'], ssh: { keyFile: key, user: 'root' } },
      { log: silentLogger },
    );
    const { services } = anneal;
    const d = await services.inventory.createDeployment({ name: 'lab' }, 'test');
    for (const n of lab.nodes) {
      const node = await services.inventory.createNode(
        { name: n.name, address: n.ip, macs: n.macs, alive: true, deployment: 'lab' },
        'test',
      );
      await services.binding.bind(d.id, 'test-remote', node.id);
    }
  });

  after(async () => {
    await anneal?.close();
    await db?.drop();
    await labDown({ name });
  });

  it('runs the script on every node, records its host key, and a second run changes nothing', async () => {
    const { services, store, annealer } = anneal;
    await services.changes.commitDeployment('lab', 'test');
    annealer.start();
    await annealer.settle({ timeoutMs: 120_000 });
    const nrs = await store.nodeRoles.list({ deploymentId: (await store.deployments.get('lab')).id });
    expect(nrs.map((n) => n.state)).to.deep.equal(nrs.map(() => 'active'));

    const remote = nrs.filter((n) => n.role === 'test-remote');
    expect(remote).to.have.length(3);
    const mtimes: number[] = [];
    for (const nr of remote) {
      const ip = lab.nodes.find((n) => n.name === nr.node)!.ip;
      expect(ssh(key, ip, 'cat /root/anneal-test.marker').stdout).to.equal('initial');
      mtimes.push(Number(ssh(key, ip, 'stat -c %Y /root/anneal-test.marker').stdout.trim()));
      const runs = await store.runs.list({ nodeRoleId: nr.id });
      expectOnlyOperationalFailures(runs);
      const ok = runs.filter((r) => r.status === 'succeeded');
      expect(ok).to.have.length(1);
      // After a lost connection the script may already have run: the retry then finds nothing to change.
      const firstWrite = [`changed: /root/anneal-test.marker on ${nr.node}\n`];
      if (runs.length > 1) firstWrite.push('unchanged: /root/anneal-test.marker\n');
      expect(firstWrite).to.include(ok[0]!.stdoutTail);
      expect((await store.nodes.get(nr.node)).sshHostKey).to.match(/^SHA256:/);
    }
    // The file is on the node only: not on the host.
    expect(() => statSync('/root/anneal-test.marker')).to.throw();

    await store.nodeRoles.bump(
      remote.map((r) => r.id),
      Date.now(),
    );
    annealer.wake();
    await annealer.settle({ timeoutMs: 120_000 });
    for (const [i, nr] of remote.entries()) {
      const runs = await store.runs.list({ nodeRoleId: nr.id });
      expectOnlyOperationalFailures(runs);
      const ok = runs.filter((r) => r.status === 'succeeded');
      expect(ok).to.have.length(2);
      expect(ok[1]!.stdoutTail).to.equal('unchanged: /root/anneal-test.marker\n');
      const ip = lab.nodes.find((n) => n.name === nr.node)!.ip;
      expect(Number(ssh(key, ip, 'stat -c %Y /root/anneal-test.marker').stdout.trim())).to.equal(mtimes[i]);
    }
  });

  it("runs the role's ready check on the node: passes, then fails with the remediation once the file changes", async () => {
    const { services } = anneal;
    const n1 = lab.nodes[0]!;
    const ok = await services.checks.forNode(n1.name);
    expect(ok).to.deep.include({ node: n1.name, ok: true, passed: 1, failed: 0 });
    expect(ok.checks[0]).to.deep.include({ role: 'test-remote', name: 'marker file matches test/marker', ok: true });
    expect(ssh(key, n1.ip, 'echo tampered > /root/anneal-test.marker').status).to.equal(0);
    const bad = await services.checks.forNode(n1.name);
    expect(bad).to.deep.include({ ok: false, passed: 0, failed: 1 });
    expect(bad.checks[0]).to.deep.include({
      ok: false,
      detail: '/root/anneal-test.marker holds "tampered\\n"',
      remediation: 'retry the test-remote node-role (it rewrites the file)',
    });
  });

  it('powers a node off and on through its BMC with the ipmi driver', async () => {
    const creds = await labNodeCredentials({ name, node: 2 });
    const target: BmcTarget = {
      node: creds.node,
      host: creds.bmc.host,
      port: creds.bmc.port,
      username: creds.bmc.username,
      password: creds.bmc.password,
    };
    const ipmi = createIpmiDriver();
    const ip = lab.nodes[1]!.ip;
    expect(await ipmi.status(target)).to.equal('on');
    await ipmi.power(target, 'off');
    expect(await ipmi.status(target)).to.equal('off');
    expect(ssh(key, ip, 'true').status).to.not.equal(0);
    expect((await labStatus({ name })).nodes[1]!.power).to.equal('off');
    await ipmi.nextBoot(target, 'pxe');
    await ipmi.power(target, 'on');
    expect(await ipmi.status(target)).to.equal('on');
    let up = false;
    for (let i = 0; i < 40 && !up; i++) {
      up = ssh(key, ip, 'true').status === 0;
      if (!up) await new Promise((r) => setTimeout(r, 250));
    }
    expect(up, 'sshd answers again after power on').to.equal(true);
    // The password never appears on a command line (ipmitool reads it from the environment).
    expect(execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })).to.not.include(creds.bmc.password);
  });

  it('rejects wrong BMC credentials with ERR_POWER_AUTH', async () => {
    const creds = await labNodeCredentials({ name, node: 3 });
    const ipmi = createIpmiDriver({ retries: 0 });
    const err = await ipmi
      .status({
        node: creds.node,
        host: creds.bmc.host,
        port: creds.bmc.port,
        username: creds.bmc.username,
        password: 'wrong-password',
      })
      .catch((e: unknown) => e);
    expect(err).to.have.property('code', 'ERR_POWER_AUTH');
  });
});
