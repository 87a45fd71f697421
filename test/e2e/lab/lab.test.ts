import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import {
  labDown,
  labFault,
  labHeal,
  labNodeCredentials,
  labStatus,
  labUp,
  type LabNodeStatus,
  type LabStatus,
} from '../../../core/lab';
import { silentLogger } from '../../../core/log';
import { tcpReachable } from '../../../core/exec/probe';
import { exec, requireLab } from '../../helpers/lab-e2e';

/** True when <ip>:22 accepts a TCP connection within 1 s. */
const sshPortOpen = (ip: string): Promise<boolean> => tcpReachable(ip, 22, 1000);

const n1Of = (s: LabStatus) => s.nodes[0]!;

async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('lab (e2e: namespaces, sshd, ipmi_sim)', function () {
  this.timeout(180_000);
  const name = `t${randomBytes(2).toString('hex')}`;
  let stateDir = '';
  let keyPath = '';
  const bmcBasePort = 20_000 + Math.floor(Math.random() * 20_000);

  const ssh = (ip: string, command: string) =>
    exec('ssh', [
      '-i', keyPath, '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'BatchMode=yes',
      '-o', 'ConnectTimeout=5', '-o', 'LogLevel=ERROR', `root@${ip}`, command,
    ]); // prettier-ignore

  const ipmi = async (node: LabNodeStatus, args: string[]) => {
    const creds = await labNodeCredentials({ name, stateDir, node: node.index });
    return exec(
      'ipmitool',
      [
        '-I',
        'lanplus',
        '-C',
        '3',
        '-H',
        creds.bmc.host,
        '-p',
        String(creds.bmc.port),
        '-U',
        creds.bmc.username,
        '-E',
        ...args,
      ],
      { IPMI_PASSWORD: creds.bmc.password },
    );
  };

  const nodeOf = async (index: number) => {
    const n = (await labStatus({ name, stateDir })).nodes.find((x) => x.index === index);
    if (!n) throw new Error(`node ${index} missing from status`);
    return n;
  };

  before(function () {
    requireLab(this);
    stateDir = mkdtempSync('/tmp/anneal-lab-test-');
  });

  after(async function () {
    if (!stateDir) return;
    await labDown({ name, stateDir }).catch(() => undefined);
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('brings up 3 nodes, each with its own hostname, address and files, reachable over ssh', async () => {
    const status = await labUp({ name, nodes: 3, stateDir, bmcBasePort, log: silentLogger });
    keyPath = (await labNodeCredentials({ name, stateDir, node: 1 })).ssh.privateKeyPath;
    expect(statSync(keyPath).mode & 0o777).to.equal(0o600);
    expect(status.nodes.map((n) => n.name)).to.deep.equal([1, 2, 3].map((i) => `n${i}.${name}.lab`));

    const netns = (await exec('ip', ['netns', 'list'])).stdout;
    for (const n of status.nodes) {
      expect(netns).to.include(n.netns);
      expect(n).to.include({ power: 'on', sshdRunning: true, healthy: true, ip: `10.231.0.${10 + n.index}` });
      expect(n.macs).to.have.length(2);
      expect(n.disks.map((d) => d.sizeBytes)).to.deep.equal([8 * 1024 ** 3, 16 * 1024 ** 3]);
      const out = await ssh(n.ip, 'hostname; ip -4 -o addr show dev eth0; ip -o link show dev eth1; ls /srv/lab-disks');
      expect(out.code, out.stderr).to.equal(0);
      const [hostname, addr, eth1, ...disks] = out.stdout.trim().split('\n');
      expect(hostname).to.equal(n.name);
      expect(addr).to.include(`${n.ip}/24`);
      expect(eth1).to.include(n.macs[1]);
      expect(disks).to.deep.equal(['sda.img', 'sdb.img']);
    }

    // Nothing on a node may reboot the host, set its clock or load kernel modules (shared kernel).
    const capBnd = (await ssh(n1Of(status).ip, 'grep CapBnd /proc/self/status')).stdout.split(/\s+/)[1]!;
    for (const [cap, bit] of [
      ['sys_module', 16],
      ['sys_boot', 22],
      ['sys_time', 25],
    ] as const) {
      expect((BigInt(`0x${capBnd}`) >> BigInt(bit)) & 1n, `CAP_${cap.toUpperCase()} on a node`).to.equal(0n);
    }

    const marker = `/etc/anneal-lab-test-${name}`;
    const [n1, n2] = status.nodes as [LabNodeStatus, LabNodeStatus];
    expect((await ssh(n1.ip, `echo from-n1 > ${marker} && cat ${marker}`)).stdout.trim()).to.equal('from-n1');
    expect((await ssh(n2.ip, `test -e ${marker} && echo visible || echo absent`)).stdout.trim()).to.equal('absent');
    expect(existsSync(marker)).to.equal(false);
    const facts = JSON.parse((await ssh(n2.ip, 'cat /etc/anneal-lab/hardware.json')).stdout) as {
      nics: { mac: string }[];
    };
    expect(facts.nics.map((x) => x.mac)).to.deep.equal(n2.macs);
  });

  it('powers a node off and on through its BMC, and records the next-boot device', async () => {
    const n2 = await nodeOf(2);
    const off = await ipmi(n2, ['chassis', 'power', 'off']);
    expect(off.code, off.stderr).to.equal(0);
    expect(await sshPortOpen(n2.ip)).to.equal(false);
    expect(await nodeOf(2)).to.include({ power: 'off', sshdRunning: false });
    expect((await ipmi(n2, ['chassis', 'power', 'status'])).stdout).to.match(/is off/);
    expect(await sshPortOpen((await nodeOf(1)).ip)).to.equal(true);

    expect((await ipmi(n2, ['chassis', 'bootdev', 'pxe'])).code).to.equal(0);
    expect((await nodeOf(2)).bootDevice).to.equal('pxe');

    const on = await ipmi(n2, ['chassis', 'power', 'on']);
    expect(on.code, on.stderr).to.equal(0);
    await eventually('sshd of n2', () => sshPortOpen(n2.ip));
    expect((await ssh(n2.ip, 'hostname')).stdout.trim()).to.equal(n2.name);
    // The pxe boot flag applies to one boot (no pxe hook here: the node booted from disk).
    expect(await nodeOf(2)).to.include({ power: 'on', sshdRunning: true, bootDevice: 'none' });
  });

  it('changes nothing when brought up again', async () => {
    const pids = (s: LabStatus) =>
      s.nodes.map((n) => {
        const dir = path.join(s.labDir, 'nodes', `n${n.index}`);
        return {
          init: n.initPid,
          sshd: readFileSync(`/proc/${n.initPid}/root/run/sshd.pid`, 'utf8').trim(),
          bmc: readFileSync(path.join(dir, 'bmc', 'ipmi_sim.pid'), 'utf8').trim(),
        };
      });
    const before = await labStatus({ name, stateDir });
    const stateMtime = statSync(path.join(before.labDir, 'lab.json')).mtimeMs;
    const again = await labUp({ name, nodes: 3, stateDir, log: silentLogger });
    expect(again).to.deep.equal(before);
    expect(pids(again)).to.deep.equal(pids(before));
    expect(statSync(path.join(before.labDir, 'lab.json')).mtimeMs).to.equal(stateMtime);
  });

  it('injects and heals faults', async () => {
    const n3 = await nodeOf(3);
    await labFault({ name, stateDir, node: 3, fault: 'sshd-down' });
    expect(await sshPortOpen(n3.ip)).to.equal(false);
    expect(await nodeOf(3)).to.include({ power: 'on', sshdRunning: false });
    await labFault({ name, stateDir, node: 'n3', fault: 'bmc-down' });
    expect((await ipmi(n3, ['-N', '1', '-R', '1', 'chassis', 'power', 'status'])).code).to.not.equal(0);
    await labFault({ name, stateDir, node: n3.name, fault: 'link-down' });
    await labFault({ name, stateDir, node: 3, fault: 'slow-link' });
    expect((await nodeOf(3)).faults).to.deep.equal(['bmc-down', 'link-down', 'slow-link', 'sshd-down']);
    expect((await exec('tc', ['qdisc', 'show', 'dev', n3.hostVeth])).stdout).to.match(/netem|tbf/);

    const healed = await labHeal({ name, stateDir, node: 3 });
    expect(healed.nodes[2]).to.include({ sshdRunning: true, healthy: true });
    expect(healed.nodes[2]?.faults).to.deep.equal([]);
    await eventually('sshd of n3', () => sshPortOpen(n3.ip));
    expect((await ipmi(n3, ['chassis', 'power', 'status'])).stdout).to.match(/is on/);
    expect((await exec('tc', ['qdisc', 'show', 'dev', n3.hostVeth])).stdout).to.not.match(/netem|tbf/);
  });

  it('removes everything it made, and can be run again', async () => {
    const status = await labStatus({ name, stateDir });
    await labDown({ name, stateDir });

    expect((await exec('ip', ['netns', 'list'])).stdout).to.not.include(`anl-${name}-`);
    const links = readdirSync('/sys/class/net');
    expect(links).to.not.include(status.bridge);
    for (const n of status.nodes) expect(links).to.not.include(n.hostVeth);
    expect((await exec('ip', ['rule', 'show'])).stdout).to.not.include(status.bridge);
    const mounts = readFileSync('/proc/mounts', 'utf8');
    expect(mounts).to.not.include(stateDir);
    expect(mounts).to.not.include(`anl-${name}-`);
    const ps = (await exec('ps', ['-eo', 'pid=,args='])).stdout
      .split('\n')
      .filter((l) => l.includes(stateDir) || l.includes(`anl-${name}-`) || l.includes(`.${name}.lab`));
    expect(ps).to.deep.equal([]);
    expect(existsSync(stateDir)).to.equal(false);

    const second = await labDown({ name, stateDir });
    expect(second.removed).to.deep.equal({ namespaces: 0, links: 0, processes: 0, mounts: 0, stateDir: false });
  });

  it('removes a lab whose state directory was lost, by sweeping for its names', async () => {
    const status = await labUp({ name, nodes: 2, stateDir, bmcBasePort, log: silentLogger });
    rmSync(status.labDir, { recursive: true, force: true });
    const down = await labDown({ name, stateDir });
    expect(down.removed).to.include({ namespaces: 2, stateDir: false });
    expect(down.removed.processes).to.be.at.least(8);
    expect((await exec('ip', ['netns', 'list'])).stdout).to.not.include(`anl-${name}-`);
    expect(readdirSync('/sys/class/net')).to.not.include(status.bridge);
    const ps = (await exec('ps', ['-eo', 'pid=,args='])).stdout.split('\n').filter((l) => l.includes(stateDir));
    expect(ps).to.deep.equal([]);
  });
});
