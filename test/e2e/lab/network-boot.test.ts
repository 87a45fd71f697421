/**
 * The network-boot install path on real lab nodes (DESIGN §2 item 3, §5): anneal serves iPXE scripts and
 * install configs over HTTP on the lab bridge; nodes powered on through their BMC with next boot = pxe
 * fetch them, install themselves (the lab's built-in installer), call back install-complete and boot
 * from disk. One node per OS: Rocky (kickstart), Debian (preseed), Ubuntu (cloud-init autoinstall).
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { createApp } from '../../../core/api/app';
import { boot, type Anneal } from '../../../core/boot';
import { loadConfig } from '../../../core/config';
import type { InstallOs } from '../../../core/domain/installs';
import { labDown, labNodeCredentials, labStatus, labUp, type LabStatus } from '../../../core/lab';
import { silentLogger } from '../../../core/log';
import type { BmcTarget } from '../../../core/power/driver';
import { createIpmiDriver } from '../../../core/power/ipmi';
import { freshDatabase, type TestDatabase } from '../../helpers/engines';
import { ed25519PublicKeyLine } from '../../helpers/ssh-keys';
import { requireLab, ssh } from '../../helpers/lab-e2e';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

/** A free TCP port on loopback (anneal then listens on it on loopback and on the lab bridge). */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

const OSES: { os: InstallOs; id: string; versionId: string; netFile: (ip: string) => [string, string] }[] = [
  {
    os: 'rocky-9',
    id: 'rocky',
    versionId: '9',
    netFile: (ip) => ['/etc/NetworkManager/system-connections/eth0.nmconnection', `address1=${ip}/24,10.231.0.1`],
  },
  {
    os: 'debian-12',
    id: 'debian',
    versionId: '12',
    netFile: (ip) => ['/etc/network/interfaces', `    address ${ip}/24\n    gateway 10.231.0.1`],
  },
  {
    os: 'ubuntu-24.04',
    id: 'ubuntu',
    versionId: '24.04',
    netFile: (ip) => ['/etc/netplan/00-installer-config.yaml', `- "${ip}/24"`],
  },
];

/** Files the install writes, whose content and mtime a later boot from disk must not change. */
const INSTALLED = (netFile: string) =>
  `/etc/hostname /etc/os-release /root/.ssh/authorized_keys ${netFile} /var/log/anneal-install/packages.list /etc/anneal/install.json`;

