/**
 * The `os-install` role on real lab nodes: the annealer drives the network-boot install through each
 * node's BMC (install request, next boot pxe, power cycle, install-complete, boot from disk) across
 * several runs; anneal's own key stays authorized on the installed systems; a redeploy installs one node
 * again and leaves the other untouched.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Server } from 'node:http';
import { createApp } from '../../../core/api/app';
import { boot, type Anneal } from '../../../core/boot';
import { loadConfig } from '../../../core/config';
import { labDown, labNodeCredentials, labUp, type LabStatus } from '../../../core/lab';
import { silentLogger } from '../../../core/log';
import { freshDatabase, type TestDatabase } from '../../helpers/engines';
import { freePort, waitFor } from '../../helpers/server';
import { requireLab, ssh } from '../../helpers/lab-e2e';

describe('e2e: os-install and redeploy on lab nodes', function () {
  this.timeout(300_000);
  const name = `o${randomBytes(2).toString('hex')}`;
  const oses = ['rocky-9', 'debian-12'] as const;
  let lab: LabStatus;
  let anneal: Anneal;
  let db: TestDatabase;
  let key = '';
  const servers: Server[] = [];

  const installOf = (i: number) => anneal.services.provisioner.currentInstall(lab.nodes[i]!.name);
  const nodeRoleOf = async (i: number) => {
    const node = await anneal.store.nodes.get(lab.nodes[i]!.name);
    return (await anneal.store.nodeRoles.list({ nodeId: node.id })).find((nr) => nr.role === 'os-install')!;
  };

  /** Where each node's install stands, for a timeout message. */
  const explain = async () => {
    const lines = [];
    for (const [i, n] of lab.nodes.entries()) {
      const nr = await nodeRoleOf(i);
      const node = await anneal.store.nodes.get(n.name);
      const install = await installOf(i).catch(() => null);
      const runs = await anneal.store.runs.list({ nodeRoleId: nr.id });
      lines.push(
        `${n.name}: ${nr.state} alive=${node.alive} power=${node.powerState} install=${install?.state} runs=${runs
          .map((r) => `${r.status}:${r.stdoutTail || r.error}`)
          .join(' | ')}`,
      );
    }
    for (const f of ['bmc/pxe.log', 'bmc/control.log']) {
      try {
        lines.push(`--- n1 ${f}:\n${readFileSync(path.join(lab.labDir, 'nodes', 'n1', f), 'utf8').slice(-1500)}`);
      } catch (e) {
        lines.push(`--- n1 ${f}: ${(e as Error).message}`);
      }
    }
    return lines.join('\n');
  };

  /** Waits until every os-install node-role has finished (active or error), then for the annealer to settle. */
  const installsDone = () =>
    waitFor(
      async () => {
        const nrs = await Promise.all(lab.nodes.map((_, i) => nodeRoleOf(i)));
        return nrs.every((nr) => nr.state === 'active' || nr.state === 'error') ? true : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 250, describe: explain },
    ).then(() => anneal.annealer.settle({ timeoutMs: 60_000 }));

  before(async function () {
    requireLab(this);
    const port = await freePort();
    const url = `http://10.231.0.1:${port}`;
    lab = await labUp({ name, nodes: 2, annealUrl: url, log: silentLogger });
    key = (await labNodeCredentials({ name, node: 1 })).ssh.privateKeyPath;
    db = await freshDatabase('sqlite');
    anneal = await boot(
      {
        ...loadConfig({}),
        database: db.target,
        provisionerUrl: url,
        ssh: { keyFile: key, user: 'root' },
        retry: { maxAttempts: 3, baseMs: 200, maxMs: 1000 },
        powerPollMs: 500,
      },
      { log: silentLogger },
    );
    const app = createApp(anneal);
    for (const host of ['10.231.0.1', '127.0.0.1']) {
      servers.push(await new Promise<Server>((resolve) => { const s = app.listen(port, host, () => resolve(s)); })); // prettier-ignore
    }
    const { services } = anneal;
    const d = await services.inventory.createDeployment({ name: 'site' }, 'test');
    for (const [i, n] of lab.nodes.entries()) {
      const created = await services.inventory.createNode(
        { name: n.name, macs: n.macs, address: n.ip, deployment: 'site', alive: true },
        'test',
      );
      const creds = await labNodeCredentials({ name, node: n.index });
      await services.power.configureBmc(
        created.id,
        { address: `${creds.bmc.host}:${creds.bmc.port}`, username: creds.bmc.username, password: creds.bmc.password },
        'test',
      );
      await services.changes.setAttrib('node', created.id, 'provisioner/os', oses[i], 'test');
      await services.binding.bind(d.id, 'os-install', created.id);
    }
  });

  after(async () => {
    await anneal?.close();
    for (const s of servers) s.close();
    await db?.drop();
    await labDown({ name });
  });

  it('installs each node through its BMC and the network-boot path, over several runs', async () => {
    // Something the install must replace, so the assertions below can fail.
    for (const n of lab.nodes) ssh(key, n.ip, 'echo wrong > /etc/hostname; echo ID=wrong > /etc/os-release');
    const started = Date.now();
    await anneal.services.changes.commitDeployment('site', 'test');
    anneal.annealer.start();
    // A power-cycled node is not alive (nothing of it runs) until the power monitor sees SSH answer again.
    anneal.powerMonitor.start();
    await installsDone();
    console.log(`    2 nodes installed in ${Date.now() - started} ms`);
    for (const [i, n] of lab.nodes.entries()) {
      const nr = await nodeRoleOf(i);
      expect(nr.state, JSON.stringify(nr.lastError)).to.equal('active');
      const install = await installOf(i);
      expect(install.state).to.equal('complete');
      const [id, version] = oses[i]!.split('-');
      expect(nr.wall).to.deep.include({ installId: install.id, phase: 'done', os: `${id}-${version}` });
      const runs = await anneal.store.runs.list({ nodeRoleId: nr.id });
      expect(runs.filter((r) => r.status === 'requeued').length, 'several runs').to.be.at.least(2);
      expect(runs.at(-1)!.status).to.equal('succeeded');
      // anneal's own key was authorized by the install (the ssh jig just used it), and the OS is the one asked for.
      const out = ssh(key, n.ip, '. /etc/os-release; echo "$ID $VERSION_ID"; cat /etc/hostname');
      expect(out.stdout.trim().split('\n')).to.deep.equal([`${id} ${version}`, n.name]);
    }
  });

  it('checks that each node runs its installed OS; the check fails with the remedy when it does not', async () => {
    const good = await anneal.services.checks.forNode(lab.nodes[1]!.name);
    expect(good).to.deep.include({ ok: true, failed: 0 });
    expect(good.checks.map((c) => c.name)).to.deep.equal([
      'installed by its last install',
      'booted into the installed OS',
    ]);
    ssh(key, lab.nodes[1]!.ip, 'cp /etc/os-release /root/os-release.keep; echo ID=other > /etc/os-release');
    const bad = await anneal.services.checks.forNode(lab.nodes[1]!.name);
    expect(bad.checks[1]).to.deep.include({
      ok: false,
      detail: 'os-release says other-; installed debian-12 (debian-12)',
    });
    expect(bad.checks[1]!.remediation).to.include(`POST /api/v2/nodes/${lab.nodes[1]!.name}/redeploy`);
    ssh(key, lab.nodes[1]!.ip, 'mv /root/os-release.keep /etc/os-release');
  });

  it('redeploys one node: a new install on it, nothing on the other', async () => {
    const before = [await installOf(0), await installOf(1)];
    const otherRuns = (await anneal.store.runs.list({ nodeRoleId: (await nodeRoleOf(1)).id })).length;
    ssh(key, lab.nodes[0]!.ip, 'echo ID=wrong > /etc/os-release');
    const res = await anneal.services.changes.redeploy(lab.nodes[0]!.name, 'test');
    expect(res.nodeRole).to.equal((await nodeRoleOf(0)).id);
    await installsDone();

    const after = [await installOf(0), await installOf(1)];
    expect(after[0]!.id).to.be.above(before[0]!.id);
    expect(after[0]!.state).to.equal('complete');
    expect(after[1]).to.deep.equal(before[1]);
    expect((await anneal.store.runs.list({ nodeRoleId: (await nodeRoleOf(1)).id })).length).to.equal(otherRuns);
    expect(ssh(key, lab.nodes[0]!.ip, '. /etc/os-release; echo $ID').stdout.trim()).to.equal('rocky');
    expect((await nodeRoleOf(0)).state).to.equal('active');
  });

  it('refuses to redeploy a node without os-install, saying what to bind', async () => {
    const err = await anneal.services.changes.redeploy('system.service.anneal.internal', 'test').catch((e) => e);
    expect(err).to.have.property('code', 'ERR_STATE_INVALID');
    expect(String(err.message)).to.include('bind ready-node (or os-install)');
  });
});
