/**
 * The ready-state acceptance, end to end: `anneal lab up --nodes 5`; the nodes discover themselves into
 * the `system` deployment, whose `anneal/discover` binds ready-node (and so every layer below it) on each;
 * `anneal converge system` walks all five up to ready-node — inventory, BMC, RAID, BIOS, network-boot
 * install, keys, ntp, dns, proxy, hosts — with every ready check passing; a second converge changes
 * nothing; changing `ntp/servers` re-runs only the ntp-client node-roles and what sits above them.
 * Throughout, every response the API sends and every line it logs (at debug) is recorded; at the end every
 * read route is crawled too and none of it may hold the managed private key, a BMC password or the token.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { apiRoutes, createApp } from '../../../core/api/app';
import { boot, type Anneal } from '../../../core/boot';
import { loadConfig } from '../../../core/config';
import type { NodeRoleRecord } from '../../../core/domain/records';
import { labDown, labNodeCredentials, labUp, type LabStatus } from '../../../core/lab';
import { createLogger, silentLogger } from '../../../core/log';
import { stopServiceDaemons } from '../../../core/services/service-daemons';
import { freshDatabase, type TestDatabase } from '../../helpers/engines';
import { requireReadyLab } from '../../helpers/ready-lab';
import { addTestAdminToken, freePort, TEST_ADMIN_TOKEN, waitFor } from '../../helpers/server';
import {
  crawlReads,
  findSecrets,
  logSink,
  privateKeyPieces,
  recordResponses,
  type Capture,
  type Secret,
} from '../../helpers/secrets-sweep';

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
  // The secrets sweep: every response the app sends and everything it logs (at debug) during the run.
  const log = logSink();
  let responses: Capture[] = [];
  const cliOutput: Capture[] = [];

  const cli = async (...args: string[]) => {
    const env = { ANNEAL_URL: url, ANNEAL_TOKEN: TEST_ADMIN_TOKEN };
    const out = await run(path.join(repoRoot, 'bin/anneal'), args, env, 900_000);
    cliOutput.push({ where: `anneal ${args.join(' ')}`, text: `${out.stdout}\n${out.stderr}` });
    return out;
  };
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
      { log: createLogger({ level: 'debug', destination: log.stream }) },
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
    const recorded = recordResponses(createApp(anneal));
    responses = recorded.captured;
    const app = recorded.app;
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
    // The service daemons (chronyd, dnsmasq, tinyproxy) run on this host: stop them and wait until they
    // are gone (nothing writes their files any more), then remove the files.
    if (dataDir) await stopServiceDaemons(path.join(dataDir, 'services'), silentLogger, { purge: true });
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

  it('no response, log line or CLI output of the whole run holds the private key, a BMC password or a token', async () => {
    const status = (await anneal.services.status.forDeployment('system')).nodes;
    const nodeRoles = await systemNodeRoles();
    const runs = await anneal.store.runs.list({}, { offset: 0, limit: 100_000 });
    const crawled = await crawlReads(`${url}/api/v2`, TEST_ADMIN_TOKEN, apiRoutes(anneal).docs, {
      ref: [...status.map((n) => n.name), 'system'],
      id: [...nodeRoles.map((nr) => nr.id), ...runs.slice(-40).map((r) => r.id)],
      name: ['ready-node', 'ntp', 'anneal', 'os-install'],
      attrib: ['ntp/servers', 'anneal/admin-address', 'provisioner/os'],
    });
    const secrets: Secret[] = [
      ...privateKeyPieces(
        readFileSync(anneal.config.ssh!.keyFile, 'utf8'),
        readFileSync(`${anneal.config.ssh!.keyFile}.pub`, 'utf8'),
      ).map((value, i) => ({
        name: `private key piece ${i}`,
        value,
      })),
      { name: 'a PEM header', value: 'PRIVATE KEY' },
      { name: 'the admin token', value: TEST_ADMIN_TOKEN },
    ];
    for (let i = 1; i <= NODES; i++) {
      const { bmc } = await labNodeCredentials({ name, node: i });
      secrets.push({ name: `node ${i}'s BMC password`, value: bmc.password });
    }
    const captures = [...responses, { where: 'the server log', text: log.text() }, ...cliOutput];
    const bytes = captures.reduce((n, c) => n + c.text.length, 0);
    console.log(
      `    swept ${responses.length} responses (${crawled} from the crawl), ${log.text().split('\n').length} log lines, ` +
        `${cliOutput.length} CLI runs: ${(bytes / 1e6).toFixed(1)} MB for ${secrets.length} secrets`,
    );
    expect(responses.length).to.be.greaterThan(crawled);
    expect(log.text()).to.contain('"level":20'); // the debug log was on and wrote
    expect(findSecrets(captures, secrets)).to.deep.equal([]);
    // The sweep can fail: a capture holding any one secret is found.
    for (const secret of secrets) {
      expect(findSecrets([{ where: 'a canary', text: `…${secret.value}…` }], secrets)).to.have.length.above(0);
    }
    // The BMC passwords were in play: discovery reported them and the power driver used them.
    const stored = await anneal.store.nodeSecrets.names(status.find((n) => n.name === lab.nodes[0]!.name)!.id);
    expect(stored).to.deep.equal(['bmc-password']);
  });
});
