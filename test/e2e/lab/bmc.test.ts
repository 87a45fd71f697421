/**
 * The `bmc-configure` role on a real 2-node lab, one node behind its ipmi_sim (driver ipmi) and one behind
 * the lab's Redfish emulator (driver redfish): missing settings fail at once with the fix; with credentials
 * it verifies them by reading the power state and records the BMC's driver and address; a second run
 * changes nothing; an unreachable BMC is retried (operational) and recovers; the check passes, then fails
 * with the remediation once the stored password is wrong.
 */
import { expect } from 'chai';
import { labFault, labHeal, labNodeCredentials, labStatus } from '../../../core/lab';
import { silentLogger } from '../../../core/log';
import { hardwareLab, requireLab, type HardwareLab } from '../../helpers/hardware-lab';

describe('e2e: the bmc-configure role on lab nodes (ipmi and redfish)', function () {
  this.timeout(300_000);
  let h: HardwareLab;

  before(async function () {
    requireLab(this);
    h = await hardwareLab('bmc');
    const d = await h.anneal.store.deployments.get('lab');
    for (const n of h.nodes) await h.anneal.services.binding.bind(d.id, 'bmc-configure', n.id);
  });

  after(async () => {
    await h?.close();
  });

  const attribsOf = (nodeId: number) => h.committedAttribs(nodeId);

  it('fails at once with ERR_POWER_NOT_CONFIGURED and the fix when the node has no BMC credentials', async () => {
    await h.converge();
    for (const nr of await h.nodeRoles('bmc-configure')) {
      expect(nr.state).to.equal('error');
      expect(nr.attempts).to.equal(1);
      expect(nr.lastError).to.deep.include({ code: 'ERR_POWER_NOT_CONFIGURED', kind: 'user' });
      expect(nr.lastError?.message).to.match(
        /has no BMC address, username, password: set them with PUT \/api\/v2\/nodes\/.*\/bmc/,
      );
    }
  });

  it('verifies the credentials, records driver, address and power state, for ipmi and redfish', async () => {
    await h.setBmc(1, 'ipmi');
    await h.setBmc(2, 'redfish');
    for (const nr of await h.nodeRoles('bmc-configure')) await h.anneal.services.changes.retry(nr.id, 'test');
    await h.converge();
    const status = await labStatus({ name: h.name, stateDir: h.stateDir });
    for (const [i, nr] of (await h.nodeRoles('bmc-configure')).entries()) {
      expect(nr.state, JSON.stringify(nr.lastError)).to.equal('active');
      const node = await h.anneal.store.nodes.get(nr.node);
      const ln = status.nodes[i]!;
      const address = i === 0 ? `127.0.0.1:${ln.bmc.port}` : `127.0.0.1:${ln.redfish!.port}`;
      const driver = i === 0 ? 'ipmi' : 'redfish';
      expect(await attribsOf(node.id)).to.deep.include({ 'bmc/driver': driver, 'bmc/address': address });
      expect(node.facts.bmc).to.deep.equal({
        driver,
        address,
        username: 'admin',
        credentialsVerified: true,
        powerState: ln.power,
      });
      expect(ln.power).to.equal('on');
      expect(node.powerState).to.equal('on');
      // The password is in no fact, attrib or run record.
      const { password } = (await labNodeCredentials({ name: h.name, stateDir: h.stateDir, node: i + 1 })).bmc;
      const runs = await h.anneal.store.runs.list({ nodeRoleId: nr.id });
      expect(JSON.stringify({ facts: node.facts, a: await attribsOf(node.id), runs })).to.not.include(password);
    }
  });

  it('a second run changes no attrib and no fact', async () => {
    const { store } = h.anneal;
    const before = await Promise.all(
      h.nodes.map(async (n) => ({ a: await attribsOf(n.id), f: (await store.nodes.get(n.id)).facts })),
    );
    const nrs = await h.nodeRoles('bmc-configure');
    await store.nodeRoles.bump(
      nrs.map((n) => n.id),
      Date.now(),
    );
    await h.converge();
    for (const [i, nr] of (await h.nodeRoles('bmc-configure')).entries()) {
      expect(nr.state).to.equal('active');
      const ok = (await store.runs.list({ nodeRoleId: nr.id })).filter((r) => r.status === 'succeeded');
      expect(ok).to.have.length(2);
      expect(await attribsOf(h.nodes[i]!.id)).to.deep.equal(before[i]!.a);
      expect((await store.nodes.get(h.nodes[i]!.id)).facts).to.deep.equal(before[i]!.f);
    }
  });

  it('an unreachable BMC is an operational error: retried, and the role recovers once the BMC answers', async () => {
    const { store } = h.anneal;
    const [nr] = await h.nodeRoles('bmc-configure');
    await labFault({ name: h.name, stateDir: h.stateDir, node: 1, fault: 'bmc-down', log: silentLogger });
    await store.nodeRoles.bump([nr!.id], Date.now());
    await h.anneal.services.changes.commitDeployment('lab', 'test');
    h.anneal.annealer.wake();
    let failed: { code: string; kind: string } | undefined;
    for (let i = 0; i < 200 && !failed; i++) {
      const runs = await store.runs.list({ nodeRoleId: nr!.id });
      const f = runs.find((r) => r.status === 'failed' && r.error?.code !== 'ERR_POWER_NOT_CONFIGURED');
      if (f) failed = f.error as { code: string; kind: string };
      else await new Promise((r) => setTimeout(r, 200));
    }
    expect(failed).to.deep.include({ code: 'ERR_POWER_UNREACHABLE', kind: 'operational' });
    expect((await store.nodeRoles.get(nr!.id)).state).to.not.equal('error');
    await labHeal({ name: h.name, stateDir: h.stateDir, node: 1, log: silentLogger });
    await h.converge(180_000);
    expect((await store.nodeRoles.get(nr!.id)).state).to.equal('active');
  });

  it('the check passes, then fails with the remediation when the stored password is wrong', async () => {
    const { services } = h.anneal;
    const n2 = h.lab.nodes[1]!.name;
    const ok = await services.checks.forNode(n2);
    expect(ok, JSON.stringify(ok)).to.deep.include({ ok: true, failed: 0, passed: 2 });
    await h.setBmc(2, 'redfish', 'not-the-password');
    const bad = await services.checks.forNode(n2);
    const c = bad.checks.find((x) => x.name === 'BMC answers with the stored credentials')!;
    expect(c).to.include({ ok: false });
    expect(c.detail).to.match(/^ERR_POWER_AUTH: /);
    expect(c.remediation).to.equal(
      `check the BMC is reachable and set its credentials with PUT /api/v2/nodes/${n2}/bmc`,
    );
    await h.setBmc(2, 'redfish');
    expect((await services.checks.forNode(n2)).ok).to.equal(true);
  });
});
