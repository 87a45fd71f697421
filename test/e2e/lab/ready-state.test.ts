/**
 * The ready-state acceptance, end to end: `anneal lab up --nodes 5`; the nodes discover themselves into
 * the `system` deployment, whose `anneal/discover` binds ready-node (and so every layer below it) on each;
 * `anneal converge system` walks all five up to ready-node — inventory, BMC, RAID, BIOS, network-boot
 * install, keys, ntp, dns, proxy, hosts — with every ready check passing; a second converge changes
 * nothing; changing `ntp/servers` re-runs only the ntp-client node-roles and what sits above them.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { createApp } from '../../../core/api/app';
import { boot, type Anneal } from '../../../core/boot';
import { loadConfig } from '../../../core/config';
import type { NodeRoleRecord } from '../../../core/domain/records';
import { labDown, labNodeCredentials, labUp, type LabStatus } from '../../../core/lab';
import { silentLogger } from '../../../core/log';
import { freshDatabase, type TestDatabase } from '../../helpers/engines';
import { requireReadyLab } from '../../helpers/ready-lab';
import { addTestAdminToken, freePort, TEST_ADMIN_TOKEN, waitFor } from '../../helpers/server';

const repoRoot = path.resolve(__dirname, '../../..');
const NODES = 5;
/** Roles whose ready checks every node must report, passing. */
const CHECKED_ROLES = [
  'bmc-configure',
  'bios-configure',
  'dns-client',
  'hardware-check',
  'inventory',
  'network-config',
  'ntp-client',
  'os-install',
  'proxy-client',
  'raid-configure',
  'ssh-access',
  'ssh-known-hosts',
];