describe('e2e: network-boot installs on lab nodes', function () {
  this.timeout(300_000);
  const name = `p${randomBytes(2).toString('hex')}`;
  let lab: LabStatus;
  let anneal: Anneal;
  let db: TestDatabase;
  let key: string;
  let secondKey: string;
  let labKey: string;
  const servers: Server[] = [];
  const ipmi = createIpmiDriver();
  const target = async (index: number): Promise<BmcTarget> => {
    const c = await labNodeCredentials({ name, node: index });
    return { node: c.node, host: c.bmc.host, port: c.bmc.port, username: c.bmc.username, password: c.bmc.password };
  };
  const node = (i: number) => lab.nodes[i]!;
  const install = (i: number) => anneal.services.provisioner.currentInstall(node(i).name);
  const sshUp = (i: number) =>
    waitFor(`sshd on ${node(i).name}`, () => (ssh(key, node(i).ip, 'true').status === 0 ? true : undefined), 30_000);
  const pxeLog = (i: number) => readFileSync(path.join(lab.labDir, 'nodes', `n${i + 1}`, 'bmc', 'pxe.log'), 'utf8');

  before(async function () {
    requireLab(this);
    const port = await freePort();
    const url = `http://10.231.0.1:${port}`;
    db = await freshDatabase('sqlite');
    anneal = await boot({ ...loadConfig({}), database: db.target, provisionerUrl: url }, { log: silentLogger });
    lab = await labUp({ name, nodes: OSES.length, annealUrl: url, log: silentLogger });
    key = (await labNodeCredentials({ name, node: 1 })).ssh.privateKeyPath;
    labKey = readFileSync(`${key}.pub`, 'utf8').trim();
    secondKey = ed25519PublicKeyLine('second@network-boot');

    // Registered before anneal listens, so the nodes' own discovery finds them taken (409).
    const { services } = anneal;
    for (const [i, spec] of OSES.entries()) {
      const n = node(i);
      const created = await services.inventory.createNode(
        { name: n.name, macs: n.macs, address: n.ip, bmcAddress: `${n.bmc.host}:${n.bmc.port}` },
        'test',
      );
      const set = (attrib: string, value: unknown) =>
        services.changes.setAttrib('node', created.id, attrib, value, 'test');
      await set('provisioner/os', spec.os);
      await set('provisioner/authorized-keys', [labKey, secondKey]);
      await set('provisioner/packages', ['htop', 'jq']);
      await set('provisioner/network', {
        mode: 'static',
        prefix: 24,
        gateway: '10.231.0.1',
        nameservers: ['10.231.0.1'],
      });
      await services.changes.commitNode(created.id, 'test');
    }
    const app = createApp(anneal);
    for (const host of ['127.0.0.1', '10.231.0.1']) {
      servers.push(await new Promise<Server>((resolve) => { const s = app.listen(port, host, () => resolve(s)); })); // prettier-ignore
    }
    // Make the nodes' current state differ from what the install writes, so the assertions can fail.
    for (const n of lab.nodes) {
      const r = ssh(key, n.ip, `echo preinstall.invalid >/etc/hostname && hostname preinstall.invalid && printf 'ID=preinstall\\n' >/etc/os-release.new && mv /etc/os-release.new /etc/os-release`); // prettier-ignore
      expect(r.status).to.equal(0);
    }
  });

  after(async () => {
    for (const s of servers) {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    }
    await anneal?.close();
    await db?.drop();
    await labDown({ name });
  });

  it('installs each node through its BMC: it boots from disk with the hostname, keys, OS and network it was rendered', async () => {
    const times: Record<string, number> = {};
    await Promise.all(
      OSES.map(async (spec, i) => {
        const requested = await anneal.services.provisioner.requestInstall(node(i).name, {}, 'test');
        expect(requested).to.include({ os: spec.os, state: 'requested' });
        const bmc = await target(i + 1);
        await ipmi.nextBoot(bmc, 'pxe');
        const t0 = Date.now();
        await ipmi.power(bmc, 'cycle');
        await waitFor(`install of ${node(i).name}`, async () => ((await install(i)).state === 'complete' ? true : undefined), 60_000); // prettier-ignore
        times[spec.os] = Date.now() - t0;
        await sshUp(i);
      }),
    );
    console.log(`      power cycle → install-complete: ${JSON.stringify(times)} ms`);

    const status = await labStatus({ name });
    for (const [i, spec] of OSES.entries()) {
      const n = node(i);
      const run = (cmd: string) => {
        const r = ssh(key, n.ip, cmd);
        expect(r.status, `${n.name}: ${cmd}`).to.equal(0);
        return r.stdout;
      };
      expect(status.nodes[i]).to.include({ power: 'on', bootDevice: 'none', sshdRunning: true });
      expect(run('hostname')).to.equal(`${n.name}\n`);
      expect(run('cat /etc/hostname')).to.equal(`${n.name}\n`);
      expect(run('. /etc/os-release && echo "$ID $VERSION_ID"')).to.equal(`${spec.id} ${spec.versionId}\n`);
      expect(run('cat /root/.ssh/authorized_keys').trim().split('\n').sort()).to.deep.equal([labKey, secondKey].sort());
      const [netFile, expected] = spec.netFile(n.ip);
      expect(run(`cat ${netFile}`), netFile).to.include(expected);
      expect(run('cat /var/log/anneal-install/packages.list').split('\n')).to.include.members(['openssh-server', 'curl', 'htop', 'jq']); // prettier-ignore
      const inst = await install(i);
      expect(JSON.parse(run('cat /etc/anneal/install.json'))).to.deep.equal({
        install: inst.id,
        os: spec.os,
        node: n.name,
      });
      expect((await anneal.store.nodes.get(n.name)).facts.os).to.include({
        name: spec.os,
        id: spec.id,
        install: inst.id,
      });
      expect(pxeLog(i)).to.not.match(/[0-9a-f]{64}/); // tokens are not logged
    }
  });

  it('a network boot with no pending install boots from disk and changes nothing; a power cycle keeps the install', async () => {
    const fingerprint = (i: number) => {
      const [netFile] = OSES[i]!.netFile(node(i).ip);
      const r = ssh(
        key,
        node(i).ip,
        `hostname; stat -c '%n %Y %s' ${INSTALLED(netFile)}; sha256sum ${INSTALLED(netFile)}`,
      );
      expect(r.status).to.equal(0);
      return r.stdout;
    };
    const before = OSES.map((_, i) => fingerprint(i));
    const installs = await Promise.all(OSES.map((_, i) => install(i)));
    const events = (await anneal.store.events.list({})).length;

    await Promise.all(
      OSES.map(async (_, i) => {
        const bmc = await target(i + 1);
        await ipmi.nextBoot(bmc, 'pxe');
        await ipmi.power(bmc, 'cycle');
        await sshUp(i);
      }),
    );
    for (const [i] of OSES.entries()) {
      expect(fingerprint(i)).to.equal(before[i]);
      expect(await install(i)).to.deep.equal(installs[i]);
      expect(pxeLog(i).trim().split('\n').pop()).to.equal('pxe: the boot script exits: booting from the local disk');
    }
    expect((await anneal.store.events.list({})).length).to.equal(events);

    await Promise.all(
      OSES.map(async (_, i) => {
        await ipmi.power(await target(i + 1), 'cycle');
        await sshUp(i);
      }),
    );
    for (const [i] of OSES.entries()) expect(fingerprint(i)).to.equal(before[i]);
    expect((await labStatus({ name })).nodes.map((n) => n.bootDevice)).to.deep.equal(OSES.map(() => 'none'));
  });
});