function run(cmd: string, args: string[], env: Record<string, string>, timeout: number) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(cmd, args, { env: { ...process.env, ...env }, timeout }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

describe('e2e: 5 discovered lab nodes converge to ready-node (system deployment)', function () {
  this.timeout(900_000);
  const name = `r${randomBytes(2).toString('hex')}`;
  let lab: LabStatus;
  let anneal: Anneal;
  let db: TestDatabase;
  let dataDir = '';
  let url = '';
  const servers: Server[] = [];

  const cli = (...args: string[]) =>
    run(path.join(repoRoot, 'bin/anneal'), args, { ANNEAL_URL: url, ANNEAL_TOKEN: TEST_ADMIN_TOKEN }, 900_000);
  const systemNodeRoles = async (): Promise<NodeRoleRecord[]> =>
    anneal.store.nodeRoles.list({ deploymentId: (await anneal.store.deployments.get('system')).id });
  const runCount = async () => (await anneal.store.runs.list({})).length;

  before(async function () {
    requireReadyLab(this, ['chronyd', 'chronyc', 'dnsmasq', 'tinyproxy']);
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    const bridgeUrl = `http://10.231.0.1:${port}`;
    dataDir = mkdtempSync(path.join(tmpdir(), `anneal-${name}-`));
    chmodSync(dataDir, 0o755);
    lab = await labUp({ name, nodes: NODES, annealUrl: bridgeUrl, log: silentLogger });
    const key = (await labNodeCredentials({ name, node: 1 })).ssh.privateKeyPath;
    db = await freshDatabase('sqlite');
    anneal = await boot(
      {
        ...loadConfig({ ANNEAL_DATA_DIR: dataDir }),
        database: db.target,
        fixtures: [],
        provisionerUrl: bridgeUrl,
        ssh: { keyFile: key, user: 'root' },
        powerPollMs: 1000,
      },
      { log: silentLogger },
    );
    // The site's settings, before any node shows up.
    const { services } = anneal;
    const system = await anneal.store.deployments.get('system');
    const site: Record<string, unknown> = {
      'anneal/discover': true,
      'anneal/admin-address': lab.hostIp,
      'ntp/set-clock': false,
      'provisioner/os': 'debian-12',
      // Lab nodes: two disks of 8 and 16 GiB, two NICs.
      'inventory/expect': { minDisks: 2, minDiskGib: 8, minNics: 2 },
    };
    for (const [k, v] of Object.entries(site)) await services.changes.setAttrib('deployment', system.id, k, v, 'test');
    await services.changes.commitDeployment('system', 'test');
    await addTestAdminToken(anneal);
    const app = createApp(anneal);
    for (const host of ['10.231.0.1', '127.0.0.1']) {
      servers.push(await new Promise<Server>((resolve) => { const s = app.listen(port, host, () => resolve(s)); })); // prettier-ignore
    }
    anneal.annealer.start();
    anneal.powerMonitor.start();
  });

  after(async () => {
    await anneal?.close();
    for (const s of servers) s.close();
    await db?.drop();
    await labDown({ name }).catch(() => undefined); // also after a lab up that failed half-way
    // The service daemons (chronyd, dnsmasq, tinyproxy) run on this host with their files under dataDir.
    if (dataDir) await run('pkill', ['-f', `${dataDir}/services/`], {}, 10_000);
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('discovers all 5 nodes and binds ready-node on each', async () => {
    const nodes = await waitFor(
      async () => {
        const found = (await anneal.store.nodes.list({ system: false })).filter((n) => n.name.endsWith(`.${name}.lab`));
        return found.length === NODES ? found : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 250, describe: () => 'discovery of 5 nodes' },
    );
    // Discovery reported the BMC with its credentials, and the deployment committed each node.
    for (const n of nodes) expect(n).to.include({ state: 'committed', bmcUsername: 'admin' });
    const bound = (await systemNodeRoles()).filter((nr) => nr.role === 'ready-node');
    expect(bound.map((nr) => nr.node).sort()).to.deep.equal(lab.nodes.map((n) => n.name).sort());
  });

  it('anneal converge system brings every node to ready-node with every check passing', async () => {
    const t0 = Date.now();
    const out = await cli('converge', 'system', '--timeout', '800');
    console.log(`    converge: exit ${out.code} after ${Date.now() - t0} ms`);
    expect(out.code, `${out.stdout}\n${out.stderr}`).to.equal(0);
    const nrs = await systemNodeRoles();
    expect(nrs.filter((nr) => nr.state !== 'active').map((nr) => `${nr.role}@${nr.node}=${nr.state}`)).to.deep.equal(
      [],
    );
    for (const n of lab.nodes) {
      const checks = await anneal.services.checks.forNode(n.name);
      const failed = checks.checks.filter((c) => !c.ok).map((c) => `${c.role}/${c.name}: ${c.detail}`);
      expect(failed, n.name).to.deep.equal([]);
      // Every layer with a check reported on this node.
      const roles = [...new Set(checks.checks.map((c) => c.role))].sort();
      const states = (await systemNodeRoles())
        .filter((nr) => nr.node === n.name)
        .map((nr) => `${nr.role}=${nr.state}`)
        .join(' ');
      expect(roles, `${n.name}: ${states}`).to.include.members(CHECKED_ROLES);
      if (n === lab.nodes[0]) console.log(`    ${n.name}: ${checks.passed} checks passed (${roles.join(', ')})`);
    }
  });

  it('a second converge changes nothing', async () => {
    const before = await runCount();
    const out = await cli('converge', 'system', '--timeout', '120');
    expect(out.code, out.stderr).to.equal(0);
    await anneal.annealer.settle({ timeoutMs: 60_000 });
    expect(await runCount()).to.equal(before);
  });

  it('changing ntp/servers re-runs only the ntp-client node-roles and what sits above them', async () => {
    const nrs = await systemNodeRoles();
    const runsOf = async () =>
      new Map(
        await Promise.all(
          nrs.map(async (nr) => [nr.id, (await anneal.store.runs.list({ nodeRoleId: nr.id })).length] as const),
        ),
      );
    const before = await runsOf();
    await anneal.services.changes.setAttrib(
      'deployment',
      (await anneal.store.deployments.get('system')).id,
      'ntp/servers',
      ['10.231.0.12'],
      'test',
    );
    const out = await cli('converge', 'system', '--timeout', '300');
    expect(out.code, out.stderr).to.equal(0);
    await anneal.annealer.settle({ timeoutMs: 60_000 });
    const after = await runsOf();
    const rerun = nrs.filter((nr) => after.get(nr.id)! > before.get(nr.id)!).map((nr) => `${nr.role}@${nr.node}`);
    const expected = nrs
      .filter((nr) => nr.role === 'ntp-client' || nr.role === 'ready-node')
      .map((nr) => `${nr.role}@${nr.node}`);
    expect(rerun.sort()).to.deep.equal(expected.sort());
  });

  it('redeploying one node takes it back through os-install to ready-node; the other nodes are untouched', async () => {
    // Its peers' known_hosts are refreshed (a reinstalled machine may have new host keys): on the other
    // nodes only ssh-known-hosts (and the milestone above it) may run, and they must change nothing.
    const target = lab.nodes[0]!.name;
    const nrs = await systemNodeRoles();
    const runsOf = async () =>
      new Map(
        await Promise.all(
          nrs.map(async (nr) => [nr.id, (await anneal.store.runs.list({ nodeRoleId: nr.id })).length] as const),
        ),
      );
    const before = await runsOf();
    const installBefore = await anneal.services.provisioner.currentInstall(target);
    await anneal.services.changes.redeploy(target, 'test');
    const out = await cli('converge', 'system', '--timeout', '300');
    expect(out.code, out.stderr).to.equal(0);
    await anneal.annealer.settle({ timeoutMs: 60_000 });
    const after = await runsOf();
    const rerun = nrs.filter((nr) => after.get(nr.id)! > before.get(nr.id)!);
    const elsewhere = rerun.filter((nr) => nr.node !== target);
    expect([...new Set(elsewhere.map((nr) => nr.role))].sort()).to.deep.equal(
      elsewhere.length ? ['ready-node', 'ssh-known-hosts'] : [],
    );
    for (const nr of elsewhere.filter((x) => x.role === 'ssh-known-hosts')) {
      const last = (await anneal.store.runs.list({ nodeRoleId: nr.id })).at(-1)!;
      expect(last.stdoutTail, `${nr.node}: ${last.stdoutTail}`).to.not.match(/^changed/m);
    }
    expect(
      rerun
        .filter((nr) => nr.node === target)
        .map((nr) => nr.role)
        .sort(),
    ).to.include.members([
      'os-install',
      'installed-node',
      'ntp-client',
      'dns-client',
      'proxy-client',
      'network-config',
      'ssh-access',
      'ssh-known-hosts',
      'ready-node',
    ]);
    for (const role of ['inventory', 'raid-configure', 'bios-configure']) {
      expect(rerun.map((nr) => nr.role)).to.not.include(role);
    }
    const installAfter = await anneal.services.provisioner.currentInstall(target);
    expect(installAfter.id).to.be.above(installBefore.id);
    expect(installAfter.state).to.equal('complete');
    const checks = await anneal.services.checks.forNode(target);
    expect(checks.checks.filter((c) => !c.ok)).to.deep.equal([]);
  });
});
